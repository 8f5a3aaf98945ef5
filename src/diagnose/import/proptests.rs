//! Property tests: whatever a file holds, importing it gives a model or an error, never a
//! panic; every event of a dump keeps a JSON pointer into it.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Format, import};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(json!("sdpMid: 0, candidate: candidate:1 1 udp 1 127.0.0.1 9 typ host")),
        Just(json!("type: answer, sdp: v=0\r\na=mid:0\r\na=ice-ufrag:x\r\n")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const TYPES: &[&str] = &[
    "addIceCandidate",
    "addIceCandidateFailed",
    "onicecandidate",
    "setRemoteDescription",
    "setLocalDescription",
    "icecandidateerror",
    "iceConnectionStateChange",
    "onconnectionstatechange",
    "createOfferOnFailure",
    "x",
];

fn entry() -> impl Strategy<Value = Value> {
    (prop::sample::select(TYPES), value(), prop::option::of(any::<f64>()), ".{0,30}")
        .prop_map(|(t, v, ts, time)| json!({"type": t, "value": v, "timestamp": ts, "time": time}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_imports_or_errs(text in ".{0,400}") {
        let _ = import(&text);
        let _ = import(&format!("RTCStatsDump\n{{\"fileFormat\":3}}\n{text}"));
        let _ = import(&format!("{{\"t_ms\":1,\"event\":\"ice_state\",\"state\":\"new\"}}\n{text}"));
    }

    #[test]
    fn any_dump_entries_import_with_pointers(log in prop::collection::vec(entry(), 0..12), stats in value()) {
        let doc = json!({"PeerConnections": {"1-1": {"updateLog": log, "stats": stats, "rtcConfiguration": "turn:"}}});
        let imp = import(&doc.to_string()).expect("a dump with PeerConnections imports");
        prop_assert_eq!(imp.format, Format::WebrtcInternals);
        for r in &imp.connections[0].records {
            prop_assert!(r.origin.starts_with("/PeerConnections/1-1/"), "{}", r.origin);
        }
    }

    #[test]
    fn any_rtcstats_lines_import_or_err(lines in prop::collection::vec((prop::sample::select(TYPES), value(), any::<f64>()), 0..12)) {
        let body: String = lines.iter().map(|(m, v, d)| format!("{}\n", json!([m, "1-1", v, d]))).collect();
        let _ = import(&format!("RTCStatsDump\n{{\"fileFormat\":3}}\n{body}"));
    }
}
