use std::process::{Command, Stdio};

use rtc_assist::signal::ice_url::rest_password;

use crate::common::{BIN, Serve, finish};

const SECRET: &str = "test-secret-5f3a9c1e";

fn relay_join(url: &str, hz: u32, secs: &str) -> std::process::Child {
    Command::new(BIN)
        .args(["join", "relay", "--server", url, "--source", &format!("tone:{hz}"), "--duration", secs])
        .args(["--relay-only", "--json", "--expect-audio"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn serve_with_turn(extra: &[&str]) -> Serve {
    // The secret comes from the environment, as docs/serve.md recommends.
    let mut args = vec!["--turn", "--turn-listen", "127.0.0.1:0", "-vv"];
    args.extend_from_slice(extra);
    Serve::start_with_env(&args, &[("RTC_ASSIST_TURN_SECRET", SECRET)])
}

#[test]
fn relay_only_peers_connect_through_the_embedded_turn_server_and_no_secret_leaks() {
    let serve = serve_with_turn(&["--turn-allow-internal-peers"]);
    let a = relay_join(&serve.url, 440, "7");
    let b = relay_join(&serve.url, 660, "7");
    let (a, b) = (finish(a), finish(b));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for (name, peer, want) in [("a", &a, 660.0), ("b", &b, 440.0)] {
        assert_eq!(peer.code, 0, "{name}: {}", peer.stderr);
        assert_eq!(peer.summary()["selected_pair"]["local"]["typ"], "relay", "{name}: {}", peer.summary());
        assert!(peer.heard_freq(want), "{name} heard {:?}", peer.heard());
        let offered = &peer.events_named("ice_servers_offered")[0]["servers"][0];
        assert!(offered["expires_in_s"].as_i64().unwrap() > 3500, "{offered}");
        // Neither the secret nor the handed-out password is printed anywhere.
        let all = format!("{}{}", peer.events.iter().map(|e| e.to_string()).collect::<String>(), peer.stderr);
        assert!(!all.contains(SECRET), "{name} printed the secret");
        let short = &peer.my_id()[..8];
        for expiry in now + 3500..now + 3700 {
            let password = rest_password(SECRET, &format!("{expiry}:{short}"));
            assert!(!all.contains(&password), "{name} printed its TURN password");
        }
    }
    let logs = serve.stop();
    assert!(logs.contains("embedded TURN server listening"), "serve logged at -vv");
    assert!(!logs.contains(SECRET), "serve logged the secret");
}

#[test]
fn the_relay_refuses_internal_peers_unless_allowed() {
    let serve = serve_with_turn(&[]);
    let a = relay_join(&serve.url, 440, "5");
    let b = relay_join(&serve.url, 660, "5");
    let (a, b) = (finish(a), finish(b));
    for peer in [&a, &b] {
        assert_eq!(peer.code, 1, "relaying to 127.0.0.1 must be refused by default");
        assert_eq!(peer.summary()["ever_connected"], false);
    }
}

#[test]
fn f8_without_turn_is_a_usage_error() {
    let out = Command::new(BIN).args(["serve", "--listen", "127.0.0.1:0", "--fault", "F8"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --turn"));
}

#[test]
fn join_uses_the_ice_servers_it_is_given_instead_of_the_servers() {
    let turn = serve_with_turn(&["--turn-allow-internal-peers"]);
    let turn_url = turn.turn_url.clone().unwrap();
    let signaling = Serve::start(&[]);
    let peer = |hz: u32| {
        Command::new(BIN)
            .args([
                "join",
                "given",
                "--server",
                &signaling.url,
                "--source",
                &format!("tone:{hz}"),
                "--duration",
                "7",
            ])
            .args(["--relay-only", "--turn", &turn_url, "--json", "--expect-audio"])
            .env("RTC_ASSIST_TURN_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (peer(440), peer(660));
    let (a, b) = (finish(a), finish(b));
    for (p, want) in [(&a, 660.0), (&b, 440.0)] {
        assert_eq!(p.code, 0, "{}", p.stderr);
        assert_eq!(p.summary()["selected_pair"]["local"]["typ"], "relay");
        assert!(p.heard_freq(want));
    }
}
