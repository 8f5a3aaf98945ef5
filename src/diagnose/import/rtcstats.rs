//! rtcstats dumps (JSON Lines): a `RTCStatsDump` header line, a metadata object with
//! `fileFormat`, then one `[method, pcId, value, …, Δms]` array per call or event of Chromium's
//! tracker (the same stream the webrtc-internals `updateLog` holds), the last element the
//! milliseconds since the previous line. `getStats` lines carry only what changed since the
//! previous report of that connection (deltas), merged here into the last value of each stat.
//! Method names, stats property names and stats types may be numbers of the format's static
//! tables (`rtcstats_keys`). Chromium's own "Download the rtcstats dump" writes this format.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::rtcstats_keys::{self, MethodError};
use super::webrtc_internals::{apply, ice_urls, read_stats, static_turn};
use super::{Format, Import, ImportError};
use crate::diagnose::connection::Connection;
use crate::signal::token::redact_url;

/// One connection being read: its model, whether a remote description is set, its stats.
#[derive(Default)]
struct Reading {
    c: Connection,
    remote_set: bool,
    stats: BTreeMap<String, Map<String, Value>>,
}

fn malformed(origin: &str, reason: &str) -> ImportError {
    ImportError::Malformed { format: Format::Rtcstats.as_str(), origin: origin.into(), reason: reason.into() }
}

