use assert_cmd::Command;

use crate::common::BIN;

fn rtc() -> Command {
    Command::new(BIN)
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for args in [
        vec!["join"],
        vec!["join", "r", "--source", "tone:abc"],
        vec!["join", "r", "--source", "tone:99999"],
        vec!["join", "r", "--server", "http://127.0.0.1:1/ws"],
        vec!["join", "r", "--duration", "-3"],
        vec!["join", ""],
        vec!["join", "r", "--bitrate", "100"],
        vec!["join", "r", "--bitrate", "99999999999"],
        vec!["join", "r", "--record-mix"],
        vec!["join", "r", "--no-playback", "--output-device", "x"],
        vec!["join", "r", "--source", "mic:usb"],
        vec!["join", "r", "--input-format", "pcm"],
        vec!["join", "r", "--input-rate", "0"],
        vec!["join", "r", "--input-channels", "0"],
        vec!["devices", "--seconds", "3"],
        vec!["devices", "--check-input", "--seconds", "NaN"],
        vec!["serve", "--listen", "not-an-address"],
        vec!["serve", "--max-sessions", "0"],
        vec!["serve", "--max-sessions", "-1"],
        vec!["frobnicate"],
    ] {
        let out = rtc().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} explains itself");
    }
}

#[test]
fn an_unreachable_server_is_a_connection_failure_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = rtc()
        .args(["join", "r", "--server", &format!("ws://127.0.0.1:{port}/ws"), "--duration", "2", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cannot connect"), "{stdout}");
    assert!(
        stdout.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "NDJSON only: {stdout}"
    );
}

#[test]
fn a_busy_listen_address_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = rtc().args(["serve", "--listen", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
}

#[test]
fn help_lists_every_subcommand() {
    let out = rtc().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["serve", "join", "demo"] {
        assert!(text.contains(sub), "{text}");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = rtc().args(["completions", shell]).output().unwrap();
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && script.contains("analyze") && script.contains("peer"), "{shell}");
    }
    rtc().args(["completions", "tcsh"]).assert().code(2);
    let out = rtc().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && page.starts_with(".ie")
            && page.contains("rtc\\-assist")
            && page.contains("analyze"),
        "{page}"
    );
}
