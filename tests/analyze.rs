//! `analyze` on real files: `join --json` timelines recorded here against `serve --fault`, the
//! committed webrtc-internals and rtcstats dumps of Chromium (tests/fixtures/dumps/, made by
//! scripts/make-dumps.sh) and one dump made live, so a change in Chromium's format breaks a
//! test, not a user.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::{Browser, page};
use crate::common::{BIN, Serve, finish, join_with};

/// What each committed dump must analyse to (the README table of tests/fixtures/dumps/).
const DUMPS: &[(&str, &[&str])] = &[
    ("healthy", &[]),
    ("F3-prefix", &["F3-prefix"]),
    // The page's `new RTCIceCandidate()` throws: the dump only shows that none arrived.
    ("F3-null", &["NO-REMOTE-CANDIDATE"]),
    ("F3-nested", &["NO-REMOTE-CANDIDATE"]),
    // The page buffers early candidates: no trace in the dump.
    ("F4", &[]),
    ("F7", &["NO-AUDIO-IN"]),
    // Alone, the browser's dump cannot tell its candidates were another peer's: see
    // `an_f1_dump_with_the_other_peers_timeline_shows_the_misdelivery`.
    ("F1", &[]),
];

fn dumps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dumps")
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("analyze-{}-{name}", std::process::id()))
}

