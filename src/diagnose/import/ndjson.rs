//! rtc-assist's own files: the NDJSON `join --json` writes (one `Stamped` per line, see
//! `Stamped::to_ndjson`, closed by a `summary` line) and the one object `probe --json` prints
//! (its `runs`, each a probe peer's events). Lines of event kinds this version does not know
//! (written by a newer rtc-assist) are skipped and counted, never fatal. A timeline `serve
//! --record` wrote opens with a [`SERVE_RECORD`] line: the server's side of one session.

use serde_json::{Map, Value};

use super::{Format, Import, ImportError};
use crate::diagnose::connection::{Connection, Description, Record};
use crate::diagnose::rules::{PeerRun, Role};
use crate::diagnose::timeline::{Event, Stamped};
use crate::signal::sdp::SdpIdentity;

/// Lines that are derived from the events (the closing summary): not events, not unknown.
const DERIVED: &[&str] = &["summary"];

/// The `event` of the first line `serve --record` writes: `{"t_ms":0,"event":…,"peer_id":…}`.
pub const SERVE_RECORD: &str = "serve_record";

/// Our `Stamped` NDJSON: one connection per file (a `join` run).
pub fn parse(text: &str) -> Result<Import, ImportError> {
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    let mut seen_ours = false;
    let mut server_side = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let origin = format!("line {}", i + 1);
        let value: Option<Map<String, Value>> = match serde_json::from_str(line) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        };
        let kind = value.as_ref().and_then(|m| {
            m.get("t_ms").and_then(Value::as_u64)?;
            m.get("event").and_then(Value::as_str).map(str::to_owned)
        });
        let (Some(m), Some(kind)) = (value, kind) else {
            if !seen_ours {
                return Err(ImportError::Unknown(line.chars().take(24).collect()));
            }
            skipped.push(format!("{origin}: not an rtc-assist event line"));
            continue;
        };
        seen_ours = true;
        if kind == SERVE_RECORD && records.is_empty() {
            let id = m.get("peer_id").and_then(Value::as_str).unwrap_or_default();
            server_side = Some(id.chars().take(64).collect::<String>());
            continue;
        }
        match serde_json::from_value::<Stamped>(Value::Object(m)) {
            Ok(stamped) => records.push(Record { origin, stamped }),
            Err(_) if DERIVED.contains(&kind.as_str()) => {}
            Err(e) => {
                skipped.push(format!("{origin}: event `{}` not read ({})", clip(&kind), clip(&e.to_string())))
            }
        }
    }
    if records.is_empty() {
        return Err(ImportError::Malformed {
            format: Format::RtcAssistNdjson.as_str(),
            origin: "the whole file".into(),
            reason: "no event this version can read".into(),
        });
    }
    let format = if server_side.is_some() { Format::ServeRecord } else { Format::RtcAssistNdjson };
    let mut c = connection(records, "timeline");
    if let Some(id) = server_side.filter(|id| !id.is_empty()) {
        c.id = id;
    }
    Ok(Import { format, connections: vec![c], probe_runs: None, load: None, skipped, writer: None })
}

/// `probe --json`: every probe peer's run becomes a connection named after its role.
pub fn parse_probe(doc: &Map<String, Value>) -> Result<Import, ImportError> {
    let runs: Vec<PeerRun> =
        serde_json::from_value(doc.get("runs").cloned().unwrap_or_default()).map_err(|e| {
            ImportError::Malformed {
                format: Format::ProbeJson.as_str(),
                origin: "/runs".into(),
                reason: e.to_string(),
            }
        })?;
    let connections = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let records = run
                .events
                .iter()
                .enumerate()
                .map(|(j, s)| Record { origin: format!("/runs/{i}/events/{j}"), stamped: s.clone() })
                .collect();
            Connection { id: role_name(run.role).to_owned(), ..connection(records, "") }
        })
        .collect();
    Ok(Import {
        format: Format::ProbeJson,
        connections,
        probe_runs: Some(runs),
        load: None,
        skipped: vec![],
        writer: None,
    })
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Observer => "observer",
        Role::Withholder => "withholder",
        Role::Control => "control",
    }
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

