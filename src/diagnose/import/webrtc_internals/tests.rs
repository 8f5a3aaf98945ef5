//! Unit tests of `webrtc_internals.rs`.

use super::*;
use serde_json::json;

const CAND: &str = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0";

fn doc(log: Value, stats: Value) -> Map<String, Value> {
    json!({"getUserMedia": [], "UserAgent": "Mozilla/5.0 Chrome/156",
           "PeerConnections": {"123-1": {"pid": 123, "url": "http://127.0.0.1:8765/?room=r&token=eyJsecret",
               "rtcConfiguration": "{ iceServers: [stun:127.0.0.1:3478, turn:127.0.0.1:3478?transport=udp], iceTransportPolicy: all }",
               "updateLog": log, "stats": stats}}})
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn old_dialect_string_values_and_locale_times() {
    let log = json!([
        {"time": "12/2/2026, 1:37:50 PM", "type": "setLocalDescription", "value": "type: offer, sdp: v=0\r\na=mid:0\r\n"},
        {"time": "12/2/2026, 1:37:50 PM", "type": "onIceCandidate", "value": format!("sdpMid: 0, sdpMLineIndex: 0, candidate: {CAND}")},
        {"time": "12/2/2026, 1:37:51 PM", "type": "addIceCandidate", "value": format!("sdpMid: 0, sdpMLineIndex: 0, candidate: {CAND}")},
        {"time": "12/2/2026, 1:37:51 PM", "type": "addIceCandidateFailed", "value": "Error processing ICE candidate"},
        {"time": "12/2/2026, 1:37:52 PM", "type": "setRemoteDescription", "value": "type: answer, sdp: v=0\r\na=ice-ufrag:abcd\r\na=mid:0\r\na=candidate:2 1 udp 1 127.0.0.1 40000 typ host\r\n"},
        {"time": "12/2/2026, 1:37:53 PM", "type": "iceConnectionStateChange", "value": "ICEConnectionStateConnected"},
        {"time": "12/2/2026, 1:37:53 PM", "type": "signalingStateChange", "value": "SignalingStateHaveLocalOffer"},
    ]);
    let imp = parse(&doc(log, json!({}))).unwrap();
    let c = &imp.connections[0];
    // A locale time of day is no wall clock: nothing to compare another file with.
    assert_eq!(c.epoch_ms, None);
    assert_eq!(c.ice_servers, ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"]);
    assert_eq!(c.added.len(), 1);
    assert_eq!(c.added[0].error.as_deref(), Some("Error processing ICE candidate"));
    assert!(!c.added[0].after_remote_description);
    assert_eq!(c.added[0].origin, "/PeerConnections/123-1/updateLog/2");
    assert_eq!(c.remote_descriptions[0].ufrags, ["abcd"]);
    let ts: Vec<u64> = c.records.iter().map(|r| r.stamped.t_ms).collect();
    assert_eq!(ts.first(), Some(&0));
    assert_eq!(ts.last(), Some(&3000));
    let events: Vec<&Event> = c.records.iter().map(|r| &r.stamped.event).collect();
    assert!(events.contains(&&Event::IceState { state: "connected".into() }));
    assert!(events.contains(&&Event::SignalingState { state: "have-local-offer".into() }));
    assert_eq!(imp.writer.as_deref(), Some("Mozilla/5.0 Chrome/156"));
    assert_eq!(c.page.as_deref(), Some("http://127.0.0.1:8765/?room=r&token=<redacted>"));
}

#[test]
fn current_dialect_json_values_timestamps_and_stats() {
    let log = json!([
        {"timestamp": 1000.0, "type": "setRemoteDescription", "value": {"type": "offer", "sdp": "v=0\r\na=ice-ufrag:u1\r\na=mid:0\r\n"}},
        {"timestamp": 1250.5, "type": "onicecandidate", "value": {"candidate": CAND, "sdpMid": "0", "sdpMLineIndex": 0, "url": "stun:127.0.0.1:3478"}},
        {"timestamp": 1300.0, "type": "addIceCandidate", "value": json!({"candidate": CAND, "sdpMid": "7", "usernameFragment": "zz"}).to_string()},
        {"timestamp": 1400.0, "type": "onicecandidateerror", "value": {"url": "turn:127.0.0.1:3478?transport=udp", "errorCode": 401, "errorText": "Unauthorized"}},
        {"timestamp": 1500.0, "type": "onconnectionstatechange", "value": "\"failed\""},
    ]);
    let stats = json!({
        "T01-selectedCandidatePairId": {"statsType": "transport", "values": "[\"CP1\"]"},
        "CP1-localCandidateId": {"statsType": "candidate-pair", "values": "[\"L1\"]"},
        "CP1-remoteCandidateId": {"statsType": "candidate-pair", "values": "[\"R1\"]"},
        "CP1-requestsSent": {"statsType": "candidate-pair", "values": "[1,2,7]"},
        "CP1-responsesReceived": {"statsType": "candidate-pair", "values": "[0,0,0]"},
        "L1-candidateType": {"statsType": "local-candidate", "values": "[\"host\"]"},
        "L1-address": {"statsType": "local-candidate", "values": "[\"127.0.0.1\"]"},
        "L1-port": {"statsType": "local-candidate", "values": "[50000]"},
        "R1-candidateType": {"statsType": "remote-candidate", "values": "[\"prflx\"]"},
        "R1-address": {"statsType": "remote-candidate", "values": "[\"127.0.0.1\"]"},
        "R1-port": {"statsType": "remote-candidate", "values": "[40000]"},
        "IT1-kind": {"statsType": "inbound-rtp", "values": "[\"audio\"]"},
        "IT1-packetsReceived": {"statsType": "inbound-rtp", "values": format!("[{}]", vec!["3"; 1000].join(","))},
        "IT1-audioLevel": {"statsType": "inbound-rtp", "values": "[0.5, 0.1]"},
        "OT1-packetsSent": {"statsType": "outbound-rtp", "values": [5, 9]},
    });
    let imp = parse(&doc(log, stats)).unwrap();
    let c = &imp.connections[0];
    assert_eq!(c.added[0].sdp_mid.as_deref(), Some("7"));
    assert_eq!(c.added[0].ufrag.as_deref(), Some("zz"));
    assert!(c.added[0].after_remote_description);
    assert_eq!(c.candidate_errors[0].code, 401);
    assert_eq!(c.candidate_errors[0].text, "Unauthorized");
    assert_eq!(c.pairs[0].requests_sent, 7);
    assert_eq!(c.truncated_series, 1);
    // The numeric timestamps are wall-clock times: descriptions get theirs.
    assert_eq!(c.epoch_ms, Some(1000));
    assert_eq!(c.descriptions[0].identity.ufrag.as_deref(), Some("u1"));
    assert_eq!(
        (c.descriptions[0].direction, c.wall_ms(&c.descriptions[0])),
        (Direction::Received, Some(1000))
    );
    let events: Vec<&Event> = c.records.iter().map(|r| &r.stamped.event).collect();
    assert!(events.contains(&&Event::ConnectionState { state: "failed".into() }));
    assert!(events.iter().any(|e| matches!(e, Event::SelectedPair { remote, .. } if remote.port == 40000)));
    assert!(events.iter().any(|e| matches!(e, Event::InboundRtp { packets: 3, .. })));
    assert!(events.iter().any(
        |e| matches!(e, Event::AudioLevel { packets: 3, rms_dbfs, .. } if (*rms_dbfs + 20.0).abs() < 1e-9)
    ));
    assert!(events.iter().any(|e| matches!(e, Event::MediaSent { packets: 9 })));
    assert!(events.iter().any(|e| matches!(e, Event::LocalCandidate { candidate, .. } if candidate.url.as_deref() == Some("stun:127.0.0.1:3478"))));
    assert_eq!(c.records[1].stamped.t_ms, 250);
}

#[test]
fn hostile_dumps_give_errors_or_skips_never_panics() {
    let bad = json!({"PeerConnections": []});
    assert!(parse(bad.as_object().unwrap()).is_err());
    let odd = json!({"PeerConnections": {"a/b~": 5, "x": {"updateLog": [7, {"type": 3}, {"type": "addIceCandidate", "value": 9},
        {"type": "setRemoteDescription", "value": null}, {"time": "99:99:99", "type": "icecandidateerror", "value": "url: , error_code: x"}],
        "stats": {"nodash": {"values": "[1]"}, "a-b": {"values": "not json"}, "c-d": 5, "e-f": {"values": {"x": 1}}}}}});
    let imp = parse(odd.as_object().unwrap()).unwrap();
    assert_eq!(imp.skipped[0], "/PeerConnections/a~1b~0: not an object");
    assert_eq!(imp.connections.len(), 1);
    assert_eq!(clock_ms("no time here"), None);
    assert_eq!(clock_ms("12:00:00 AM"), Some(0.0));
    assert_eq!(clock_ms("2026-12-02T13:37:50.250Z"), Some(49_070_250.0));
    assert_eq!(clock_ms("1:2"), None);
    assert_eq!(clock_ms("é:ü:ö"), None);
}
