//! `join` and `probe --signal janus-echotest|janus-audiobridge|janus-videoroom` against Debian's
//! real Janus Gateway (started per test by `common::janus`): the echotest echoes our tone back
//! with every request and its answer in the timeline, two audiobridge peers hear each other
//! through the mix, a videoroom publisher is announced to the room, a missing room and a wrong
//! `nat_1_1_mapping` are named by `probe`, and a URL that is not Janus is one error line.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::common::janus::{Janus, JanusOptions};
use crate::common::{BIN, Finished, Serve, finish};

/// `join [ROOM] --signal SIGNAL --server URL --source tone:HZ --duration SECS --json
/// --no-playback --bind IP` plus `extra`, started (not waited for).
fn spawn_join(
    url: &str,
    bind: &str,
    signal: &str,
    room: Option<&str>,
    hz: u32,
    secs: f64,
    extra: &[&str],
) -> std::process::Child {
    Command::new(BIN)
        .arg("join")
        .args(room)
        .args(["--signal", signal, "--server", url, "--bind", bind])
        .args(["--source", &format!("tone:{hz}"), "--duration", &secs.to_string()])
        .args(["--json", "--no-playback"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn join --signal janus-…")
}

/// [`spawn_join`] against `janus`, waited for.
fn join(janus: &Janus, signal: &str, room: Option<&str>, hz: u32, secs: f64, extra: &[&str]) -> Finished {
    finish(spawn_join(&janus.url(), janus.ice_ip(), signal, room, hz, secs, extra))
}

/// `probe --signal SIGNAL URL --bind IP --json` plus `extra`: (exit code, the report, stderr).
fn probe(url: &str, bind: &str, signal: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = Command::new(BIN)
        .args(["probe", "--signal", signal, url, "--bind", bind, "--json"])
        .args(extra)
        .output()
        .expect("run probe");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("probe --json ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), doc, stderr)
}

/// The report's findings with `code`.
fn findings<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["code"] == code).collect())
        .unwrap_or_default()
}

/// The `janus` steps of a timeline that went `direction` (`sent` or `received`) with verb `janus`.
fn steps<'a>(f: &'a Finished, direction: &str, janus: &str) -> Vec<&'a Value> {
    f.events_named("janus")
        .into_iter()
        .filter(|e| e["direction"] == direction && e["janus"] == janus)
        .collect()
}

/// The one sent step with verb `janus` (its transaction is what the answer must carry).
fn sent_once<'a>(f: &'a Finished, janus: &str) -> &'a Value {
    let sent = steps(f, "sent", janus);
    assert_eq!(sent.len(), 1, "one {janus} sent: {sent:?}");
    sent[0]
}

/// The received steps answering `request` (the same transaction), acks included.
fn answers<'a>(f: &'a Finished, request: &Value) -> Vec<&'a Value> {
    let t = request["transaction"].as_str().expect("a request has a transaction");
    f.events_named("janus")
        .into_iter()
        .filter(|e| e["direction"] == "received" && e["transaction"] == t)
        .collect()
}

/// Asserts `request` was answered with `success`, with the time it took.
fn answered_with_success(f: &Finished, request: &Value) {
    let a = answers(f, request);
    assert!(
        a.iter().any(|r| r["janus"] == "success" && r["elapsed_ms"].is_u64()),
        "{request} answered {a:?}"
    );
}

fn all_output(f: &Finished) -> String {
    let text: Vec<String> = f.events.iter().map(Value::to_string).collect();
    format!("{}\n{}", text.join("\n"), f.stderr)
}

