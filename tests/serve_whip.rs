//! `serve`'s WHIP/WHEP endpoints against an independent client: the aiortc publisher / viewer
//! `tests/interop/whip_client.py` (written from RFC 9725 and the WHEP draft, not from our
//! `join --signal whip`), with native `join` peers in the same rooms, and hostile raw HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::interop::{InteropClient, run_whip_client, spawn_whip_client};
use crate::common::{Serve, finish, join};

/// A made-up session id: no session has it.
const NO_SESSION: &str = "0123456789abcdef0123456789abcdef";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";

/// One HTTP/1.1 request to `addr` on a fresh connection (`Connection: close`) →
/// (status, the whole answer as text). Write errors are ignored (a server may answer before
/// reading an oversized body); the answer is whatever arrives within 10 s.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let _ = s.write_all(head.as_bytes()).and_then(|()| s.write_all(body));
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3)?.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP answer: {text:?}"));
    (status, text)
}

/// Notes in `got` an answer whose status is not `want`; returns the answer.
fn expect(got: &mut Vec<String>, name: &str, want: u16, answer: (u16, String)) -> String {
    if answer.0 != want {
        got.push(format!("{name}: want {want}, got {}", answer.1));
    }
    answer.1
}

/// The `created {…}` line `whip_client.py` writes once its POST is answered.
fn created(client: &mut InteropClient) -> Value {
    let line = client
        .stderr_line("created ", Duration::from_secs(30))
        .unwrap_or_else(|| panic!("whip_client.py never said its POST was answered:\n{}", client.stderr()));
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("created line not JSON ({e}): {line}"))
}

/// The path of an absolute Location `http://ADDR/PATH`.
fn path_of(location: &str) -> String {
    let rest = location.split_once("://").map_or(location, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..]).to_owned()
}

