//! `join --signal whip` against an independent WHIP server (the aiortc double,
//! `tests/interop/whip_server.py`): a healthy publish (201, connected, DELETE), and each
//! interop breaker the double switches on, named by `analyze` of the join's own timeline.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::interop::WhipDouble;
use crate::common::{BIN, Finished, finish};

/// Publishes a 440 Hz tone to `url` for `secs` seconds with `--signal whip --json`.
fn publish(url: &str, secs: f64, extra: &[&str]) -> Finished {
    let child = Command::new(BIN)
        .args(["join", "--signal", "whip", "--server", url, "--source", "tone:440", "--no-playback"])
        .args(["--duration", &secs.to_string(), "--json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn join --signal whip");
    finish(child)
}

fn http_events(f: &Finished) -> Vec<&Value> {
    f.events_named("http")
}

/// `analyze` of a finished join's timeline: its finding codes.
fn analyze_codes(f: &Finished) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("join.ndjson");
    let text: Vec<String> = f.events.iter().map(Value::to_string).collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    let out = Command::new(BIN).arg("analyze").arg(&path).arg("--json").output().expect("run analyze");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("analyze --json ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let mut codes = Vec::new();
    collect_codes(&doc, &mut codes);
    codes
}

fn collect_codes(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(list) = m.get("findings").and_then(Value::as_array) {
                out.extend(list.iter().filter_map(|f| f["code"].as_str().map(str::to_owned)));
            }
            m.values().for_each(|x| collect_codes(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_codes(x, out)),
        _ => {}
    }
}

#[test]
fn a_whip_publisher_connects_sends_and_deletes_its_session() {
    let double = WhipDouble::start(&[]);
    let url = format!("{}/whip/room1", double.base);
    let f = publish(&url, 3.0, &[]);
    assert_eq!(f.code, 0, "{}\n{}", f.stderr, double.logs());
    let http = http_events(&f);
    let post = http.iter().find(|e| e["method"] == "POST").expect("a POST in the timeline");
    assert_eq!(post["status"], 201, "{post}");
    assert_eq!(post["content_type"], "application/sdp");
    assert!(post["location"].as_str().is_some_and(|l| l.contains("/whip/room1/")), "{post}");
    let delete = http.iter().find(|e| e["method"] == "DELETE").expect("a DELETE at hang-up");
    assert_eq!(delete["status"], 200, "{delete}");
    assert_eq!(f.summary()["session_teardown"], "torn down (DELETE 200)", "{}", f.summary());
    assert_eq!(f.summary()["ever_connected"], true, "{}", f.summary());
    assert!(f.summary()["packets_sent"].as_u64().unwrap_or(0) > 50, "{}", f.summary());
    // The double's own log: the session it made reached connected and took our audio.
    let logs = double.logs();
    assert!(logs.contains("connected"), "{logs}");
    assert!(analyze_codes(&f).iter().all(|c| !c.starts_with("WHIP-")), "{:?}", analyze_codes(&f));
}

#[test]
fn trickled_candidates_go_by_patch_and_refusals_are_named() {
    // Healthy: the offer without candidates, then one PATCH per candidate and one for the end,
    // each with the 201's ETag as If-Match; the double accepts them and the call connects.
    let double = WhipDouble::start(&[]);
    let f = publish(&format!("{}/whip/t", double.base), 2.0, &["--trickle"]);
    assert_eq!(f.code, 0, "{}\n{}", f.stderr, double.logs());
    let patches: Vec<&Value> = http_events(&f).into_iter().filter(|e| e["method"] == "PATCH").collect();
    assert!(patches.len() >= 2, "a candidate and the end: {patches:?}");
    assert!(patches.iter().all(|p| p["status"] == 204), "{patches:?}");
    let offer = f.events.iter().find(|e| e["event"] == "signal" && e["kind"] == "offer").expect("offer");
    assert_eq!(offer["detail"], "0 candidate(s) in SDP", "{offer}");
    assert!(analyze_codes(&f).iter().all(|c| !c.starts_with("WHIP-")), "{:?}", analyze_codes(&f));
    // A server without PATCH: legal, but not for a client that trickles.
    for (fault, code) in [("patch-405", "WHIP-TRICKLE-REFUSED"), ("no-etag", "WHIP-PATCH-PRECONDITION")] {
        let double = WhipDouble::start(&[fault]);
        let f = publish(&format!("{}/whip/t", double.base), 2.0, &["--trickle"]);
        let codes = analyze_codes(&f);
        assert!(codes.contains(&code.to_owned()), "{fault}: {codes:?}\n{}", double.logs());
    }
    // The same server, candidates in the offer: a refused PATCH is never even needed.
    let double = WhipDouble::start(&["patch-405"]);
    let f = publish(&format!("{}/whip/t", double.base), 2.0, &[]);
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert!(analyze_codes(&f).iter().all(|c| !c.starts_with("WHIP-")), "{:?}", analyze_codes(&f));
}

#[test]
fn the_ice_servers_an_endpoint_announces_are_the_ones_the_peer_uses() {
    // The double announces `<stun:127.0.0.1:3478>; rel="ice-server"` on OPTIONS and on the 201.
    let double = WhipDouble::start(&["ice-servers"]);
    let f = publish(&format!("{}/whip/room1", double.base), 2.0, &[]);
    assert_eq!(f.code, 0, "{}\n{}", f.stderr, double.logs());
    let http = http_events(&f);
    let options = http.iter().find(|e| e["method"] == "OPTIONS").expect("an OPTIONS before the offer");
    assert_eq!(options["ice_servers"], serde_json::json!(["stun:127.0.0.1:3478"]), "{options}");
    let post = http.iter().find(|e| e["method"] == "POST").expect("POST");
    assert_eq!(post["ice_servers"], serde_json::json!(["stun:127.0.0.1:3478"]), "{post}");
    let offered = f.events_named("ice_servers_offered");
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert!(offered[0].to_string().contains("stun:127.0.0.1:3478"), "{}", offered[0]);
    // Nothing answers STUN on loopback's 3478: no srflx candidate, the call connects on host ones.
    assert_eq!(f.summary()["ever_connected"], true);
    // Without the announcement: OPTIONS answered, nothing offered.
    let plain_double = WhipDouble::start(&[]);
    let plain = publish(&format!("{}/whip/room2", plain_double.base), 1.0, &[]);
    assert!(plain.events_named("ice_servers_offered").is_empty());
}

#[test]
fn a_whep_viewer_hears_the_whip_publisher_through_the_server() {
    let double = WhipDouble::start(&[]);
    let publisher = {
        let url = format!("{}/whip/live", double.base);
        std::thread::spawn(move || publish(&url, 8.0, &[]))
    };
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let child = Command::new(BIN)
        .args(["join", "--signal", "whep", "--server", &format!("{}/whep/live", double.base)])
        .args(["--duration", "4", "--no-playback", "--expect-audio", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn join --signal whep");
    let viewer = finish(child);
    assert_eq!(viewer.code, 0, "{}\n{}", viewer.stderr, double.logs());
    assert!(viewer.heard_freq(440.0), "{:?}", viewer.heard());
    assert_eq!(viewer.summary()["packets_sent"], 0, "a viewer sends nothing");
    assert!(!viewer.stderr.contains("note: sending"), "{}", viewer.stderr);
    let offer = viewer.events.iter().find(|e| e["event"] == "http" && e["method"] == "POST").expect("POST");
    assert_eq!(offer["status"], 201);
    assert_eq!(publisher.join().unwrap().code, 0);
    // Nothing published there: the endpoint says so, and --expect-audio cannot pass.
    let child = Command::new(BIN)
        .args(["join", "--signal", "whep", "--server", &format!("{}/whep/empty", double.base)])
        .args(["--duration", "2", "--no-playback", "--expect-audio", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let empty = finish(child);
    assert_eq!(empty.code, 1, "{}", empty.stderr);
    assert!(analyze_codes(&empty).contains(&"WHIP-STATUS".to_owned()));
}

#[test]
fn an_error_status_ends_the_session_and_is_named() {
    let double = WhipDouble::start(&["status-500"]);
    let f = publish(&format!("{}/whip/room1", double.base), 2.0, &[]);
    assert_eq!(f.code, 1, "{}", f.stderr);
    let post = http_events(&f).into_iter().find(|e| e["method"] == "POST").cloned().expect("POST recorded");
    assert_eq!(post["status"], 500);
    assert!(post["body"].as_str().is_some_and(|b| b.contains("internal error")), "{post}");
    assert!(f.events_named("error").iter().any(|e| e["message"].as_str().unwrap_or("").contains("500")));
    assert!(analyze_codes(&f).contains(&"WHIP-STATUS".to_owned()));
}

#[test]
fn interop_breakers_are_named_by_analyze() {
    for (fault, code) in [
        ("no-location", "WHIP-NO-LOCATION"),
        ("wrong-content-type", "WHIP-CONTENT-TYPE"),
        ("no-delete", "WHIP-NO-DELETE"),
    ] {
        let double = WhipDouble::start(&[fault]);
        let f = publish(&format!("{}/whip/r", double.base), 2.0, &[]);
        if fault == "no-delete" {
            assert_eq!(f.summary()["session_teardown"], "not torn down: DELETE answered 405", "{}", f.summary());
        }
        let codes = analyze_codes(&f);
        assert!(codes.contains(&code.to_owned()), "{fault}: {codes:?}\n{}", f.stderr);
        assert!(codes.iter().filter(|c| c.starts_with("WHIP-")).count() == 1, "{fault}: {codes:?}");
    }
}

/// `probe --signal whip URL --json`: (exit code, finding codes).
fn probe(url: &str) -> (i32, Vec<String>) {
    let out =
        Command::new(BIN).args(["probe", "--signal", "whip", url, "--json"]).output().expect("run probe");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("probe --json ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let mut codes = Vec::new();
    collect_codes(&doc, &mut codes);
    (out.status.code().unwrap_or(-1), codes)
}

#[test]
fn probe_checks_a_whip_endpoint_in_one_command() {
    let healthy = WhipDouble::start(&[]);
    assert_eq!(probe(&format!("{}/whip/p", healthy.base)), (0, vec![]), "{}", healthy.logs());
    // private-candidates: the classic Docker deployment, an answer whose only address is the
    // container's (172.17.0.2); on one machine the call still connects through the server's own
    // checks, and the probe names it.
    for (fault, code) in [
        ("status-500", "WHIP-STATUS"),
        ("no-delete", "WHIP-NO-DELETE"),
        ("no-location", "WHIP-NO-LOCATION"),
        ("private-candidates", "ADVERTISED-SILENT"),
    ] {
        let double = WhipDouble::start(&[fault]);
        let (rc, codes) = probe(&format!("{}/whip/p", double.base));
        assert_eq!(rc, 1, "{fault}: {codes:?}");
        assert!(codes.contains(&code.to_owned()), "{fault}: {codes:?}");
    }
}

#[test]
fn whip_usage_errors_are_exit_2() {
    for args in [
        vec!["join", "--signal", "whip", "--server", "ws://127.0.0.1:9/ws"],
        vec!["join", "room1", "--signal", "whip", "--server", "http://127.0.0.1:9/whip/r"],
        vec!["join", "--server", "http://127.0.0.1:9/whip/r"],
        vec!["join", "--signal", "whep", "--server", "ws://127.0.0.1:9/ws"],
        vec!["join", "--signal", "no-such-dialect.toml", "--server", "ws://127.0.0.1:9/"],
        vec!["join", "--signal", "janus-echotest", "--server", "http://127.0.0.1:9/"],
        vec!["join", "--signal", "../../etc/passwd", "--server", "http://127.0.0.1:9/x"],
    ] {
        let out = Command::new(BIN).args(&args).arg("--no-playback").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_refused_connection_is_one_error_and_exit_1() {
    // Nothing listens on port 9 of loopback.
    let f = publish("http://127.0.0.1:9/whip/r", 1.0, &[]);
    assert_eq!(f.code, 1, "{}", f.stderr);
    let post = http_events(&f).into_iter().find(|e| e["method"] == "POST").cloned().expect("POST recorded");
    assert!(post["status"].is_null(), "{post}");
    assert!(analyze_codes(&f).contains(&"WHIP-STATUS".to_owned()));
}