#[test]
fn the_echotest_echoes_our_tone_and_every_request_is_in_the_timeline() {
    let janus = Janus::start();
    let f = join(&janus, "janus-echotest", None, 440, 4.0, &[]);
    assert_eq!(f.code, 0, "{}\n{}", all_output(&f), janus.log());
    assert_eq!(f.summary()["ever_connected"], true, "{}", f.summary());
    assert!(f.heard_freq(440.0), "our own tone came back: {:?}", f.heard());

    // Session and handle: create and attach, each answered by `success` in measured time.
    let create = sent_once(&f, "create");
    answered_with_success(&f, create);
    let attach = sent_once(&f, "attach");
    answered_with_success(&f, attach);

    // The offer goes in a plugin message; the answer is an event with the same transaction.
    let offers: Vec<&Value> =
        steps(&f, "sent", "message").into_iter().filter(|m| m["jsep"] == "offer").collect();
    assert_eq!(offers.len(), 1, "{offers:?}");
    let answer: Vec<&Value> = answers(&f, offers[0])
        .into_iter()
        .filter(|r| r["janus"] == "event" && r["jsep"] == "answer")
        .collect();
    assert_eq!(answer.len(), 1, "the answer to {}: {answer:?}", offers[0]);
    assert_eq!(answer[0]["what"], "echotest: event", "{}", answer[0]);

    // Every reply to one of our requests says how long it took.
    let sent_transactions: Vec<&Value> = f
        .events_named("janus")
        .into_iter()
        .filter(|e| e["direction"] == "sent")
        .map(|e| &e["transaction"])
        .collect();
    for reply in f.events_named("janus").into_iter().filter(|e| e["direction"] == "received") {
        if sent_transactions.contains(&&reply["transaction"]) {
            assert!(reply["elapsed_ms"].is_u64(), "a reply without elapsed_ms: {reply}");
        }
    }
    // Janus' own events (webrtcup, media) carry no transaction.
    assert!(!steps(&f, "received", "webrtcup").is_empty(), "{}", all_output(&f));

    // Hanging up detaches the handle and destroys the session, in that order, both confirmed.
    let detach = sent_once(&f, "detach");
    let destroy = sent_once(&f, "destroy");
    answered_with_success(&f, detach);
    answered_with_success(&f, destroy);
    let at = |step: &Value| f.events.iter().position(|e| e == step).unwrap();
    assert!(at(offers[0]) < at(detach) && at(detach) < at(destroy), "{}", all_output(&f));
    assert_eq!(f.summary()["session_teardown"], "Janus session destroyed", "{}", f.summary());
    // Janus' log: the DTLS handshake with us completed.
    assert!(janus.log().contains("The DTLS handshake has been completed"), "{}", janus.log());
}

