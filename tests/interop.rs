//! rtc-assist against a stack it did not write: the aiortc double of the guide's server and
//! browser client (tests/interop/). `probe` names each fault of the double exactly (and nothing
//! when it is healthy), `join` peers hear each other through it, and the double's clients —
//! which never answer a server offer — hear each other through `serve`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::interop::{InteropServer, client_heard, spawn_client};
use crate::common::{BIN, Serve, finish, join};

fn probe_codes(url: &str) -> (i32, Vec<String>, String) {
    let out = Command::new(BIN).args(["probe", url, "--json"]).output().expect("run probe");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("probe --json is JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let codes = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    (out.status.code().unwrap_or(-1), codes, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn probe_names_each_fault_of_the_aiortc_server_exactly_and_nothing_when_healthy() {
    let mut wrong = Vec::new();
    for fault in [
        None,
        Some("F1"),
        Some("F2"),
        Some("F3-prefix"),
        Some("F3-nested"),
        Some("F3-null"),
        Some("F4"),
        Some("F5"),
        Some("F7"),
    ] {
        let server = InteropServer::start(fault, None);
        let (code, codes, stderr) = probe_codes(&server.url);
        let want: Vec<String> = fault.map(str::to_owned).into_iter().collect();
        let want_code = if fault.is_some() { 1 } else { 0 };
        if codes != want || code != want_code {
            wrong.push(format!("{fault:?}: exit {code}, findings {codes:?}\n{stderr}\n{}", server.logs()));
        }
    }
    assert!(wrong.is_empty(), "probe against the aiortc double:\n{}", wrong.join("\n"));
}

#[test]
fn two_join_peers_hear_each_other_through_the_aiortc_server() {
    let server = InteropServer::start(None, None);
    let a = join(&server.url, "duo", 440, 6.0);
    std::thread::sleep(Duration::from_millis(500));
    let b = join(&server.url, "duo", 660, 5.0);
    let (a, b) = (finish(a), finish(b));
    for (name, peer, want) in [("a", &a, 660.0), ("b", &b, 440.0)] {
        assert_eq!(peer.code, 0, "{name} --expect-audio through aiortc: {}\n{}", peer.stderr, server.logs());
        assert!(peer.heard_freq(want), "{name} heard {:?}", peer.heard());
        // aiortc names streams with random ids: the stream is unattributed, and still counts.
        assert!(peer.heard().iter().all(|(from, _, _)| from.is_none()), "{name}: {:?}", peer.heard());
    }
}

/// The guide's browser client has no handler for a server `offer`: through `serve` it must
/// still hear the other peer, whichever way it offers.
#[test]
fn clients_that_never_answer_server_offers_hear_each_other_through_serve() {
    for trickle in [false, true] {
        let serve = Serve::start(&[]);
        let a = spawn_client(&serve.url, "guide", 440.0, 5.0, trickle, None);
        std::thread::sleep(Duration::from_millis(700));
        let b = spawn_client(&serve.url, "guide", 660.0, 4.0, trickle, None);
        let (a, b) = (a.finish(), b.finish());
        for (name, report, want) in [("a", &a, 660.0), ("b", &b, 440.0)] {
            assert_eq!(report["connected"], true, "trickle={trickle} {name}: {report}");
            assert!(client_heard(report, want), "trickle={trickle} {name} should hear {want} Hz: {report}");
            assert_eq!(report["errors"].as_array().map_or(0, Vec::len), 0, "{name}: {report}");
        }
    }
}

/// A third peer's audio needs a renegotiation offer; a client that ignores it is counted.
#[test]
fn an_offer_left_unanswered_is_counted_and_the_client_keeps_its_own_transceiver() {
    let serve = Serve::start(&[]);
    let a = spawn_client(&serve.url, "trio", 440.0, 9.0, false, None);
    std::thread::sleep(Duration::from_millis(700));
    let b = spawn_client(&serve.url, "trio", 660.0, 8.0, false, None);
    std::thread::sleep(Duration::from_millis(700));
    let c = spawn_client(&serve.url, "trio", 880.0, 7.0, false, None);
    let (a, b, c) = (a.finish(), b.finish(), c.finish());
    for (name, report) in [("a", &a), ("b", &b), ("c", &c)] {
        let heard = [440.0, 660.0, 880.0].iter().filter(|hz| client_heard(report, **hz)).count();
        assert!(heard >= 1, "{name} hears one peer on its own transceiver: {report}");
    }
    assert!(a["server_offers_ignored"].as_u64().unwrap_or(0) >= 1, "a was offered c's audio: {a}");
    let stats = serve.stats();
    assert!(stats["unanswered_offers"].as_u64().unwrap_or(0) >= 1, "{stats}");
}

/// wss:// against a server that is not ours: the aiortc double behind TLS with a private CA.
#[test]
fn probe_and_join_reach_the_aiortc_server_over_wss_with_a_private_ca() {
    let pki = crate::common::certs::Pki::new();
    let cert = pki.server("double", &["localhost", "127.0.0.1"]);
    let server = InteropServer::start(None, Some((Path::new(&cert.cert), Path::new(&cert.key))));
    assert!(server.url.starts_with("wss://localhost:"), "{}", server.url);
    let out = Command::new(BIN).args(["probe", &server.url, "--ca", &pki.ca()]).output().expect("probe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("healthy"), "{text}");
    let join = Command::new(BIN)
        .args(["join", "tls", "--server", &server.url, "--ca", &pki.ca(), "--source", "tone:440"])
        .args(["--duration", "3", "--no-playback", "--json"])
        .output()
        .expect("join");
    assert_eq!(join.status.code(), Some(0), "{}", String::from_utf8_lossy(&join.stderr));
    // Without the CA the certificate is named and the probe could not run.
    let out = Command::new(BIN).args(["probe", &server.url]).output().expect("probe");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not trusted"), "{err}");
}
