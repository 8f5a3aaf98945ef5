//! What `rtc-assist load --json` prints: `sample` lines while it runs, one `peer` line per peer
//! at the end (its failure, if any: the phase and load's reason) and a closing `summary`. No
//! per-peer timeline is in it, so the model is the peers' outcomes, each with its line.

use serde_json::{Map, Value};

use super::{Format, Import, ImportError};

/// Longest reason or id kept from a line.
const MAX_TEXT: usize = 300;

/// One `peer` line.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPeer {
    pub origin: String,
    /// The peer id the server gave (none when it never joined).
    pub peer_id: Option<String>,
    pub room: String,
    /// Where it failed (`websocket`, `join`, `answer`, `ice`, `dtls`, `rtp`, `dropped`) and why.
    pub failure: Option<(String, String)>,
}

/// A `load --json` run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadRun {
    pub peers: Vec<LoadPeer>,
    /// The summary line's origin and its counts (peers, connected, failed), when it is there.
    pub summary: Option<(String, u64, u64, u64)>,
}

/// Whether the first line of a file is one `load --json` writes.
pub fn recognises(first: &Map<String, Value>) -> bool {
    match first.get("event").and_then(Value::as_str) {
        Some("sample") => first.contains_key("started"),
        Some("peer") => first.contains_key("failure"),
        Some("summary") => first.contains_key("failures"),
        _ => false,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(|s| s.chars().take(MAX_TEXT).collect())
}

pub fn parse(input: &str) -> Result<Import, ImportError> {
    let mut run = LoadRun::default();
    let mut skipped = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let origin = format!("line {}", i + 1);
        let Ok(Value::Object(m)) = serde_json::from_str::<Value>(line) else {
            skipped.push(format!("{origin}: not a JSON object"));
            continue;
        };
        match m.get("event").and_then(Value::as_str) {
            Some("sample") => {}
            Some("peer") => {
                let failure = m.get("failure").and_then(Value::as_object).map(|f| {
                    let phase = text(f.get("phase")).unwrap_or_else(|| "unknown".into());
                    (phase, text(f.get("reason")).unwrap_or_default())
                });
                run.peers.push(LoadPeer {
                    origin,
                    peer_id: text(m.get("peer_id")),
                    room: text(m.get("room")).unwrap_or_default(),
                    failure,
                });
            }
            Some("summary") => {
                let n = |k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0);
                run.summary = Some((origin, n("peers"), n("connected"), n("failed")));
            }
            _ => skipped.push(format!("{origin}: not a load line")),
        }
    }
    if run.peers.is_empty() && run.summary.is_none() {
        return Err(ImportError::Malformed {
            format: Format::LoadJson.as_str(),
            origin: "the whole file".into(),
            reason: "no peer line and no summary (the run was cut short before it ended)".into(),
        });
    }
    Ok(Import {
        format: Format::LoadJson,
        connections: vec![],
        probe_runs: None,
        load: Some(run),
        skipped,
        writer: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_their_failures_and_the_summary_are_read() {
        let text = concat!(
            r#"{"event":"sample","t_ms":0,"started":0,"connected":0,"failed":0}"#,
            "\n",
            r#"{"event":"peer","room":"r","peer_id":"62a5","failure":null}"#,
            "\n",
            r#"{"event":"peer","room":"r","peer_id":null,"failure":{"phase":"websocket","reason":"HTTP error: 503"}}"#,
            "\n",
            "garbage\n",
            r#"{"event":"summary","peers":2,"connected":1,"failed":1,"failures":{"websocket":1}}"#,
            "\n",
        );
        let first = serde_json::from_str::<Value>(text.lines().next().unwrap()).unwrap();
        assert!(recognises(first.as_object().unwrap()));
        let imp = parse(text).unwrap();
        let run = imp.load.unwrap();
        assert_eq!(run.peers.len(), 2);
        assert_eq!(run.peers[0].failure, None);
        assert_eq!(run.peers[1].failure, Some(("websocket".into(), "HTTP error: 503".into())));
        assert_eq!((run.peers[1].origin.as_str(), run.peers[1].peer_id.as_deref()), ("line 3", None));
        assert_eq!(run.summary, Some(("line 5".into(), 2, 1, 1)));
        assert_eq!(imp.skipped, ["line 4: not a JSON object"]);
    }

    #[test]
    fn hostile_load_lines_are_skipped_or_refused() {
        assert!(parse(r#"{"event":"sample","t_ms":0,"started":0}"#).is_err());
        let long = format!(
            r#"{{"event":"peer","room":"r","failure":{{"phase":{{"x":1}},"reason":"{}"}}}}"#,
            "x".repeat(100_000)
        );
        let run = parse(&long).unwrap().load.unwrap();
        let (phase, reason) = run.peers[0].failure.clone().unwrap();
        assert_eq!((phase.as_str(), reason.len()), ("unknown", MAX_TEXT));
        let join_summary = serde_json::json!({"event": "summary", "t_ms": 4072});
        assert!(!recognises(join_summary.as_object().unwrap()));
    }
}