#[test]
fn two_audiobridge_peers_hear_each_other_through_the_mix() {
    let janus = Janus::start();
    let (url, ip) = (janus.url(), janus.ice_ip().to_owned());
    let first = spawn_join(&url, &ip, "janus-audiobridge", Some("1234"), 440, 8.0, &["--expect-audio"]);
    std::thread::sleep(Duration::from_millis(1000));
    let second = spawn_join(&url, &ip, "janus-audiobridge", Some("1234"), 660, 6.0, &["--expect-audio"]);
    let (second, first) = (finish(second), finish(first));
    assert_eq!(first.code, 0, "{}\n{}", all_output(&first), janus.log());
    assert_eq!(second.code, 0, "{}\n{}", all_output(&second), janus.log());
    // The mix each one gets is the other's tone.
    assert!(first.heard_freq(660.0), "first heard {:?}", first.heard());
    assert!(second.heard_freq(440.0), "second heard {:?}", second.heard());

    // The second found the first in the room; the first was told of the second exactly once,
    // although Janus named it again in each participant update (setup false, then true).
    let joined = second.events_named("joined_room");
    assert_eq!(joined.len(), 1, "{joined:?}");
    let present: Vec<&str> =
        joined[0]["peers"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(present, [first.my_id().as_str()], "{}", joined[0]);
    let arrivals = first.events_named("peer_joined");
    assert_eq!(arrivals.len(), 1, "{arrivals:?}");
    assert_eq!(arrivals[0]["peer_id"], second.my_id().as_str());
    let left_at = first.events.iter().position(|e| e["event"] == "peer_left").unwrap_or(first.events.len());
    let announcements = first.events[..left_at]
        .iter()
        .filter(|e| {
            e["event"] == "janus"
                && e["direction"] == "received"
                && e["transaction"].is_null()
                && e["what"].as_str().is_some_and(|w| w.starts_with("audiobridge:"))
        })
        .count();
    assert!(announcements >= 2, "Janus repeated the participant: {announcements}\n{}", all_output(&first));
}

#[test]
fn a_room_that_does_not_exist_is_named_by_join_and_probe() {
    let janus = Janus::start();
    // "No such room" is 485 in the audiobridge, 426 in the videoroom.
    for (signal, code) in [("janus-audiobridge", 485), ("janus-videoroom", 426)] {
        let f = join(&janus, signal, Some("9999"), 440, 3.0, &[]);
        assert_eq!(f.code, 1, "{signal}: {}", all_output(&f));
        assert_eq!(f.summary()["ever_connected"], false, "{signal}");
        assert!(all_output(&f).contains("No such room (9999)"), "{signal}: {}", all_output(&f));
        let join_request: Vec<&Value> =
            steps(&f, "sent", "message").into_iter().filter(|m| m["what"] == "join").collect();
        assert_eq!(join_request.len(), 1, "{signal}: {}", all_output(&f));
        let refusal: Vec<&Value> =
            answers(&f, join_request[0]).into_iter().filter(|r| r["code"] == code).collect();
        assert_eq!(refusal.len(), 1, "{signal}: {}", all_output(&f));
        assert_eq!(refusal[0]["reason"], "No such room (9999)", "{signal}");
        assert!(
            f.events_named("error")
                .iter()
                .any(|e| e["message"].as_str().unwrap_or("").contains("No such room (9999)")),
            "{signal}: {}",
            all_output(&f)
        );
        // Nothing was offered to a room we are not in.
        assert!(steps(&f, "sent", "message").iter().all(|m| m["jsep"].is_null()), "{signal}");

        let (rc, report, stderr) = probe(&janus.url(), janus.ice_ip(), signal, &["--room", "9999"]);
        assert_eq!(rc, 1, "{signal}: {report}\n{stderr}");
        assert_eq!(report["connected"], false, "{signal}: {report}");
        let errors = findings(&report, "JANUS-ERROR");
        assert_eq!(errors.len(), 1, "{signal}: {}", report["findings"]);
        let evidence = errors[0]["evidence"].to_string();
        assert!(evidence.contains(&format!("{code} No such room (9999)")), "{signal}: {evidence}");
        assert!(evidence.contains("answering message join"), "{signal}: {evidence}");
        assert!(!stderr.contains("panicked"), "{signal}: {stderr}");
    }
}

#[test]
fn probe_finds_a_healthy_janus_healthy() {
    let janus = Janus::start();
    let (rc, report, stderr) = probe(&janus.url(), janus.ice_ip(), "janus-echotest", &[]);
    assert_eq!(rc, 0, "{}\n{stderr}\n{}", report["findings"], janus.log());
    assert_eq!(report["connected"], true, "{report}");
    assert_eq!(report["findings"], serde_json::json!([]), "{}", report["findings"]);
    assert_eq!(report["signal"], "janus-echotest");
    // It really went through Janus: the session and the answer are in its timeline.
    let timeline = report["timeline"].as_array().expect("a timeline");
    let janus_steps =
        |verb: &str| timeline.iter().filter(|e| e["event"] == "janus" && e["janus"] == verb).count();
    assert!(janus_steps("create") >= 1 && janus_steps("webrtcup") >= 1, "{report}");
}

#[test]
fn a_nat_mapping_to_a_silent_address_is_advertised_silent() {
    // 127.0.0.9 keeps every packet on this machine and nothing listens there: Janus advertises
    // it instead of its own address, the checks to it go unanswered, and the call connects only
    // because Janus' own checks reach us and teach us its real address (peer-reflexive).
    let silent = "127.0.0.9";
    let janus =
        Janus::start_with(JanusOptions { nat_1_1_mapping: Some(silent.into()), ..JanusOptions::default() });
    let (rc, report, stderr) = probe(&janus.url(), janus.ice_ip(), "janus-echotest", &[]);
    assert_eq!(rc, 1, "{}\n{stderr}", report["findings"]);
    assert_eq!(report["connected"], true, "the call itself connects: {report}");
    let timeline = report["timeline"].as_array().expect("a timeline");
    let remote: Vec<&Value> = timeline.iter().filter(|e| e["event"] == "remote_candidate").collect();
    assert!(!remote.is_empty() && remote.iter().all(|c| c["address"] == silent), "{remote:?}");
    let selected = timeline.iter().rev().find(|e| e["event"] == "selected_pair").expect("a selected pair");
    assert_eq!(selected["remote"]["typ"], "prflx", "{selected}");
    assert_eq!(selected["remote"]["address"], janus.ice_ip(), "{selected}");

    let found = findings(&report, "ADVERTISED-SILENT");
    assert_eq!(found.len(), 1, "{}", report["findings"]);
    let evidence: Vec<&str> =
        found[0]["evidence"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let learned = format!("{}:{}", janus.ice_ip(), selected["remote"]["port"]);
    assert!(evidence.iter().any(|e| e.contains(&learned) && e.contains("peer-reflexive")), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.contains(&format!("host udp {silent}:"))), "{evidence:?}");
    // Nothing else is wrong with the call: the echo came back.
    assert!(findings(&report, "ECHO-SILENT").is_empty(), "{}", report["findings"]);
    assert!(janus.log().contains(silent), "Janus took the mapping:\n{}", janus.log());
}

#[test]
fn a_videoroom_publisher_publishes_and_is_announced_to_the_room() {
    let janus = Janus::start();
    let (url, ip) = (janus.url(), janus.ice_ip().to_owned());
    let first = spawn_join(&url, &ip, "janus-videoroom", Some("1234"), 440, 8.0, &[]);
    std::thread::sleep(Duration::from_millis(2000));
    let second = spawn_join(&url, &ip, "janus-videoroom", Some("1234"), 660, 3.0, &[]);
    let (second, first) = (finish(second), finish(first));
    for (name, f) in [("first", &first), ("second", &second)] {
        assert_eq!(f.code, 0, "{name}: {}\n{}", all_output(f), janus.log());
        assert_eq!(f.summary()["ever_connected"], true, "{name}: {}", f.summary());
        assert!(f.summary()["packets_sent"].as_u64().unwrap_or(0) > 50, "{name}: {}", f.summary());
        // Publishing is a configure with our offer, answered with Janus' answer.
        let configure: Vec<&Value> =
            steps(f, "sent", "message").into_iter().filter(|m| m["what"] == "configure").collect();
        assert_eq!(configure.len(), 1, "{name}");
        assert_eq!(configure[0]["jsep"], "offer", "{name}");
        assert!(answers(f, configure[0]).iter().any(|r| r["jsep"] == "answer"), "{name}: {}", all_output(f));
    }
    // The second joined while the first was publishing: Janus listed it among the room's
    // publishers. The first was told of the second once the second's PeerConnection was up,
    // exactly once, and of its leaving once.
    let joined = second.events_named("joined_room");
    assert_eq!(joined.len(), 1, "{joined:?}");
    let present: Vec<&str> =
        joined[0]["peers"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(present, [first.my_id().as_str()], "{}", joined[0]);
    let arrivals = first.events_named("peer_joined");
    assert_eq!(arrivals.len(), 1, "{}", all_output(&first));
    assert_eq!(arrivals[0]["peer_id"], second.my_id().as_str());
    let departures = first.events_named("peer_left");
    assert_eq!(departures.len(), 1, "{}", all_output(&first));
    assert_eq!(departures[0]["peer_id"], second.my_id().as_str());
}

/// A loopback listener that closes every connection at once, counting them, until dropped.
struct Slammer {
    addr: std::net::SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Slammer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let (accepted, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let addr = listener.local_addr().unwrap();
        let (count, done) = (accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        drop(s);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(_) => break,
                }
            }
        });
        Self { addr, accepted, stop }
    }
}

