//! Signaling over TLS: `serve --tls-cert/--tls-key` with certificates from a private CA made at
//! test time; `join` and `probe` over `wss://` with `--ca`, and every TLS failure named in one
//! line with the right exit code (probe 2, join 1, a bad file 2), never a panic.

use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::certs::Pki;
use crate::common::{BIN, Serve, finish, join_with};

/// Runs the binary; (exit code, stdout + stderr).
fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().expect("run rtc-assist");
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("panicked"), "{all}");
    (out.status.code().unwrap_or(-1), all)
}

/// The `error:` line a failed command printed.
fn error_line(all: &str) -> &str {
    let errors: Vec<&str> = all.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {all}");
    errors[0]
}

/// `wss://localhost:PORT/ws` of a TLS serve (its banner names 127.0.0.1).
fn localhost(serve: &Serve) -> String {
    serve.url.replace("127.0.0.1", "localhost")
}

#[test]
fn two_join_peers_hear_each_other_over_wss_with_a_private_ca() {
    let pki = Pki::new();
    let cert = pki.server("srv", &["localhost", "127.0.0.1"]);
    let serve = Serve::start(&cert.serve_args());
    assert!(serve.url.starts_with("wss://"), "{}", serve.url);
    let url = localhost(&serve);
    let ca = pki.ca();
    let extra = ["--ca", &ca, "--no-playback"];
    let a = join_with(&url, "tls", 440, 4.0, &extra);
    std::thread::sleep(Duration::from_millis(500));
    let b = join_with(&url, "tls", 660, 4.0, &extra);
    let (a, b) = (finish(a), finish(b));
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert!(a.heard_freq(660.0) && b.heard_freq(440.0), "{:?} {:?}", a.heard(), b.heard());
}

#[test]
fn probe_over_wss_is_healthy_with_the_ca_and_names_the_untrusted_certificate_without() {
    let pki = Pki::new();
    let cert = pki.server("srv", &["localhost", "127.0.0.1"]);
    let serve = Serve::start(&cert.serve_args());
    let url = localhost(&serve);
    let (code, all) = run(&["probe", &url, "--ca", &pki.ca()]);
    assert_eq!(code, 0, "{all}");
    assert!(all.contains("healthy"), "{all}");
    let (code, all) = run(&["probe", &url]);
    assert_eq!(code, 2, "{all}");
    let line = error_line(&all);
    assert!(
        line.contains("certificate of localhost is not trusted (unknown issuer); pass --ca FILE"),
        "{line}"
    );
    // join: a connection failure, so exit 1 with the same cause in its timeline.
    let (code, all) =
        run(&["join", "r", "--server", &url, "--source", "tone:440", "--duration", "2", "--no-playback"]);
    assert_eq!(code, 1, "{all}");
    assert!(all.contains("not trusted (unknown issuer)"), "{all}");
}

#[test]
fn a_certificate_for_another_name_is_named() {
    let pki = Pki::new();
    let cert = pki.server("other", &["otherhost"]);
    let serve = Serve::start(&cert.serve_args());
    let (code, all) = run(&["probe", &localhost(&serve), "--ca", &pki.ca()]);
    assert_eq!(code, 2, "{all}");
    let line = error_line(&all);
    assert!(line.contains("not valid for localhost (it names otherhost)"), "{line}");
}

#[test]
fn an_expired_certificate_is_named() {
    let pki = Pki::new();
    let cert = pki.expired("old");
    let serve = Serve::start(&cert.serve_args());
    let (code, all) = run(&["probe", &localhost(&serve), "--ca", &pki.ca()]);
    assert_eq!(code, 2, "{all}");
    let line = error_line(&all);
    assert!(line.contains("certificate of localhost has expired"), "{line}");
}

#[test]
fn the_page_and_stats_are_served_over_https() {
    let pki = Pki::new();
    let cert = pki.server("srv", &["localhost", "127.0.0.1"]);
    let serve = Serve::start(&cert.serve_args());
    let base = format!("https://{}", serve.http.replace("127.0.0.1", "localhost"));
    let curl = |path: &str| {
        let out = Command::new("curl")
            .args(["-sf", "--max-time", "10", "--cacert", &pki.ca(), &format!("{base}{path}")])
            .output()
            .expect("curl");
        assert!(out.status.success(), "curl {path}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(curl("/").to_lowercase().contains("<html"));
    let stats: serde_json::Value = serde_json::from_str(&curl("/stats")).unwrap();
    assert_eq!(stats["sessions"], 0, "{stats}");
}

#[test]
fn tls_against_plain_and_plain_against_tls_fail_with_one_clear_line() {
    let pki = Pki::new();
    let cert = pki.server("srv", &["localhost", "127.0.0.1"]);
    let tls = Serve::start(&cert.serve_args());
    let plain = Serve::start(&[]);
    let wss_to_plain = plain.url.replace("ws://", "wss://");
    let (code, all) = run(&["probe", &wss_to_plain, "--ca", &pki.ca()]);
    assert_eq!(code, 2, "{all}");
    assert!(error_line(&all).contains("did not answer with TLS"), "{all}");
    let ws_to_tls = tls.url.replace("wss://", "ws://");
    let (code, all) = run(&["probe", &ws_to_tls]);
    assert_eq!(code, 2, "{all}");
    assert!(error_line(&all).contains("try wss://"), "{all}");
    // Both servers still serve after the wrong-protocol clients.
    let (code, all) = run(&["probe", &tls.url, "--ca", &pki.ca()]);
    assert_eq!(code, 0, "{all}");
}

#[test]
fn a_server_that_never_answers_the_tls_handshake_is_a_named_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://{}/ws", listener.local_addr().unwrap());
    let hold = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    });
    let started = Instant::now();
    let (code, all) = run(&["probe", &url]);
    assert_eq!(code, 2, "{all}");
    assert!(error_line(&all).contains("no TLS handshake within 10 s"), "{all}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    drop(hold);
}

#[test]
fn bad_ca_and_certificate_files_are_usage_errors() {
    let pki = Pki::new();
    let missing = pki.path("missing.pem");
    let not_pem = pki.path("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for (file, says) in [(&missing, "No such file"), (&not_pem, "no PEM certificate")] {
        for args in [
            vec!["probe", "wss://localhost:9/ws", "--ca", file],
            vec!["join", "r", "--server", "wss://localhost:9/ws", "--ca", file, "--source", "tone:440"],
        ] {
            let (code, all) = run(&args);
            assert_eq!(code, 2, "{args:?}: {all}");
            let line = error_line(&all);
            assert!(line.contains("--ca") && line.contains(says), "{line}");
        }
    }
    let cert = pki.server("srv", &["localhost"]);
    let other = pki.server("other", &["localhost"]);
    for (args, says) in [
        (vec!["--tls-cert", &cert.cert, "--tls-key", &missing], "--tls-key"),
        (vec!["--tls-cert", &not_pem, "--tls-key", &cert.key], "no PEM certificate"),
        (vec!["--tls-cert", &cert.cert, "--tls-key", &other.key], "is not the key of"),
    ] {
        let mut full = vec!["serve", "--listen", "127.0.0.1:0"];
        full.extend(args);
        let (code, all) = run(&full);
        assert_eq!(code, 2, "{all}");
        assert!(error_line(&all).contains(says), "{all}");
    }
    let (code, all) = run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", &cert.cert]);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("--tls-key"), "{all}");
}
