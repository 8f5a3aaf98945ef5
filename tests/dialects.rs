//! `join --signal FILE.toml` (dialect files) proven against real servers:
//! - `dialects/example-app.toml` against an independent app that is not rtc-assist (the aiortc
//!   double `tests/interop/dialect_server.py`: its own JSON names, a required subprotocol, the
//!   server offering first): the peer answers instead of offering, both sides connect, each hears
//!   the other's tone (the double reports what it received), the keepalive is answered and its
//!   `pong` ignored;
//! - `dialects/rtc-assist.toml` against rtc-assist's own `serve`: the same timeline and the same
//!   verdict as the built-in `--signal rtc-assist`;
//! - a malformed dialect file, and one that does not exist, are usage errors (exit 2) naming the
//!   line and key, or the file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::interop::DialectDouble;
use crate::common::{BIN, Finished, Serve, finish, join_with};

/// The repository: `--signal dialects/….toml` is given relative to it, as a user would.
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const EXAMPLE_APP: &str = "dialects/example-app.toml";
const BUILT_IN_AS_FILE: &str = "dialects/rtc-assist.toml";

/// `join ROOM [--signal SIGNAL] --server URL --source tone:660 --duration SECS --json
/// --no-playback`, run from the repository (`None`: the default signaling).
fn join_peer(signal: Option<&str>, url: &str, room: &str, secs: f64) -> Finished {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(REPO).args(["join", room, "--server", url, "--source", "tone:660"]);
    if let Some(s) = signal {
        cmd.args(["--signal", s]);
    }
    let child = cmd
        .args(["--duration", &secs.to_string(), "--json", "--no-playback"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn join");
    finish(child)
}

/// [`join_peer`] through a dialect file.
fn join_dialect(dialect: &str, url: &str, room: &str, secs: f64) -> Finished {
    join_peer(Some(dialect), url, room, secs)
}

/// The `signal` events as "sent join_room", "received offer", …, in order.
fn signals(f: &Finished) -> Vec<String> {
    f.events_named("signal")
        .iter()
        .map(|e| format!("{} {}", e["direction"].as_str().unwrap_or("?"), e["kind"].as_str().unwrap_or("?")))
        .collect()
}

/// What must hold of a join through `dialects/example-app.toml` and of the double's report on
/// that session, whichever way the double laid out its offer (`answer` is the directions our
/// answer gave, as the double read them).
fn assert_joined_the_app(f: &Finished, double: &DialectDouble, answer: &[&str]) {
    let logs = || double.logs();
    assert_eq!(f.code, 0, "{}\n{}", f.stderr, logs());
    assert_eq!(f.summary()["ever_connected"], true, "{}", f.summary());
    assert!(f.heard_freq(440.0), "the app's 440 Hz: {:?}", f.heard());
    // The server offered, we answered; we never offered.
    assert_eq!(signals(f), ["sent join_room", "received offer", "sent answer"], "{}", logs());
    let offer = f.events_named("signal").into_iter().find(|e| e["kind"] == "offer").cloned().unwrap();
    assert_eq!(offer["detail"], "the server offers first", "{offer}");
    // Every message the app sent was understood: its welcome (a numeric id), its trickled
    // candidate and `ice-done`; nothing rejected, no error.
    assert_eq!(f.summary()["peer_id"], "1", "{}", f.summary());
    assert!(f.events_named("signal_rejected").is_empty(), "{:?}", f.events_named("signal_rejected"));
    assert!(f.events_named("server_error").is_empty() && f.events_named("error").is_empty());
    let trickled = f.events_named("remote_candidate").into_iter().filter(|e| e["via"] == "trickle").count();
    assert!(trickled >= 1, "the app's candidates arrive as `ice` messages");
    for direction in ["received", "sent"] {
        assert!(
            f.events_named("end_of_candidates").iter().any(|e| e["direction"] == direction),
            "end of candidates {direction}"
        );
    }
    // The app's side: it received our answer, candidates, `ice-done` and `bye`, connected, and
    // heard our 660 Hz.
    let reports = double.reports(1, Duration::from_secs(10));
    let [report] = reports.as_slice() else { panic!("one session report: {reports:?}\n{}", logs()) };
    assert_eq!(report["connected"], true, "{report}");
    assert_eq!(report["answer_direction"], serde_json::json!(answer), "{report}");
    assert!(report["packets"].as_u64().unwrap_or(0) > 50, "{report}");
    assert!(report["freq_hz"].as_f64().is_some_and(|hz| (hz - 660.0).abs() <= 13.2), "{report}");
    assert_eq!(report["received"][0], "enter", "{report}");
    assert_eq!(report["received"][1], "sdp", "{report}");
    let ops: Vec<&str> = report["received"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(ops.contains(&"ice") && ops.contains(&"ice-done"), "{report}");
    assert_eq!(ops.last(), Some(&"bye"), "{report}");
    assert_eq!(report["candidates_added"].as_u64(), Some(trickled_sent(f)), "{report}");
    assert_eq!(report["end_of_candidates"], true, "{report}");
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
}

/// How many candidates we trickled.
fn trickled_sent(f: &Finished) -> u64 {
    f.events_named("local_candidate").into_iter().filter(|e| e["via"] == "trickle").count() as u64
}

#[test]
fn another_app_that_offers_first_is_joined_through_its_dialect_file() {
    let double = DialectDouble::start(440.0, false);
    let f = join_dialect(EXAMPLE_APP, &double.url, "room1", 4.0);
    assert_joined_the_app(&f, &double, &["sendrecv"]);
}

#[test]
fn an_offer_with_a_sendonly_and_a_recvonly_line_is_answered_too() {
    // Our track rides the app's recvonly m-line, its tone arrives on the sendonly one.
    let double = DialectDouble::start(440.0, true);
    let f = join_dialect(EXAMPLE_APP, &double.url, "room1", 4.0);
    assert_joined_the_app(&f, &double, &["recvonly", "sendonly"]);
}

#[test]
fn the_keepalive_is_sent_and_its_answer_ignored() {
    // The example's keepalive is every 10 s; a copy that says every 0.5 s shows it in 3 s.
    let text = std::fs::read_to_string(Path::new(REPO).join(EXAMPLE_APP)).unwrap();
    assert!(text.contains("\nevery_s = 10\n"), "the example's keepalive line");
    let dir = tempfile::tempdir().unwrap();
    let fast = dir.path().join("fast-keepalive.toml");
    std::fs::write(&fast, text.replace("\nevery_s = 10\n", "\nevery_s = 0.5\n")).unwrap();
    let double = DialectDouble::start(440.0, false);
    let f = join_dialect(fast.to_str().unwrap(), &double.url, "room1", 3.0);
    assert_eq!(f.code, 0, "{}\n{}", f.stderr, double.logs());
    let reports = double.reports(1, Duration::from_secs(10));
    let pings = reports.first().and_then(|r| r["pings"].as_u64()).unwrap_or(0);
    assert!((3..=8).contains(&pings), "about one ping per 0.5 s: {reports:?}");
    // Each `pong` was read and dropped (`receive.ignore`), never reported as unknown.
    assert!(f.events_named("signal_rejected").is_empty(), "{:?}", f.events_named("signal_rejected"));
}

/// Which ordered source a timeline event comes from, so that events of different sources are
/// compared regardless of how they interleave. `None`: left out of the comparison.
///
/// The join's main loop `select!`s between the signaling socket and webrtc-rs' event channel
/// (at random when both are ready), webrtc-rs drives its state machines (signaling, gathering,
/// ICE, connection) on its own as packets and timers come, and each received track is measured
/// in its own task: how those interleave is timing, not protocol. Within one source the order is
/// fixed (the socket is FIFO, each state machine moves in one order), so each source's
/// subsequence is compared, in full:
/// - "signaling": everything recorded while connecting, joining and offering (before the loop),
///   on each message from the server (answer, its candidates, their end, errors, rejects), and
///   at hang-up (`media_sent`), plus any `error`;
/// - "signaling_state", "gathering" (our candidates, `gathering_state`, the end of ours sent),
///   "ice" (`ice_state`), "connection" (`connection_state`, and the selected pair recorded when
///   connected and again at hang-up): webrtc-rs' state machines;
/// - "track": `track_received`, from the receiving task.
///
/// Left out: `audio_level`, `inbound_rtp`, `outbound_rtp` (periodic: how many depends on
/// timing), and the `summary` (compared as a verdict instead, see [`verdict`]).
fn source(e: &Value) -> Option<&'static str> {
    match e["event"].as_str()? {
        "audio_level" | "inbound_rtp" | "outbound_rtp" | "summary" => None,
        "signaling_state" => Some("signaling_state"),
        "local_candidate" | "gathering_state" => Some("gathering"),
        "end_of_candidates" if e["direction"] == "sent" => Some("gathering"),
        "ice_state" => Some("ice"),
        "connection_state" | "selected_pair" => Some("connection"),
        "track_received" => Some("track"),
        _ => Some("signaling"),
    }
}

/// One event as compared: its name, with the direction and kind of a message and the state a
/// state change reached (`signal:sent:offer`, `connection_state:connected`).
fn label(e: &Value) -> String {
    let mut l = e["event"].as_str().unwrap_or("?").to_owned();
    for field in ["direction", "kind", "state", "via"] {
        if let Some(v) = e[field].as_str() {
            l.push(':');
            l.push_str(v);
        }
    }
    l
}

/// The timeline as compared: each source's labels in order (see [`source`]).
fn by_source(f: &Finished) -> Vec<(&'static str, Vec<String>)> {
    ["signaling", "signaling_state", "gathering", "ice", "connection", "track"]
        .into_iter()
        .map(|s| (s, f.events.iter().filter(|e| source(e) == Some(s)).map(label).collect()))
        .collect()
}

/// The whole timeline's labels, one per line, for a failure message.
fn labels(f: &Finished) -> String {
    f.events.iter().map(label).collect::<Vec<_>>().join("\n")
}

/// The verdict of a join: exit code, ever connected, how many streams it received, whether it
/// heard the partner's 440 Hz, the peers it did not hear.
fn verdict(f: &Finished) -> (i32, Value, usize, bool, Value) {
    let s = f.summary();
    (f.code, s["ever_connected"].clone(), f.heard().len(), f.heard_freq(440.0), s["unheard_peers"].clone())
}

#[test]
fn the_built_in_protocol_as_a_dialect_file_gives_the_same_timeline() {
    let serve = Serve::start(&[]);
    // Each subject in its own room with a native partner that joined first and stays longer:
    // the subject sees the partner in joined_room and never sees it join or leave.
    let partners: Vec<_> = ["native", "dialect"]
        .into_iter()
        .map(|room| join_with(&serve.url, room, 440, 8.0, &["--no-playback"]))
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while serve.stats()["publishers"].as_array().map_or(0, Vec::len) < 2 {
        assert!(std::time::Instant::now() < deadline, "partners not publishing: {}", serve.stats());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (url, url2) = (serve.url.clone(), serve.url.clone());
    let native = std::thread::spawn(move || join_peer(None, &url, "native", 4.0));
    let dialect = std::thread::spawn(move || join_dialect(BUILT_IN_AS_FILE, &url2, "dialect", 4.0));
    let (native, dialect) = (native.join().unwrap(), dialect.join().unwrap());
    for p in partners {
        let p = finish(p);
        assert_eq!(p.code, 0, "partner: {}", p.stderr);
        assert!(p.heard_freq(660.0), "the partner hears its subject: {:?}", p.heard());
    }
    assert_eq!(native.code, 0, "{}", native.stderr);
    assert_eq!(
        verdict(&native),
        (0, Value::Bool(true), 1, true, serde_json::json!([])),
        "{:?}",
        native.heard()
    );
    assert_eq!(verdict(&dialect), verdict(&native), "{}", dialect.stderr);
    let (n, d) = (by_source(&native), by_source(&dialect));
    for ((source, n), (_, d)) in n.iter().zip(&d) {
        assert_eq!(
            d,
            n,
            "{source} events differ: dialect file vs built-in\n{}\n--- vs ---\n{}",
            labels(&dialect),
            labels(&native)
        );
    }
    // Nothing slipped past the filter unnoticed: the comparison covered the protocol.
    assert!(
        n[0].1.contains(&"signal:sent:offer".to_owned())
            && n[0].1.contains(&"signal:received:answer".to_owned())
    );
    assert!(native.events_named("signal_rejected").is_empty());
}

/// `join --signal PATH` with a dialect file that cannot be used: (exit code, stderr).
fn refused(path: &Path) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["join", "room1", "--signal"])
        .arg(path)
        .args(["--server", "ws://127.0.0.1:9", "--no-playback", "--duration", "1"])
        .output()
        .expect("run join");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_malformed_dialect_file_is_refused_naming_its_line_and_key() {
    let example = std::fs::read_to_string(Path::new(REPO).join(EXAMPLE_APP)).unwrap();
    let line_of = |text: &str, needle: &str| {
        text.lines().position(|l| l == needle).unwrap_or_else(|| panic!("{needle:?} in the example")) + 1
    };
    let dir = tempfile::tempdir().unwrap();
    // (what is broken, into what; the key named; what the message says)
    let cases = [
        ("sdp = \"/body/text\"", "sdp = \"body/text\"", "receive.offer.sdp", "not a JSON pointer"),
        (
            "sdp_mline_index = \"/idx\"",
            "sdp_mlineindex = \"/idx\"",
            "receive.candidate.sdp_mlineindex",
            "unknown field",
        ),
        ("every_s = 10", "every_s = ", "every_s", "quoted"),
        ("c = \"{candidate}\"", "c = \"{cand}\"", "send.candidate", "unknown placeholder {cand}"),
    ];
    for (i, (from, to, key, says)) in cases.into_iter().enumerate() {
        assert_eq!(example.matches(from).count(), 1, "{from:?} once in the example");
        let text = example.replace(from, to);
        // A template is named at its table's header; every other key at its own line.
        let line =
            if key == "send.candidate" { line_of(&text, "[send.candidate]") } else { line_of(&text, to) };
        let path = dir.path().join(format!("broken-{i}.toml"));
        std::fs::write(&path, &text).unwrap();
        let (code, err) = refused(&path);
        assert_eq!(code, Some(2), "{to:?}: {err}");
        assert!(err.contains(&format!("line {line}, key `{key}`")), "{to:?} on line {line}: {err}");
        assert!(err.contains(says) && err.contains(path.to_str().unwrap()), "{to:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_dialect_file_that_does_not_exist_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-app.toml");
    let (code, err) = refused(&path);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("dialect file {}", path.display())), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