impl Drop for Slammer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn load_runs_many_peers_through_the_audiobridge_and_the_echotest() {
    let janus = Janus::start();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["load", &janus.url(), "--bind", janus.ice_ip(), "--json"])
            .args(["--duration", "4", "--warmup", "1", "--rate", "20"])
            .args(args)
            .output()
            .expect("run load");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let summary: Value = stdout.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
        (out.status.code(), summary, format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    };
    // Three participants of room 1234: each connects and hears the mix of the other two.
    let (code, s, all) = run(&["--signal", "janus-audiobridge", "--room", "1234", "--peers", "3"]);
    assert_eq!(code, Some(0), "{all}\n{}", janus.log());
    assert_eq!((s["connected"].as_u64(), s["failed"].as_u64()), (Some(3), Some(0)), "{s}");
    assert!(s["phases_ms"]["joined"]["p50"].is_number(), "audiobridge peers join: {s}");
    assert!(s["packets_received"].as_u64().is_some_and(|p| p > 3 * 100), "{s}");
    // Four echotest sessions: each hears its own packets back.
    let (code, s, all) = run(&["--signal", "janus-echotest", "--peers", "4"]);
    assert_eq!(code, Some(0), "{all}\n{}", janus.log());
    assert_eq!((s["connected"].as_u64(), s["failed"].as_u64()), (Some(4), Some(0)), "{s}");
    assert!(s["packets_received"].as_u64().is_some_and(|p| p > 4 * 100), "{s}");
    // A room Janus does not have: every peer fails in the join phase, with Janus' reason.
    let (code, s, all) = run(&["--signal", "janus-audiobridge", "--room", "9999", "--peers", "2"]);
    assert_eq!(code, Some(1), "{all}");
    assert_eq!(s["failures"]["join"], 2, "{s}");
    assert!(s.to_string().contains("No such room (9999)"), "{s}");
}