/// Runs `analyze FILES --json`: (exit code, every finding code, the report).
fn analyze(files: &[&Path]) -> (i32, Vec<String>, Value) {
    let out = Command::new(BIN).arg("analyze").args(files).arg("--json").output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("analyze JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let mut codes: Vec<String> = Vec::new();
    let mut collect = |list: &Value| {
        for f in list.as_array().unwrap() {
            assert!(f["evidence"].as_array().is_some_and(|e| !e.is_empty()) && f["fix"].is_string(), "{f}");
            codes.push(f["code"].as_str().unwrap().to_owned());
        }
    };
    collect(&report["findings"]);
    for f in report["files"].as_array().unwrap() {
        collect(&f["findings"]);
        for c in f["connections"].as_array().unwrap() {
            collect(&c["findings"]);
        }
    }
    (out.status.code().unwrap_or(-1), codes, report)
}

/// A 3 s tone peer writing its `join --json` timeline.
fn joined(url: &str, room: &str, hz: u32) -> std::process::Child {
    join_with(url, room, hz, 3.0, &["--no-playback"])
}

/// A peer's timeline saved as the NDJSON file `join --json` writes.
fn save(events: &[Value], name: &str) -> PathBuf {
    let path = tmp(name);
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn join_timelines_name_f3_null_and_f4_and_a_healthy_call_nothing() {
    for (fault, want) in [(None, vec![]), (Some("F3-null"), vec!["F3-null"]), (Some("F4"), vec!["F4"])] {
        let serve = Serve::start(&fault.map_or(vec![], |f| vec!["--fault", f]));
        let a = joined(&serve.url, "r", 440);
        std::thread::sleep(Duration::from_millis(500));
        let b = finish(joined(&serve.url, "r", 660));
        let _ = finish(a);
        let path = save(&b.events, &format!("b-{}", fault.unwrap_or("healthy")));
        let (code, codes, report) = analyze(&[&path]);
        assert_eq!(codes, want, "{fault:?}: {report}");
        assert_eq!(code, if want.is_empty() { 0 } else { 1 });
        let conn = &report["files"][0]["connections"][0];
        assert!(
            conn["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["origin"].as_str().unwrap().starts_with("line "))
        );
        assert!(!conn["cannot_show"].as_array().unwrap().is_empty());
    }
}

#[test]
fn three_healthy_peers_give_no_finding_and_two_files_of_an_f1_call_show_the_misdelivery() {
    let serve = Serve::start(&[]);
    let peers: Vec<_> = [440, 550, 660]
        .iter()
        .map(|hz| {
            let p = joined(&serve.url, "three", *hz);
            std::thread::sleep(Duration::from_millis(500));
            p
        })
        .collect();
    let files: Vec<PathBuf> =
        peers.into_iter().enumerate().map(|(i, p)| save(&finish(p).events, &format!("three-{i}"))).collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (code, codes, report) = analyze(&refs);
    assert_eq!((code, codes.clone()), (0, vec![]), "{report}");
    assert_eq!(report["files"].as_array().unwrap().len(), 3);

    let serve = Serve::start(&["--fault", "F1"]);
    let a = joined(&serve.url, "f1", 440);
    std::thread::sleep(Duration::from_millis(500));
    let b = finish(joined(&serve.url, "f1", 660));
    let (a, b) = (save(&finish(a).events, "f1-a"), save(&b.events, "f1-b"));
    let (code, codes, report) = analyze(&[&a, &b]);
    assert!(codes.contains(&"F1".to_owned()) && code == 1, "{codes:?}: {report}");
    assert!(!codes.contains(&"F2".to_owned()), "{codes:?}");
    assert!(report["findings"][0]["evidence"][0].as_str().unwrap().contains("belongs to"), "{report}");
}

/// The record `serve --record DIR` wrote of the session `events` (a `join --json` run) had.
fn record_of(dir: &Path, events: &[Value]) -> PathBuf {
    let id = events.iter().find_map(|e| e["peer_id"].as_str().filter(|_| e["event"] == "joined_room"));
    dir.join(format!("{}.ndjson", id.expect("the peer joined")))
}

#[test]
fn a_join_timeline_and_the_serve_record_of_its_session_are_paired() {
    for fault in [None, Some("F5")] {
        let name = fault.unwrap_or("healthy");
        let dir = tmp(&format!("record-{name}"));
        let mut args = vec!["--record", dir.to_str().unwrap()];
        args.extend(fault.map(|f| ["--fault", f]).into_iter().flatten());
        let serve = Serve::start(&args);
        let run = finish(joined(&serve.url, "rec", 440));
        drop(serve);
        let join = save(&run.events, &format!("rec-{name}.ndjson"));
        let record = record_of(&dir, &run.events);
        let (code, codes, report) = analyze(&[&join, &record]);
        assert_eq!(report["files"][1]["format"], "serve-record", "{report}");
        let pairs = report["correlation"]["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 1, "{name}: {report}");
        let pair = &pairs[0];
        assert_eq!(pair["paired_by"][0]["key"], "ice-ufrag", "{pair}");
        // One machine, one clock: the estimate is the messages' jitter, far below this.
        assert_eq!(pair["clocks"]["clocks"], "compared", "{pair}");
        let skew = pair["clocks"]["skew_ms"].as_f64().unwrap();
        assert!(skew.abs() <= 250.0, "{name}: skew {skew} ms: {pair}");
        let unadded = pair["unadded"].as_array().unwrap();
        match fault {
            None => {
                assert_eq!((code, codes), (0, vec![]), "{report}");
                assert!(unadded.is_empty(), "{pair}");
            }
            // F5: serve forwards the client's trickled candidates to the room and never adds them.
            Some(_) => {
                assert_eq!((code, codes), (1, vec!["CANDIDATES-NOT-ADDED".to_owned()]), "{report}");
                assert!(
                    !unadded.is_empty() && unadded.iter().all(|u| u["from"] == join.to_str().unwrap()),
                    "{pair}"
                );
                let evidence = report["findings"][0]["evidence"].as_array().unwrap();
                assert!(
                    evidence[0].as_str().unwrap().contains("local candidate host udp 127.0.0.1:"),
                    "{report}"
                );
                assert!(
                    evidence[1].as_str().unwrap().contains("no remote candidate was ever added"),
                    "{report}"
                );
            }
        }
        // The record holds no secret: the ICE password never leaves the SDP.
        let text = std::fs::read_to_string(&record).unwrap();
        assert!(!text.contains("ice-pwd") && !text.contains("\"pwd"), "{text}");
    }
}

#[test]
fn a_load_run_is_analysed_by_the_phase_its_peers_failed_in() {
    for (max_sessions, want) in [("4", vec![]), ("1", vec!["LOAD-WEBSOCKET".to_owned()])] {
        let serve = Serve::start(&["--max-sessions", max_sessions]);
        let out = Command::new(BIN)
            .args(["load", &serve.url, "--json", "--rooms", "1", "--peers", "2"])
            .args(["--duration", "3", "--warmup", "1", "--rate", "20"])
            .output()
            .unwrap();
        drop(serve);
        let path = tmp(&format!("load-{max_sessions}.ndjson"));
        std::fs::write(&path, &out.stdout).unwrap();
        let (code, codes, report) = analyze(&[&path]);
        assert_eq!(report["files"][0]["format"], "load-json", "{report}");
        assert_eq!(codes, want, "--max-sessions {max_sessions}: {report}");
        assert_eq!(code, if want.is_empty() { 0 } else { 1 });
        let peers = report["files"][0]["load"]["peers"].as_array().unwrap();
        assert_eq!(peers.len(), 2, "{report}");
        if !want.is_empty() {
            // The second peer got 503 at the upgrade; the first one connected and is not blamed.
            let f = &report["files"][0]["findings"][0];
            assert_eq!(f["title"], "1 of 2 peer(s): the signaling connection failed", "{f}");
            assert!(f["evidence"][0].as_str().unwrap().contains("503"), "{f}");
        }
    }
}

#[test]
fn unreadable_files_are_exit_2_with_one_line() {
    let junk = tmp("junk.txt");
    std::fs::write(&junk, "this is not a dump\n").unwrap();
    let rtcstats = tmp("rtcstats");
    std::fs::write(&rtcstats, "RTCStatsDump\n{\"fileFormat\":3}\n").unwrap();
    let broken_gz = tmp("broken.gz");
    std::fs::write(&broken_gz, [0x1f, 0x8b, 0x08, 0x00, 0xff]).unwrap();
    let binary = tmp("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    for (path, needle) in [
        (junk.as_path(), "not a webrtc-internals dump"),
        (rtcstats.as_path(), "rtcstats"),
        (broken_gz.as_path(), "gzip"),
        (binary.as_path(), "UTF-8"),
        (Path::new("/nonexistent/file"), "No such file"),
    ] {
        let out = Command::new(BIN).arg("analyze").arg(path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path:?}: {err}");
        assert!(out.stdout.is_empty() && err.lines().count() == 1 && err.contains(needle), "{path:?}: {err}");
    }
    let out = Command::new(BIN).arg("analyze").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_gzipped_timeline_is_read_and_peer_selects_connections() {
    let line = r#"{"t_ms":8,"event":"joined_room","room":"a","peer_id":"7f558a6f40494ad8","peers":[]}"#;
    let path = tmp("timeline.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    writeln!(gz, "{line}").unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let (code, codes, report) = analyze(&[&path]);
    assert_eq!((code, codes), (0, vec![]), "{report}");
    assert_eq!(report["files"][0]["connections"][0]["id"], "7f558a6f40494ad8");
    let out = Command::new(BIN).arg("analyze").arg(&path).args(["--peer", "nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = Command::new(BIN).arg("analyze").arg(&path).args(["--peer", "7f55"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("connection 7f558a6f40494ad8") && text.contains("what this file cannot show"),
        "{text}"
    );
}

#[test]
fn every_committed_dump_analyses_to_its_code() {
    for (name, want) in DUMPS {
        for (kind, format) in [("webrtc_internals_dump", "webrtc-internals"), ("rtcstats_dump", "rtcstats")] {
            let path = dumps_dir().join(format!("{name}.{kind}.gz"));
            let (code, codes, report) = analyze(&[&path]);
            assert_eq!(&codes, want, "{name} {kind}: {report}");
            assert_eq!(code, if want.is_empty() { 0 } else { 1 }, "{name} {kind}");
            assert_eq!(report["files"][0]["format"], format, "{name}");
        }
    }
}

#[test]
fn an_f1_dump_with_the_other_peers_timeline_shows_the_misdelivery() {
    let join = dumps_dir().join("F1.join.ndjson");
    for kind in ["webrtc_internals_dump", "rtcstats_dump"] {
        let dump = dumps_dir().join(format!("F1.{kind}.gz"));
        let (code, codes, report) = analyze(&[&dump, &join]);
        // The CLI peer's own file shows that none of its candidates reached it.
        assert_eq!(
            (code, codes),
            (1, vec!["F1".to_owned(), "NO-REMOTE-CANDIDATE".to_owned()]),
            "{kind}: {report}"
        );
        let evidence = report["findings"][0]["evidence"][0].as_str().unwrap();
        assert!(
            evidence.contains("/PeerConnections/10-1/updateLog/") || evidence.contains(" line "),
            "{evidence}"
        );
        assert!(evidence.contains("F1.join.ndjson"), "{evidence}");
    }
}

/// Chromium joins a room of `serve --fault FAULT` through the page at `/` with
/// chrome://webrtc-internals open from the start, a CLI tone peer joins after it, and both
/// downloads of the internals page are returned with the CLI peer's timeline:
/// (webrtc-internals dump, rtcstats dump, the CLI peer's `join --json` events).
async fn browser_dump(fault: &str, serve_args: &[&str]) -> (Vec<u8>, Option<Vec<u8>>, Vec<Value>) {
    let mut args = if fault == "healthy" { vec![] } else { vec!["--fault", fault] };
    args.extend(serve_args);
    let serve = Serve::start(&args);
    let browser = Browser::start().await;
    browser.client.goto("chrome://webrtc-internals").await.unwrap();
    let internals = browser.client.window().await.unwrap();
    let tab = browser.client.new_window(true).await.unwrap();
    browser.client.switch_to_window(tab.handle).await.unwrap();
    browser.client.goto(&page(&serve, "dump")).await.unwrap();
    let log = browser.log_contains("connection connected", Duration::from_secs(15)).await;
    assert!(log.contains("connection connected"), "--fault {fault}: {log}");
    let cli = join_with(&serve.url, "dump", 660, 5.0, &["--no-playback"]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    browser.client.switch_to_window(internals).await.unwrap();
    browser.eval("document.getElementById('dump-click-target').click()").await;
    browser.eval("const b = document.getElementById('dump-click-target-rtcstats'); if (b) b.click();").await;
    let dir = browser.downloads();
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    while read("webrtc_internals_dump.gz").is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dump = read("webrtc_internals_dump.gz").expect("Chromium downloaded webrtc_internals_dump.gz");
    let rtcstats = read("rtcstats_dump.gz");
    let cli = finish(cli);
    browser.stop().await;
    (dump, rtcstats, cli.events)
}

#[test]
fn a_fresh_chromium_dump_of_f3_null_is_analysed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (dump, _, _) = rt.block_on(browser_dump("F3-null", &[]));
    let path = tmp("fresh.webrtc_internals_dump.gz");
    std::fs::write(&path, dump).unwrap();
    let (code, codes, report) = analyze(&[&path]);
    assert_eq!((code, codes), (1, vec!["NO-REMOTE-CANDIDATE".to_owned()]), "{report}");
}

#[test]
fn a_fresh_healthy_chromium_dump_pairs_with_the_serve_record_of_its_session() {
    let dir = tmp("browser-record");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (dump, _, cli) = rt.block_on(browser_dump("healthy", &["--record", dir.to_str().unwrap()]));
    let path = tmp("healthy-fresh.webrtc_internals_dump.gz");
    std::fs::write(&path, dump).unwrap();
    // The browser's session is the record that is not the CLI peer's.
    let cli_record = record_of(&dir, &cli);
    let record = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).find(|p| *p != cli_record);
    let record = record.expect("serve recorded the browser's session");
    let (code, codes, report) = analyze(&[&path, &record]);
    assert_eq!((code, codes), (0, vec![]), "{report}");
    let pair = &report["correlation"]["pairs"][0];
    assert_eq!(pair["a"]["file"], path.to_str().unwrap(), "{report}");
    assert_eq!(pair["paired_by"][0]["key"], "ice-ufrag", "{pair}");
    assert!(pair["paired_by"][0]["evidence"][0].as_str().unwrap().contains("/updateLog/"), "{pair}");
    assert!(pair["unadded"].as_array().unwrap().is_empty(), "{pair}");
    // Chromium's timestamps and serve's wall clock: one machine, so a small skew.
    assert_eq!(pair["clocks"]["clocks"], "compared", "{pair}");
    let skew = pair["clocks"]["skew_ms"].as_f64().unwrap();
    assert!(skew.abs() <= 250.0, "skew {skew} ms: {pair}");
}

/// Writes tests/fixtures/dumps/ anew (scripts/make-dumps.sh): one run of Chromium per case.
#[test]
#[ignore = "makes the committed fixtures: scripts/make-dumps.sh"]
fn make_dumps() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (name, _) in DUMPS {
        let (dump, rtcstats, cli) = rt.block_on(browser_dump(name, &[]));
        std::fs::write(dumps_dir().join(format!("{name}.webrtc_internals_dump.gz")), dump).unwrap();
        let rtcstats = rtcstats.expect("this Chromium exports an rtcstats dump");
        std::fs::write(dumps_dir().join(format!("{name}.rtcstats_dump.gz")), rtcstats).unwrap();
        if *name == "F1" {
            let text: String = cli.iter().map(|e| format!("{e}\n")).collect();
            std::fs::write(dumps_dir().join(format!("{name}.join.ndjson")), text).unwrap();
        }
    }
}
