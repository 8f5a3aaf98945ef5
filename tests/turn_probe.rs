use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::coturn::{Coturn, free_port};
use crate::common::{BIN, Serve};

const PASSWORD: &str = "Zq7-probe-s3cret";
const SECRET: &str = "coturn-shared-9f2";

fn probe(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("probe").args(args).arg("--json").env_remove("RTC_ASSIST_TURN_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("JSON ({e}): {all}"));
    (out.status.code().unwrap_or(-1), v, all)
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["turn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (t["transport"].as_str().unwrap().to_owned(), t["verdict"]["code"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn coturn_relays_on_every_transport_and_wrong_passwords_are_named() {
    let c = Coturn::start(&["--lt-cred-mech", &format!("--user=alice:{PASSWORD}")]);
    let turn = format!("turn:127.0.0.1:{}", c.port);
    let tcp = format!("{turn}?transport=tcp");
    let tls = format!("turns:localhost:{}?transport=tcp", c.tls_port);
    let ca = c.ca();
    let (code, report, all) = probe(
        &["--turn", &turn, "--turn", &tcp, "--turn", &tls, "--turn-ca", &ca, "--username", "alice"],
        &[("RTC_ASSIST_TURN_CREDENTIAL", PASSWORD)],
    );
    assert_eq!(
        verdicts(&report),
        [("udp", "ok"), ("tcp", "ok"), ("tls", "ok")].map(|(a, b)| (a.into(), b.into())),
        "{report}"
    );
    assert_eq!(code, 0);
    for t in report["turn"].as_array().unwrap() {
        assert!(t["relayed"].as_str().unwrap().starts_with("127.0.0.1:"), "{t}");
        let names: Vec<&str> =
            t["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"round trip") && names.contains(&"refresh(0)"), "{names:?}");
    }
    assert!(!all.contains(PASSWORD), "the password leaked");
    // The gathering half: a relay from UDP, and from TCP and TLS through the shim.
    let g = &report["gather"];
    assert!(g["counts"]["relay"].as_u64().unwrap_or(0) >= 3, "{g}");
    let said = g["verdicts"].to_string();
    assert!(said.contains("(over TURN/TCP through rtc-assist's shim)"), "{said}");
    assert!(said.contains("(over TURN/TLS through rtc-assist's shim)"), "{said}");

    let (code, report, all) = probe(
        &["--turn", &turn, "--turn", &tcp, "--username", "alice", "--credential", "wrong-pass-77"],
        &[],
    );
    assert_eq!(
        verdicts(&report),
        [("udp", "wrong-credentials"), ("tcp", "wrong-credentials")].map(|(a, b)| (a.into(), b.into()))
    );
    assert_eq!(code, 1);
    assert!(!all.contains("wrong-pass-77"));

    // Without the private CA the certificate cannot be trusted, and that is what it says.
    let (_, report, _) = probe(&["--turn", &tls, "--username", "alice", "--credential", PASSWORD], &[]);
    let v = &report["turn"][0]["verdict"];
    assert_eq!(v["code"], "tls", "{v}");
    assert!(v["message"].as_str().unwrap().contains("certificate"), "{v}");
}

#[test]
fn coturn_accepts_rest_credentials_and_rejects_expired_ones() {
    let c = Coturn::start(&["--use-auth-secret", &format!("--static-auth-secret={SECRET}")]);
    let turn = format!("turn:127.0.0.1:{}", c.port);
    let (code, report, all) = probe(&["--turn", &turn], &[("RTC_ASSIST_TURN_SECRET", SECRET)]);
    assert_eq!(verdicts(&report), vec![("udp".into(), "ok".into())], "{report}");
    assert_eq!(code, 0);
    assert!(!all.contains(SECRET));
    // A REST username that expired an hour ago, with its otherwise correct password.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let user = format!("{}:alice", now - 3600);
    let pass = rtc_assist::signal::ice_url::rest_password(SECRET, &user);
    let (code, report, _) = probe(&["--turn", &turn, "--username", &user, "--credential", &pass], &[]);
    assert_eq!(verdicts(&report), vec![("udp".into(), "expired-credentials".into())], "{report}");
    assert_eq!(code, 1);
}

#[test]
fn stun_binding_reports_the_mapped_address() {
    let c = Coturn::start(&["--lt-cred-mech", &format!("--user=alice:{PASSWORD}")]);
    let (code, report, _) = probe(&["--stun", &format!("stun:127.0.0.1:{}", c.port)], &[]);
    let s = &report["stun"][0];
    assert_eq!(s["verdict"]["code"], "ok", "{report}");
    assert!(s["mapped"].as_str().unwrap().starts_with("127.0.0.1:"), "{s}");
    assert!(s["rtt_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(code, 0);
    let closed = free_port();
    let (code, report, _) =
        probe(&["--stun", &format!("stun:127.0.0.1:{closed}"), "--step-timeout", "1"], &[]);
    assert_eq!(report["stun"][0]["verdict"]["code"], "timeout", "{report}");
    assert!(report["stun"][0]["retransmissions"].as_u64().unwrap() >= 1);
    assert_eq!(code, 1);
}

#[test]
fn closed_ports_and_tls_against_plain_tcp_get_their_verdicts() {
    let closed = free_port();
    let plain = Serve::start(&[]);
    let plain_port = plain.http.rsplit(':').next().unwrap().to_owned();
    let started = std::time::Instant::now();
    let (code, report, _) = probe(
        &[
            "--turn",
            &format!("turn:127.0.0.1:{closed}?transport=tcp"),
            "--turn",
            &format!("turn:127.0.0.1:{closed}"),
            "--turn",
            &format!("turns:127.0.0.1:{plain_port}?transport=tcp"),
            "--username",
            "u",
            "--credential",
            "c",
            "--step-timeout",
            "2",
        ],
        &[],
    );
    assert_eq!(
        verdicts(&report),
        [("tcp", "refused"), ("udp", "timeout"), ("tls", "tls")].map(|(a, b)| (a.into(), b.into())),
        "{report}"
    );
    assert_eq!(code, 1);
    // TURN URLs run in parallel (each within its step timeout); gathering is bounded too.
    assert!(started.elapsed() < Duration::from_secs(12), "took {:?}", started.elapsed());
}

#[test]
fn our_embedded_turn_server_passes_the_probe() {
    let serve = Serve::start(&[
        "--turn",
        "--turn-listen",
        "127.0.0.1:0",
        "--turn-allow-internal-peers",
        "--turn-secret",
        SECRET,
    ]);
    let url = serve.turn_url.clone().expect("TURN banner");
    let (code, report, _) = probe(&["--turn", &url], &[("RTC_ASSIST_TURN_SECRET", SECRET)]);
    assert_eq!(verdicts(&report), vec![("udp".into(), "ok".into())], "{report}");
    assert_eq!(code, 0);
}