pub fn parse(text: &str) -> Result<Import, ImportError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).peekable();
    if lines.peek().is_some_and(|(_, l)| l.trim() == "RTCStatsDump") {
        lines.next();
    }
    let (n, meta) = lines.next().ok_or_else(|| malformed("line 2", "no metadata line"))?;
    let meta: Value =
        serde_json::from_str(meta).map_err(|_| malformed(&format!("line {}", n + 1), "not JSON"))?;
    if meta.get("fileFormat").and_then(Value::as_u64).is_none() {
        return Err(malformed(&format!("line {}", n + 1), "no fileFormat"));
    }
    let mut reading: BTreeMap<String, Reading> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut writer = None;
    let mut clock = 0.0_f64;
    let mut first = true;
    let mut epoch_ms = None;
    for (i, line) in lines {
        let origin = format!("line {}", i + 1);
        let Ok(Value::Array(a)) = serde_json::from_str::<Value>(line) else {
            skipped.push(format!("{origin}: not a JSON array"));
            continue;
        };
        let Some(delta) = a.last().and_then(Value::as_f64).filter(|d| d.is_finite() && *d >= 0.0) else {
            skipped.push(format!("{origin}: no time"));
            continue;
        };
        // The first line's time is absolute (ms since the epoch), every later one a delta.
        if first {
            // A time before 2001 is no epoch (a writer that starts its clock at zero).
            epoch_ms = (delta > 1e12).then_some(delta as u64);
        }
        clock = if first { 0.0 } else { clock + delta };
        first = false;
        if a.len() < 3 {
            skipped.push(format!("{origin}: fewer than 3 fields"));
            continue;
        }
        let method = match rtcstats_keys::method(&a[0]) {
            Ok(m) => m,
            Err(MethodError::Unknown(n)) => {
                skipped.push(format!("{origin}: method number {n} is not in the rtcstats method table"));
                continue;
            }
            Err(MethodError::NotAMethod) => {
                skipped.push(format!("{origin}: the method is neither a name nor a number"));
                continue;
            }
        };
        let method = method.as_str();
        let Some(pc) = a[1].as_str() else {
            if method == "create" {
                writer =
                    a[2].pointer("/userAgentData/brands").map(|b| b.to_string().chars().take(200).collect());
            }
            continue;
        };
        let r = reading.entry(pc.to_owned()).or_insert_with(|| Reading {
            c: Connection { id: pc.to_owned(), epoch_ms, ..Connection::default() },
            ..Reading::default()
        });
        let t = clock as u64;
        match method {
            "create" => {
                r.c.page = a.get(3).and_then(Value::as_str).map(redact_url);
                r.c.ice_servers = ice_urls(Some(&a[2]));
                r.c.static_turn = static_turn(Some(&a[2])).into_iter().map(|u| (origin.clone(), u)).collect();
            }
            "getStats" => {
                let Some(report) = a[2].as_object() else { continue };
                for (id, stat) in report {
                    if stat.is_null() {
                        // A stats object that is gone (the delta format's removal).
                        r.stats.remove(id);
                        continue;
                    }
                    let Some(stat) = stat.as_object() else { continue };
                    r.stats.entry(id.clone()).or_default().extend(stat.iter().map(|(k, v)| {
                        let k = rtcstats_keys::property(k);
                        let v = if k == "type" { rtcstats_keys::stats_type(v) } else { v.clone() };
                        (k, v)
                    }));
                }
            }
            _ => apply(&mut r.c, &mut r.remote_set, origin, t, method, &a[2]),
        }
    }
    if reading.is_empty() {
        return Err(malformed("the whole file", "no peer connection"));
    }
    let end = clock as u64;
    let connections = reading
        .into_values()
        .map(|mut r| {
            // The last value of each stat as the one-sample series the dump reader takes.
            let series: Map<String, Value> = r
                .stats
                .iter()
                .flat_map(|(id, stat)| {
                    let typ = stat.get("type").cloned().unwrap_or_default();
                    stat.iter()
                        .map(move |(k, v)| (format!("{id}-{k}"), json!({"statsType": typ, "values": [v]})))
                })
                .collect();
            let last = r.c.records.last().map_or(0, |x| x.stamped.t_ms);
            read_stats(&mut r.c, "getStats", &series, end.max(last));
            r.c
        })
        .collect();
    Ok(Import { format: Format::Rtcstats, connections, probe_runs: None, load: None, skipped, writer })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::timeline::Event;

    const DUMP: &str = concat!(
        "RTCStatsDump\n{\"fileFormat\":3}\n",
        "[\"create\",null,{\"userAgentData\":{\"brands\":[{\"brand\":\"Chromium\",\"version\":\"156\"}]}},1796220069362]\n",
        "[\"create\",\"10-1\",{\"iceServers\":[{\"urls\":[\"turn:127.0.0.1:3478\"],\"username\":\"alice\"},{\"urls\":\"turn:127.0.0.1:3479\",\"username\":\"1796220069:bob\"}]},\"http://127.0.0.1/?token=abc\",25.5]\n",
        "[\"setRemoteDescription\",\"10-1\",{\"type\":\"answer\",\"sdp\":\"v=0\\r\\na=mid:0\\r\\n\"},10]\n",
        "[\"oniceconnectionstatechange\",\"10-1\",\"\\\"connected\\\"\",5]\n",
        "[62,\"10-1\",null,1]\n",
        "[\"getStats\",\"10-1\",{\"IT1\":{\"type\":\"inbound-rtp\",\"kind\":\"audio\",\"packetsReceived\":3}},1000]\n",
        "[\"getStats\",\"10-1\",{\"IT1\":{\"packetsReceived\":50}},1000]\n",
        "not json\n",
    );

    #[test]
    fn lines_deltas_and_stats_deltas_are_read() {
        let imp = parse(DUMP).unwrap();
        let c = &imp.connections[0];
        assert_eq!((c.id.as_str(), c.page.as_deref()), ("10-1", Some("http://127.0.0.1/?token=<redacted>")));
        assert_eq!(c.ice_servers, ["turn:127.0.0.1:3478", "turn:127.0.0.1:3479"]);
        assert_eq!(c.static_turn, [("line 4".to_owned(), vec!["turn:127.0.0.1:3478".to_owned()])]);
        assert_eq!(c.remote_descriptions[0].origin, "line 5");
        assert_eq!(c.epoch_ms, Some(1796220069362));
        assert_eq!(c.wall_ms(&c.descriptions[0]), Some(1796220069362 + 35));
        let ice = c.records.iter().find(|r| matches!(r.stamped.event, Event::IceState { .. })).unwrap();
        assert_eq!(ice.stamped.t_ms, 40);
        assert!(c.records.iter().any(|r| matches!(r.stamped.event, Event::InboundRtp { packets: 50, .. })));
        assert_eq!(imp.skipped.len(), 2, "{:?}", imp.skipped);
        assert!(imp.skipped[0].contains("method number 62 is not"), "{:?}", imp.skipped);
        assert!(imp.writer.unwrap().contains("Chromium"));
    }

    #[test]
    fn compressed_methods_properties_and_types_are_read() {
        let dump = concat!(
            "RTCStatsDump\n{\"fileFormat\":3}\n",
            "[39,\"1\",{\"iceServers\":[]},1796220069362]\n",
            "[\"8\",\"1\",{\"type\":\"answer\",\"sdp\":\"v=0\\r\\na=ice-ufrag:abcd\\r\\n\"},10]\n",
            "[24,\"1\",\"connected\",5]\n",
            "[\"g\",\"1\",{\"0\":{\"type\":1,\"11\":\"audio\",\"14\":7},\"3\":{\"type\":2,\"79\":9},\"t\":5},1000]\n",
            "[\"g\",\"1\",{\"0\":{\"14\":40},\"3\":null},1000]\n",
            "[62,\"1\",null,1]\n",
            "[[6],\"1\",null,1]\n",
        );
        let imp = parse(dump).unwrap();
        let c = &imp.connections[0];
        assert_eq!(c.descriptions[0].identity.ufrag.as_deref(), Some("abcd"));
        let events: Vec<&Event> = c.records.iter().map(|r| &r.stamped.event).collect();
        assert!(events.contains(&&Event::IceState { state: "connected".into() }), "{events:?}");
        assert!(events.iter().any(|e| matches!(e, Event::InboundRtp { packets: 40, .. })), "{events:?}");
        // The outbound stats object was removed by the second report.
        assert!(!events.iter().any(|e| matches!(e, Event::MediaSent { .. })), "{events:?}");
        assert_eq!(
            imp.skipped,
            [
                "line 8: method number 62 is not in the rtcstats method table",
                "line 9: the method is neither a name nor a number"
            ]
        );
    }

    #[test]
    fn hostile_rtcstats_is_an_error_or_skipped() {
        assert!(parse("RTCStatsDump\n").is_err());
        assert!(parse("RTCStatsDump\n[1]\n").is_err());
        assert!(parse("RTCStatsDump\n{\"fileFormat\":3}\n").is_err());
        assert!(
            parse("RTCStatsDump\n{\"fileFormat\":3}\n[\"x\",\"1\",{},-5]\n[\"x\",\"1\",{},1e400]\n").is_err()
        );
        let ok = parse("{\"fileFormat\":2}\n[\"getStats\",\"1\",{\"a\":5,\"b\":{\"c\":1}},0]\n").unwrap();
        assert_eq!(ok.connections.len(), 1);
    }
}