/// A connection named after the peer id the server gave, else `fallback`.
fn connection(records: Vec<Record>, fallback: &str) -> Connection {
    let id = records
        .iter()
        .find_map(|r| match &r.stamped.event {
            Event::JoinedRoom { peer_id, .. } => Some(peer_id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| fallback.to_owned());
    let ice_servers = records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::IceServersOffered { servers } => Some(servers.iter().flat_map(|s| s.urls.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    let descriptions = records.iter().filter_map(description).collect();
    Connection { id, records, ice_servers, descriptions, ..Connection::default() }
}

/// Identity values longer than this are not an SDP's (a hostile or broken file): dropped.
const MAX_IDENTITY: usize = 256;

/// A `description` line as the model's description, its over-long values left out.
fn description(r: &Record) -> Option<Description> {
    let Event::Description { direction, kind, identity, unix_ms } = &r.stamped.event else { return None };
    let keep = |v: &Option<String>| v.clone().filter(|v| v.len() <= MAX_IDENTITY);
    Some(Description {
        t_ms: r.stamped.t_ms,
        origin: r.origin.clone(),
        direction: *direction,
        kind: kind.chars().take(32).collect(),
        identity: SdpIdentity {
            ufrag: keep(&identity.ufrag),
            fingerprint: keep(&identity.fingerprint),
            session_id: keep(&identity.session_id),
        },
        unix_ms: *unix_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY: &str = concat!(
        r#"{"t_ms":4,"event":"signaling_connected","url":"ws://127.0.0.1:1/ws"}"#,
        "\n",
        r#"{"t_ms":8,"event":"joined_room","room":"a","peer_id":"7f558a6f40494ad8","peers":[]}"#,
        "\n",
        r#"{"t_ms":8,"event":"ice_servers_offered","servers":[{"urls":["turn:127.0.0.1:3478"],"credential":true}]}"#,
        "\n",
        r#"{"t_ms":9,"event":"hologram_sent","beams":3}"#,
        "\n\n",
        r#"{"t_ms":20,"event":"connection_state","state":"connected"}"#,
        "\n",
        r#"{"connection_state":"connected","event":"summary","t_ms":4072}"#,
        "\n",
    );

    #[test]
    fn lines_keep_their_numbers_and_unknown_kinds_are_skipped() {
        let imp = parse(HEALTHY).unwrap();
        let c = &imp.connections[0];
        assert_eq!(c.id, "7f558a6f40494ad8");
        assert_eq!(c.ice_servers, vec!["turn:127.0.0.1:3478"]);
        assert_eq!(c.records.len(), 4);
        assert_eq!(c.records[3].origin, "line 6");
        assert_eq!(imp.skipped.len(), 1, "{:?}", imp.skipped);
        assert!(imp.skipped[0].starts_with("line 4: event `hologram_sent`"), "{:?}", imp.skipped);
    }

    #[test]
    fn hostile_lines_are_skipped_or_refused_never_a_panic() {
        assert!(matches!(parse("hello\n"), Err(ImportError::Unknown(_))));
        assert!(matches!(parse("{\"t_ms\":-1,\"event\":\"x\"}"), Err(ImportError::Unknown(_))));
        // Only unknown kinds: recognised as ours, but nothing to read.
        assert!(matches!(parse("{\"t_ms\":1,\"event\":\"x\"}"), Err(ImportError::Malformed { .. })));
        // A truncated last line (the writer was killed) is skipped.
        let cut = format!("{HEALTHY}{{\"t_ms\":30,\"event\":\"conn");
        let imp = parse(&cut).unwrap();
        assert_eq!(imp.skipped.len(), 2);
        // Wrong field types in a known kind: skipped with the reason.
        let bad = "{\"t_ms\":1,\"event\":\"ice_state\",\"state\":5}\n{\"t_ms\":2,\"event\":\"ice_state\",\"state\":\"new\"}";
        let imp = parse(bad).unwrap();
        assert_eq!((imp.connections[0].records.len(), imp.skipped.len()), (1, 1));
        let long = format!("{{\"t_ms\":1,\"event\":\"{}\"}}\n{HEALTHY}", "x".repeat(100_000));
        assert!(parse(&long).unwrap().skipped[0].len() < 200);
    }

    #[test]
    fn a_serve_record_is_the_server_side_named_by_its_header() {
        let text = concat!(
            r#"{"t_ms":0,"event":"serve_record","peer_id":"12cb96d5"}"#,
            "\n",
            r#"{"t_ms":12,"event":"signal","direction":"received","kind":"offer"}"#,
            "\n",
            r#"{"t_ms":13,"event":"serve_record","peer_id":"later lines are not headers"}"#,
            "\n",
        );
        let imp = parse(text).unwrap();
        assert_eq!(imp.format, Format::ServeRecord);
        assert_eq!(imp.connections[0].id, "12cb96d5");
        assert_eq!(imp.skipped.len(), 1, "{:?}", imp.skipped);
        assert_eq!(parse(HEALTHY).unwrap().format, Format::RtcAssistNdjson);
    }

    #[test]
    fn descriptions_are_read_and_hostile_identities_left_out() {
        let lines = format!(
            "{}\n{}\n{}\n",
            r#"{"t_ms":5,"event":"description","direction":"sent","kind":"offer","ufrag":"abcd","session_id":"12","unix_ms":1796237163372}"#,
            format_args!(
                r#"{{"t_ms":9,"event":"description","direction":"received","kind":"answer","ufrag":"{}"}}"#,
                "u".repeat(10_000)
            ),
            r#"{"t_ms":9,"event":"description","direction":"sideways","kind":"answer"}"#,
        );
        let imp = parse(&lines).unwrap();
        let d = &imp.connections[0].descriptions;
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].identity.ufrag.as_deref(), d[0].unix_ms), (Some("abcd"), Some(1796237163372)));
        assert_eq!((d[1].identity.ufrag.as_deref(), d[1].unix_ms), (None, None));
        assert_eq!(imp.skipped.len(), 1, "{:?}", imp.skipped);
    }

    #[test]
    fn probe_runs_become_connections_named_by_role() {
        let doc = serde_json::json!({"url": "ws://x", "runs": [
            {"role": "observer", "tone_hz": 440.0, "events": [{"t_ms": 1, "event": "ice_state", "state": "new"}]},
            {"role": "withholder", "tone_hz": 660.0, "events": []},
        ]});
        let imp = parse_probe(doc.as_object().unwrap()).unwrap();
        assert_eq!(
            imp.connections.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["observer", "withholder"]
        );
        assert_eq!(imp.connections[0].records[0].origin, "/runs/0/events/0");
        let bad = serde_json::json!({"runs": [{"role": "pilot"}]});
        assert!(matches!(parse_probe(bad.as_object().unwrap()), Err(ImportError::Malformed { .. })));
    }
}
