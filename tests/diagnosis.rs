use std::process::Command;

use serde_json::Value;

use crate::common::{BIN, Serve};

fn probe(url: &str) -> (i32, Value) {
    let out = Command::new(BIN).args(["probe", url, "--json"]).output().expect("probe runs");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("probe JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), report)
}

fn codes(report: &Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_healthy_server_gets_a_clean_bill() {
    let serve = Serve::start(&[]);
    let (code, report) = probe(&serve.url);
    assert_eq!(codes(&report), Vec::<String>::new(), "{report}");
    assert_eq!(code, 0);
    assert_eq!(report["healthy"], true);
}

#[test]
fn each_fault_switch_is_diagnosed_as_exactly_itself() {
    for fault in ["F1", "F2", "F3-prefix", "F3-nested", "F3-null", "F4", "F5", "F7"] {
        let serve = Serve::start(&["--fault", fault]);
        let (code, report) = probe(&serve.url);
        assert_eq!(codes(&report), vec![fault.to_owned()], "serve --fault {fault}: {report}");
        assert_eq!(code, 1, "{fault}");
        let finding = &report["findings"][0];
        assert!(!finding["evidence"].as_array().unwrap().is_empty() && finding["fix"].is_string());
    }
}

#[test]
fn static_turn_credentials_are_f8() {
    let serve = Serve::start(&[
        "--turn",
        "--turn-listen",
        "127.0.0.1:0",
        "--turn-allow-internal-peers",
        "--fault",
        "F8",
    ]);
    let (code, report) = probe(&serve.url);
    assert_eq!(codes(&report), vec!["F8".to_owned()], "{report}");
    assert_eq!(code, 1);
}

#[test]
fn an_unreachable_server_means_the_probe_could_not_run() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new(BIN).args(["probe", &format!("ws://127.0.0.1:{port}/ws")]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not run"));
}
