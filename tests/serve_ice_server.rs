//! `serve --ice-server` against Debian's coturn on loopback: the server's own peer connections
//! gather relay candidates through it (the client sees one trickled), REST credentials are
//! handed out in `joined_room` made for each client, static ones stay with the server (F8), no
//! secret or password is printed, and missing credentials are usage errors.

use std::process::Command;

use rtc_assist::signal::ice_url::rest_password;

use crate::common::coturn::Coturn;
use crate::common::{BIN, Finished, Serve, finish, join_with};

const SECRET: &str = "ice-server-rest-7d21";
const PASSWORD: &str = "Static-pw-4471";

/// The types of the candidates the server sent `peer`.
fn remote_types(peer: &Finished) -> Vec<String> {
    peer.events_named("remote_candidate")
        .iter()
        .filter_map(|e| e["typ"].as_str().map(str::to_owned))
        .collect()
}

fn printed(peer: &Finished) -> String {
    format!("{}{}", peer.events.iter().map(|e| e.to_string()).collect::<String>(), peer.stderr)
}

#[test]
fn rest_credentials_let_serve_gather_a_relay_and_are_handed_out_per_client() {
    let coturn = Coturn::start(&["--use-auth-secret", &format!("--static-auth-secret={SECRET}")]);
    let turn = format!("turn:127.0.0.1:{}?transport=udp", coturn.port);
    let serve = Serve::start_with_env(&["--ice-server", &turn], &[("RTC_ASSIST_TURN_SECRET", SECRET)]);
    // a gathers relay only, through what joined_room handed it: coturn accepts those credentials.
    let a = join_with(&serve.url, "ice", 440, 6.0, &["--relay-only"]);
    let b = join_with(&serve.url, "ice", 660, 6.0, &[]);
    let (a, b) = (finish(a), finish(b));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for (name, peer, hz) in [("a", &a, 660.0), ("b", &b, 440.0)] {
        assert_eq!(peer.code, 0, "{name}: {}", peer.stderr);
        assert!(peer.heard_freq(hz), "{name} heard {:?}", peer.heard());
        let offered = &peer.events_named("ice_servers_offered")[0]["servers"];
        assert_eq!(offered[0]["urls"][0], turn.as_str(), "{name}: {offered}");
        assert!(offered[0]["expires_in_s"].as_i64().unwrap() > 3500, "{name}: {offered}");
        // The server's own connection gathered through coturn and trickled its relay candidate.
        assert!(remote_types(peer).contains(&"relay".to_owned()), "{name}: {:?}", remote_types(peer));
        let all = printed(peer);
        assert!(!all.contains(SECRET), "{name} printed the secret");
        let short = &peer.my_id()[..8];
        for expiry in now + 3500..now + 3700 {
            assert!(!all.contains(&rest_password(SECRET, &format!("{expiry}:{short}"))), "{name}: password");
        }
    }
    assert_eq!(a.summary()["selected_pair"]["local"]["typ"], "relay", "{}", a.summary());
    let logs = serve.stop();
    assert!(logs.contains(&format!("own peer connections gather through {turn}")), "{logs}");
    assert!(!logs.contains(SECRET), "serve logged the secret");
}

#[test]
fn static_credentials_serve_the_server_alone_and_are_never_handed_out() {
    let coturn = Coturn::start(&["--lt-cred-mech", &format!("--user=srv:{PASSWORD}")]);
    let turn = format!("turn:127.0.0.1:{}", coturn.port);
    let tcp = format!("{turn}?transport=tcp");
    let serve = Serve::start_with_env(
        &["--ice-server", &turn, "--ice-server", &tcp, "--username", "srv"],
        &[("RTC_ASSIST_TURN_CREDENTIAL", PASSWORD)],
    );
    let a = finish(join_with(&serve.url, "static", 440, 4.0, &[]));
    assert_eq!(a.code, 0, "{}", a.stderr);
    let offered = &a.events_named("ice_servers_offered")[0]["servers"];
    assert_eq!(
        offered.as_array().map(Vec::len),
        Some(0),
        "static TURN credentials handed out (F8): {offered}"
    );
    assert!(remote_types(&a).contains(&"relay".to_owned()), "{:?}", remote_types(&a));
    assert!(!printed(&a).contains(PASSWORD));
    let logs = serve.stop();
    assert!(logs.contains("gathers TURN over UDP only; the server's own connections skip"), "{logs}");
    assert!(!logs.contains(PASSWORD), "serve logged the password");
}

#[test]
fn ice_server_credentials_that_do_not_fit_are_usage_errors() {
    let cases: [(&[&str], &str); 3] = [
        (&["--ice-server", "turn:127.0.0.1:3478"], "needs --turn-secret or --username/--credential"),
        (&["--username", "u", "--credential", "p"], "none given"),
        (&["--ice-server", "turn:127.0.0.1:3478", "--username", "u"], "go together"),
    ];
    for (args, want) in cases {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("RTC_ASSIST_TURN_SECRET")
            .env_remove("RTC_ASSIST_TURN_CREDENTIAL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(want), "{args:?}: {out:?}");
    }
}
