use std::time::Duration;

use crate::common::{Serve, finish, join};

#[test]
fn two_peers_connect_and_decode_each_others_tone() {
    let serve = Serve::start(&[]);
    let a = join(&serve.url, "pair", 440, 5.0);
    let b = join(&serve.url, "pair", 660, 5.0);
    let (a, b) = (finish(a), finish(b));
    for (name, peer, want) in [("a", &a, 660.0), ("b", &b, 440.0)] {
        assert_eq!(peer.code, 0, "{name} exit code; stderr: {}", peer.stderr);
        assert_eq!(peer.summary()["ever_connected"], true, "{name} connected");
        assert!(peer.heard_freq(want), "{name} should hear {want} Hz, heard {:?}", peer.heard());
        assert_eq!(peer.summary()["selected_pair"]["local"]["typ"], "host", "{name}: {}", peer.summary());
    }
    // Browser-style trickle: the offer went out with no candidates inside it.
    let offer = a
        .events
        .iter()
        .find(|e| e["event"] == "signal" && e["kind"] == "offer" && e["direction"] == "sent")
        .unwrap();
    assert_eq!(offer["detail"], "0 candidate(s) in SDP");
    for (name, peer) in [("a", &a), ("b", &b)] {
        let received =
            peer.events_named("end_of_candidates").iter().filter(|e| e["direction"] == "received").count();
        assert_eq!(received, 1, "{name}: one end-of-candidates per connection");
    }
    // Without -v, serve still says what it does: one line per session milestone.
    let logs = serve.stop();
    for milestone in [
        "client connected",
        "joined room",
        "offer answered",
        "state=connected",
        "selected pair local=host",
        "forwarding audio to this peer",
        "client gone",
    ] {
        assert!(logs.contains(milestone), "serve's default log lacks {milestone:?}:\n{logs}");
    }
}

#[test]
fn a_late_third_peer_is_heard_by_all_and_leaving_frees_its_connection() {
    let serve = Serve::start(&[]);
    let a = join(&serve.url, "trio", 440, 9.0);
    let b = join(&serve.url, "trio", 660, 9.0);
    std::thread::sleep(Duration::from_secs(2));
    let c = join(&serve.url, "trio", 880, 4.0);
    let c = finish(c);
    std::thread::sleep(Duration::from_millis(500));
    let stats = serve.stats();
    assert_eq!(stats["peer_connections"], 2, "C's connection must be freed: {stats}");
    let (a, b) = (finish(a), finish(b));
    assert_eq!(c.code, 0, "c stderr: {}", c.stderr);
    assert!(c.heard_freq(440.0) && c.heard_freq(660.0), "c heard {:?}", c.heard());
    for (name, peer, other) in [("a", &a, 660.0), ("b", &b, 440.0)] {
        assert_eq!(peer.code, 0, "{name}: {}", peer.stderr);
        assert!(peer.heard_freq(other) && peer.heard_freq(880.0), "{name} heard {:?}", peer.heard());
        let left: Vec<_> = peer.events_named("peer_left").iter().map(|e| e["peer_id"].clone()).collect();
        assert_eq!(left, vec![serde_json::json!(c.my_id())], "{name} gets peer_left for c");
        // Renegotiation: the server offered again when c's audio arrived and when it left.
        let offers = peer
            .events
            .iter()
            .filter(|e| e["event"] == "signal" && e["kind"] == "offer" && e["direction"] == "received")
            .count();
        assert!(offers >= 2, "{name} saw {offers} server offers");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(serve.stats()["peer_connections"], 0);
}