#[test]
fn a_url_that_is_not_janus_is_one_error_and_exit_1() {
    let serve = Serve::start(&[]);
    let slammer = Slammer::start();
    let closing = format!("ws://{}/", slammer.addr);
    // rtc-assist's own server upgrades without Janus' subprotocol; the other closes at once.
    // Which of the two a closed connection is (an EOF or a reset) is up to the kernel's timing.
    let cases: [(&str, &[&str]); 2] = [
        (serve.url.as_str(), &["subprotocol"]),
        (closing.as_str(), &["websocket upgrade", "connection reset"]),
    ];
    for (url, why) in cases {
        let named = |text: &str| why.iter().any(|w| text.to_lowercase().contains(w));
        let f = finish(spawn_join(url, "127.0.0.1", "janus-echotest", None, 440, 3.0, &[]));
        assert_eq!(f.code, 1, "{url}: {}", all_output(&f));
        assert!(!f.stderr.contains("panicked"), "{url}: {}", f.stderr);
        let errors = f.events_named("error");
        assert_eq!(errors.len(), 1, "{url}: {}", all_output(&f));
        let message = errors[0]["message"].as_str().unwrap_or("");
        assert!(!message.contains('\n'), "{url}: one line: {message:?}");
        assert!(message.contains(url), "{url}: the URL is named: {message}");
        assert!(named(message), "{url}: {message}");
        assert_eq!(f.summary()["ever_connected"], false, "{url}");
        assert!(
            f.events_named("janus").iter().all(|s| s["direction"] == "sent"),
            "{url}: {}",
            all_output(&f)
        );

        let (rc, report, stderr) = probe(url, "127.0.0.1", "janus-echotest", &[]);
        assert_eq!(rc, 1, "{url}: {report}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{url}: {stderr}");
        assert_eq!(report["connected"], false, "{url}: {report}");
        assert!(!report["findings"].as_array().unwrap().is_empty(), "{url}: {report}");
        let timeline = report["timeline"].to_string();
        assert!(named(&timeline), "{url}: {timeline}");
    }
    assert!(slammer.accepted.load(Ordering::Relaxed) >= 2, "join and probe both reached the listener");
}