/// A 201 with a Location under `/{side}/{room}/`, a quoted ETag, the session DELETEd (200).
fn assert_created_and_deleted(report: &Value, side: &str, room: &str, logs: &str) {
    assert_eq!(report["exit_code"], 0, "{report}\n{logs}");
    assert_eq!(report["post_status"], 201, "{report}\n{logs}");
    let location = report["location"].as_str().unwrap_or_default();
    assert!(path_of(location).starts_with(&format!("/{side}/{room}/")), "Location {location:?}: {report}");
    let etag = report["etag"].as_str().unwrap_or_default();
    assert!(etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'), "ETag {etag:?}: {report}");
    assert_eq!(report["delete_status"], 200, "{report}\n{logs}");
}

fn near(hz: Option<f64>, want: f64) -> bool {
    hz.is_some_and(|f| (f - want).abs() <= want * 0.02)
}

/// Polls (up to `within`) until `settled` holds on serve's /stats.
fn wait_stats(serve: &Serve, within: Duration, settled: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let stats = serve.stats();
        if settled(&stats) || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_aiortc_whip_publisher_is_heard_by_a_native_peer() {
    let serve = Serve::start(&[]);
    let url = format!("http://{}/whip/w1", serve.http);
    let mut publisher = spawn_whip_client(&["--whip", &url, "--hz", "660", "--seconds", "8"]);
    let answered = created(&mut publisher);
    assert_eq!(answered["post_status"], 201, "{answered}\n{}", publisher.stderr());
    let native = finish(join(&serve.url, "w1", 440, 5.0));
    let report = publisher.finish();
    let logs = serve.stop();
    assert_created_and_deleted(&report, "whip", "w1", &logs);
    assert_eq!(report["connected"], true, "{report}\n{logs}");
    assert!(report["packets"].as_u64().unwrap_or(0) > 100, "packets sent: {report}");
    assert!(report["answer_candidates"].as_u64().unwrap_or(0) > 0, "the answer had no candidates: {report}");
    assert_eq!(
        native.code,
        0,
        "the native peer's --expect-audio failed: {:?}\n{}\n{logs}",
        native.heard(),
        native.stderr
    );
    assert!(native.heard_freq(660.0), "the native peer heard {:?}\n{logs}", native.heard());
}

#[test]
fn an_aiortc_whep_viewer_hears_a_native_peer_that_is_not_told_about_it() {
    let serve = Serve::start(&[]);
    let native = join(&serve.url, "w2", 440, 10.0);
    let stats = wait_stats(&serve, Duration::from_secs(15), |s| {
        s["publishers"].as_array().is_some_and(|p| p.iter().any(|p| p["received"].as_u64().unwrap_or(0) > 0))
    });
    assert!(!stats["publishers"].as_array().unwrap().is_empty(), "the native peer never published: {stats}");
    let url = format!("http://{}/whep/w2", serve.http);
    let report = run_whip_client(&["--whep", &url, "--seconds", "5"]);
    let native = finish(native);
    let forwarded = serve.stats()["forwarded_packets"].as_u64().unwrap_or(0);
    let logs = serve.stop();
    assert_created_and_deleted(&report, "whep", "w2", &logs);
    assert_eq!(report["connected"], true, "{report}\n{logs}");
    assert!(near(report["heard_hz"].as_f64(), 440.0), "the viewer heard {report}\n{logs}");
    assert!(report["rms_dbfs"].as_f64().is_some_and(|db| db > -30.0), "level: {report}");
    assert!(report["packets"].as_u64().unwrap_or(0) > 100, "packets received: {report}");
    assert!(forwarded > 100, "serve forwarded {forwarded} packets\n{logs}");
    assert_eq!(
        native.code,
        0,
        "the native peer's --expect-audio failed: {:?}\n{}\n{logs}",
        native.heard(),
        native.stderr
    );
    assert!(
        native.events_named("peer_joined").is_empty(),
        "the WHEP viewer was announced: {:?}",
        native.events_named("peer_joined")
    );
}

#[test]
fn a_trickling_aiortc_publisher_patches_its_candidates_and_connects() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start_in_dir(dir.path(), &["--record", "rec"], &[]);
    let url = format!("http://{}/whip/w3", serve.http);
    let report = run_whip_client(&["--whip", &url, "--hz", "660", "--seconds", "3", "--trickle"]);
    let received = serve.stats()["received_packets"].as_u64().unwrap_or(0);
    let logs = serve.stop();
    assert_created_and_deleted(&report, "whip", "w3", &logs);
    assert_eq!(report["patch_status"], 204, "{report}\n{logs}");
    assert_eq!(
        report["patch_statuses"],
        serde_json::json!([204, 204]),
        "candidates, then end-of-candidates: {report}"
    );
    assert_eq!(report["connected"], true, "{report}\n{logs}");
    assert!(received > 50, "serve received {received} packets from the publisher\n{logs}");
    // serve's own timeline of the session: the PATCHed candidate reached its peer connection.
    let id = report["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let timeline = std::fs::read_to_string(dir.path().join("rec").join(format!("{id}.ndjson")))
        .unwrap_or_else(|e| panic!("serve's record of session {id}: {e}"));
    let events: Vec<Value> = timeline.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let trickled: Vec<&Value> =
        events.iter().filter(|e| e["event"] == "remote_candidate" && e["via"] == "trickle").collect();
    assert!(
        trickled.iter().any(|e| e["address"] == "127.0.0.1" && e["buffered"] == false),
        "no trickled candidate added:\n{timeline}"
    );
    assert!(!events.iter().any(|e| e["event"] == "error"), "{timeline}");
}

#[test]
fn hostile_whip_requests_get_4xx_and_serve_stays_up() {
    let serve = Serve::start(&[]);
    let addr = serve.http.clone();
    let sdp = [("Content-Type", "application/sdp")];
    let mut got = Vec::new();
    expect(&mut got, "garbage SDP", 400, http(&addr, "POST", "/whip/w4", &sdp, b"hello"));
    let shallow = b"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n";
    expect(
        &mut got,
        "an SDP only the session can refuse",
        400,
        http(&addr, "POST", "/whip/w4", &sdp, shallow),
    );
    let text = [("Content-Type", "text/plain")];
    let wrong_type =
        expect(&mut got, "wrong Content-Type", 415, http(&addr, "POST", "/whip/w4", &text, b"v=0\r\n"));
    if !wrong_type.to_ascii_lowercase().contains("accept-post: application/sdp") {
        got.push(format!("415 without Accept-Post: {wrong_type}"));
    }
    let big = vec![b'a'; 64 * 1024 + 1];
    expect(&mut got, "body over 64 KiB", 413, http(&addr, "POST", "/whip/w4", &sdp, &big));
    let frag = [("Content-Type", SDPFRAG), ("If-Match", "*")];
    let eoc = b"a=end-of-candidates\r\n";
    expect(
        &mut got,
        "PATCH unknown session",
        404,
        http(&addr, "PATCH", &format!("/whip/w4/{NO_SESSION}"), &frag, eoc),
    );
    expect(
        &mut got,
        "DELETE unknown session",
        404,
        http(&addr, "DELETE", &format!("/whep/w4/{NO_SESSION}"), &[], b""),
    );
    expect(&mut got, "unknown path", 404, http(&addr, "POST", "/nope", &sdp, b"v=0\r\n"));

    // A live session (the aiortc publisher) for the precondition checks.
    let url = format!("http://{addr}/whip/w4");
    let mut publisher = spawn_whip_client(&["--whip", &url, "--seconds", "6"]);
    let answered = created(&mut publisher);
    let location =
        path_of(answered["location"].as_str().unwrap_or_else(|| panic!("no Location: {answered}")));
    let etag = answered["etag"].as_str().unwrap_or_else(|| panic!("no ETag: {answered}")).to_owned();
    let id = location.rsplit('/').next().unwrap().to_owned();
    let body = b"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=end-of-candidates\r\n";
    let typed = [("Content-Type", SDPFRAG)];
    expect(&mut got, "PATCH without If-Match", 428, http(&addr, "PATCH", &location, &typed, body));
    let stale = [("Content-Type", SDPFRAG), ("If-Match", "\"0000000000000000\"")];
    expect(&mut got, "PATCH with a wrong If-Match", 412, http(&addr, "PATCH", &location, &stale, body));
    let untyped = [("Content-Type", "text/plain"), ("If-Match", etag.as_str())];
    expect(
        &mut got,
        "PATCH with the wrong Content-Type",
        415,
        http(&addr, "PATCH", &location, &untyped, body),
    );
    let matched = [("Content-Type", SDPFRAG), ("If-Match", etag.as_str())];
    let bad = b"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:x\r\n";
    expect(&mut got, "PATCH a malformed candidate", 400, http(&addr, "PATCH", &location, &matched, bad));
    let host = "a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n";
    let unknown_mid = format!("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:7\r\n{host}");
    expect(
        &mut got,
        "PATCH a candidate for an unknown mid",
        400,
        http(&addr, "PATCH", &location, &matched, unknown_mid.as_bytes()),
    );
    let restart = format!(
        "a=ice-ufrag:zzzz\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n{host}"
    );
    expect(
        &mut got,
        "PATCH an ICE restart with a candidate",
        501,
        http(&addr, "PATCH", &location, &matched, restart.as_bytes()),
    );
    let flood = format!("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n{}", host.repeat(30));
    expect(
        &mut got,
        "PATCH 30 candidates at once",
        400,
        http(&addr, "PATCH", &location, &matched, flood.as_bytes()),
    );
    let stale_delete = [("If-Match", "\"0000000000000000\"")];
    expect(
        &mut got,
        "DELETE with a wrong If-Match",
        412,
        http(&addr, "DELETE", &location, &stale_delete, b""),
    );
    expect(
        &mut got,
        "DELETE the session under another room",
        404,
        http(&addr, "DELETE", &format!("/whip/other/{id}"), &[], b""),
    );
    expect(
        &mut got,
        "DELETE the session as WHEP",
        404,
        http(&addr, "DELETE", &format!("/whep/w4/{id}"), &[], b""),
    );
    let report = publisher.finish();
    expect(&mut got, "DELETE an ended session", 404, http(&addr, "DELETE", &location, &[], b""));
    expect(&mut got, "GET /stats", 200, http(&addr, "GET", "/stats", &[], b""));
    let stats = wait_stats(&serve, Duration::from_secs(5), |s| s["sessions"] == 0 && s["rooms"] == 0);
    let logs = serve.stop();
    assert!(got.is_empty(), "{}\n{logs}", got.join("\n"));
    // The publisher lived through it all and still ended its session itself.
    assert_created_and_deleted(&report, "whip", "w4", &logs);
    assert_eq!(report["connected"], true, "{report}\n{logs}");
    assert_eq!(stats["sessions"], 0, "sessions left behind: {stats}\n{logs}");
    assert_eq!(stats["rooms"], 0, "rooms left behind: {stats}\n{logs}");
}
