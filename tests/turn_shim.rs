use std::process::{Child, Command, Stdio};

use crate::common::coturn::Coturn;
use crate::common::{BIN, Finished, Serve, finish};

const PASSWORD: &str = "Zq7-shim-s3cret";

fn relay_peer(url: &str, hz: u32, servers: &[&str], extra: &[&str]) -> Child {
    Command::new(BIN)
        .args(["join", "shim", "--server", url, "--source", &format!("tone:{hz}"), "--duration", "10"])
        .args(["--relay-only", "--json", "--expect-audio"])
        .args(servers)
        .args(extra)
        .env("RTC_ASSIST_TURN_CREDENTIAL", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn assert_relayed_pair(a: &Finished, b: &Finished) {
    for (name, p, want) in [("a", a, 660.0), ("b", b, 440.0)] {
        assert_eq!(p.code, 0, "{name}: {}", p.stderr);
        assert_eq!(p.summary()["selected_pair"]["local"]["typ"], "relay", "{name}: {}", p.summary());
        assert!(p.heard_freq(want), "{name} heard {:?}", p.heard());
        let shim: Vec<_> = p.events_named("turn_shim").iter().map(|e| e["state"].clone()).collect();
        assert!(shim.contains(&"connected".into()), "{name}: {shim:?}");
    }
}

#[test]
fn relay_only_peers_connect_over_turn_tcp_with_coturns_udp_listener_off() {
    let c = Coturn::start(&["--lt-cred-mech", &format!("--user=alice:{PASSWORD}"), "--no-udp"]);
    let serve = Serve::start(&[]);
    let turn = format!("turn:127.0.0.1:{}?transport=tcp", c.port);
    let a = relay_peer(&serve.url, 440, &["--turn", &turn, "--username", "alice"], &[]);
    let b = relay_peer(&serve.url, 660, &["--turn", &turn, "--username", "alice"], &[]);
    assert_relayed_pair(&finish(a), &finish(b));
}

#[test]
fn relay_only_peers_connect_over_turns_with_a_private_ca() {
    let c = Coturn::start(&["--lt-cred-mech", &format!("--user=alice:{PASSWORD}"), "--no-udp"]);
    let serve = Serve::start(&[]);
    let turns = format!("turns:localhost:{}?transport=tcp", c.tls_port);
    let ca = c.ca();
    let a = relay_peer(&serve.url, 440, &["--turn", &turns, "--username", "alice"], &["--turn-ca", &ca]);
    let b = relay_peer(&serve.url, 660, &["--turn", &turns, "--username", "alice"], &["--turn-ca", &ca]);
    assert_relayed_pair(&finish(a), &finish(b));
}

#[test]
fn the_catalogues_browser_configuration_works_end_to_end() {
    // stun:…:80, turn:…:80?transport=tcp, turn:…:443?transport=tcp — mapped to local coturn ports.
    let c = Coturn::start(&["--lt-cred-mech", &format!("--user=alice:{PASSWORD}")]);
    let serve = Serve::start(&[]);
    let p = c.port;
    let json = format!(
        r#"[{{"urls":["stun:127.0.0.1:{p}","turn:127.0.0.1:{p}?transport=tcp","turn:127.0.0.1:{p}?transport=tcp"],"username":"alice","credential":"{PASSWORD}"}}]"#
    );
    let a = relay_peer(&serve.url, 440, &["--ice-servers", &json], &[]);
    let b = relay_peer(&serve.url, 660, &["--ice-servers", &json], &[]);
    let (a, b) = (finish(a), finish(b));
    assert_relayed_pair(&a, &b);
    assert!(!a.stderr.contains(PASSWORD) && !a.events.iter().any(|e| e.to_string().contains(PASSWORD)));
}
