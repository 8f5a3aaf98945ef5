//! `rtc-assist load` against `serve` and against the aiortc double: every peer connects, the
//! server's forwarding counters and the receivers' RTP counts agree, failures are named by
//! phase, `--pass` thresholds decide the exit code.

use std::process::Command;

use serde_json::Value;

use crate::common::certs::Pki;
use crate::common::interop::{InteropServer, WhipDouble};
use crate::common::{BIN, Serve};

/// `load URL ARGS… --json`, ready to run.
fn load_cmd(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["load", url, "--json"]).args(args);
    cmd
}

/// What a finished `load --json` printed: (exit code, the lines before the summary, the
/// summary, stdout + stderr).
fn parse(out: std::process::Output) -> (i32, Vec<Value>, Value, String) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<Value> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("load --json line is not JSON ({e}): {l}"))
        })
        .collect();
    let summary = lines.pop().unwrap_or(Value::Null);
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), lines, summary, all)
}

/// Runs `load URL ARGS… --json`.
fn load(url: &str, args: &[&str]) -> (i32, Vec<Value>, Value, String) {
    parse(load_cmd(url, args).output().expect("run load"))
}

#[test]
fn every_peer_connects_through_serve_and_clients_receive_what_it_forwarded() {
    let serve = Serve::start(&[]);
    let (code, samples, s, err) =
        load(&serve.url, &["--rooms", "2", "--peers", "3", "--duration", "6", "--rate", "20"]);
    assert_eq!(code, 0, "{s}\n{err}");
    assert_eq!(s["event"], "summary");
    assert_eq!(
        (s["peers"].as_u64(), s["connected"].as_u64(), s["failed"].as_u64()),
        (Some(6), Some(6), Some(0)),
        "{s}"
    );
    assert!(samples.iter().any(|l| l["event"] == "sample"), "one sample a second");
    for phase in ["websocket_open", "joined", "answer", "ice_connected", "connected", "first_rtp"] {
        assert!(s["phases_ms"][phase]["p50"].is_number(), "{phase}: {s}");
    }
    // 2 rooms × 3 peers each hearing 2 others at 50 packets a second.
    let pps = s["server"]["forwarded_pps"].as_f64().expect("serve has /stats");
    assert!((pps - 600.0).abs() < 120.0, "forwarded {pps} pkt/s: {s}");
    assert!(s["server"]["us_per_packet"].as_f64().is_some_and(|us| us > 0.0), "{s}");
    assert!(s["server"]["rss_bytes"].as_u64().is_some_and(|b| b > 1 << 20), "{s}");
    let d = &s["delivery"];
    let (fwd, got) = (d["forwarded"].as_i64().unwrap(), d["received"].as_i64().unwrap());
    assert!(got > 0 && (fwd - got).abs() <= fwd / 20 + 20, "forwarded {fwd}, received {got}");
    assert!(s["loss_pct"]["p95"].as_f64().is_some_and(|l| l < 2.0), "{s}");
}

#[test]
fn failures_are_named_by_phase_and_pass_thresholds_decide_the_exit() {
    // Two sessions at most: the third and fourth peer get 503 at the upgrade.
    let serve = Serve::start(&["--max-sessions", "2"]);
    let args = ["--rooms", "1", "--peers", "4", "--duration", "3", "--warmup", "1", "--rate", "20"];
    let (code, _, s, _) = load(&serve.url, &args);
    assert_eq!(code, 1, "a failed peer fails the run: {s}");
    assert_eq!((s["connected"].as_u64(), s["failed"].as_u64()), (Some(2), Some(2)), "{s}");
    assert_eq!(s["failures"]["websocket"], 2, "{s}");
    let reason = s["failure_reasons"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("503"), "{reason}");
    drop(serve);
    let serve = Serve::start(&["--max-sessions", "2"]);
    let (code, _, s, _) = load(&serve.url, &[&args[..], &["--pass", "failed<=50%,connect_p99<30s"]].concat());
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["pass"].as_array().map(Vec::len), Some(2), "{s}");
    let (code, _, s, _) = load(&serve.url, &[&args[..], &["--pass", "connect_p99<0.001ms"]].concat());
    assert_eq!(code, 1, "{s}");
    assert_eq!(s["pass"][0]["passed"], false);
}

#[test]
fn load_works_against_the_aiortc_server_which_has_no_stats() {
    let double = InteropServer::start(None, None);
    let (code, _, s, err) =
        load(&double.url, &["--rooms", "1", "--peers", "2", "--duration", "4", "--rate", "20"]);
    assert_eq!(code, 0, "{s}\n{err}\n{}", double.logs());
    assert_eq!((s["connected"].as_u64(), s["failed"].as_u64()), (Some(2), Some(0)), "{s}");
    assert!(s["server"].is_null(), "no /stats there: {s}");
    assert!(s["packets_received"].as_u64().is_some_and(|p| p > 50), "the peers heard each other: {s}");
}

#[test]
fn load_publishes_through_an_independent_whip_server_and_views_through_serves_whep() {
    // Four WHIP publishers into the aiortc WHIP double: each POST answered, each connected.
    let double = WhipDouble::start(&[]);
    let url = format!("{}/whip/load", double.base);
    let (code, _, s, err) = load(&url, &["--signal", "whip", "--peers", "4", "--duration", "3", "--warmup", "1", "--rate", "20"]);
    assert_eq!(code, 0, "{s}\n{err}\n{}", double.logs());
    assert_eq!((s["connected"].as_u64(), s["failed"].as_u64()), (Some(4), Some(0)), "{s}");
    assert!(s["packets_sent"].as_u64().is_some_and(|p| p > 4 * 50), "{s}");
    assert!(s["phases_ms"]["joined"]["p50"].is_null(), "no rooms, no join: {s}");
    assert!(s["phases_ms"]["websocket_open"]["p50"].is_number(), "the endpoint answered: {s}");
    // Three WHEP viewers of a room on serve where a WHIP publisher sends a tone: each hears it.
    let serve = Serve::start(&[]);
    let base = format!("http://{}", serve.http);
    let publisher = Command::new(BIN)
        .args(["join", "--signal", "whip", "--server", &format!("{base}/whip/show"), "--source", "tone:440"])
        .args(["--duration", "9", "--no-playback", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the WHIP publisher");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (code, _, s, err) = load(
        &format!("{base}/whep/show"),
        &["--signal", "whep", "--peers", "3", "--duration", "4", "--warmup", "1", "--rate", "20", "--stats-url", &format!("{base}/stats")],
    );
    let _ = crate::common::finish(publisher);
    assert_eq!(code, 0, "{s}\n{err}");
    assert_eq!((s["connected"].as_u64(), s["failed"].as_u64()), (Some(3), Some(0)), "{s}");
    assert_eq!(s["packets_sent"].as_u64(), Some(0), "viewers send nothing: {s}");
    assert!(s["packets_received"].as_u64().is_some_and(|p| p > 3 * 100), "each viewer heard the publisher: {s}");
}

#[test]
fn impossible_runs_are_usage_errors() {
    for args in [
        vec!["--rooms", "10", "--peers", "60"],
        vec!["--peers", "2", "--publishers", "3"],
        vec!["--duration", "2", "--warmup", "2"],
        vec!["--rooms", "1", "--shard", "2/2"],
        vec!["--pass", "latency<5"],
        vec!["--signal", "whip"],
        vec!["--signal", "janus-echotest", "--rooms", "2"],
        vec!["--signal", "janus-echotest", "--room", "1234"],
        vec!["--signal", "janus-audiobridge", "--room", "1234", "--rooms", "3"],
        vec!["--signal", "no-such.toml"],
    ] {
        let out = Command::new(BIN).args(["load", "ws://127.0.0.1:9/ws"]).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn load_over_wss_with_a_room_token_reads_stats_over_https_and_never_prints_the_token() {
    let secret = "load-test-secret-0123456789abcdef";
    let pki = Pki::new();
    let cert = pki.server("srv", &["localhost", "127.0.0.1"]);
    let serve = Serve::start_with_env(&cert.serve_args(), &[("RTC_ASSIST_TOKEN_SECRET", secret)]);
    let url = serve.url.replace("127.0.0.1", "localhost");
    let minted = Command::new(BIN)
        .args(["token", "--room", "*", "--ttl", "300"])
        .env("RTC_ASSIST_TOKEN_SECRET", secret)
        .output()
        .unwrap();
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let ca = pki.ca();
    let args = ["--rooms", "1", "--peers", "2", "--rate", "20", "--ca", &ca];
    let run =
        load_cmd(&url, &[&args[..], &["--duration", "4"]].concat()).env("RTC_ASSIST_TOKEN", &token).output();
    let (code, _, s, all) = parse(run.unwrap());
    assert_eq!(code, 0, "{all}");
    assert!(!all.contains(&token) && !all.contains(secret), "a secret in the output: {all}");
    assert_eq!(s["connected"], 2, "{s}");
    assert!(s["server"]["forwarded_pps"].as_f64().is_some_and(|p| p > 50.0), "/stats over https: {s}");
    // Without the token every peer is refused at the upgrade, and the run says so.
    let short = [&args[..], &["--duration", "2", "--warmup", "0"]].concat();
    let (code, _, s, _) = parse(load_cmd(&url, &short).env_remove("RTC_ASSIST_TOKEN").output().unwrap());
    assert_eq!(code, 1);
    assert_eq!(s["failures"]["websocket"], 2, "{s}");
    assert!(s["failure_reasons"][0]["reason"].as_str().unwrap_or_default().contains("401"), "{s}");
}

#[test]
fn every_receiver_gets_exactly_what_the_server_forwarded_to_it() {
    let serve = Serve::start(&[]);
    let (code, lines, s, err) =
        load(&serve.url, &["--rooms", "1", "--peers", "8", "--duration", "8", "--rate", "20"]);
    assert_eq!(code, 0, "{s}\n{err}");
    let peers: Vec<&Value> = lines.iter().filter(|l| l["event"] == "peer").collect();
    assert_eq!(peers.len(), 8, "one line per peer");
    for p in peers {
        assert_eq!(p["streams"], 7, "{p}");
        // No gap, nothing twice, and as many distinct packets as the server forwarded to it:
        // its sequence set is exactly what was forwarded.
        assert_eq!((p["lost"].as_u64(), p["duplicates"].as_u64()), (Some(0), Some(0)), "{p}");
        assert_eq!(p["received"], p["server_forwarded"], "{p}");
        assert!(p["received"].as_u64().is_some_and(|n| n > 0), "{p}");
    }
    let d = &s["delivery"];
    let sums = ["peers_short", "packets_short", "packets_extra", "packets_lost", "duplicates"];
    assert!(sums.iter().all(|k| d[k] == 0), "{s}");
}
