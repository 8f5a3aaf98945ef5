use std::time::Duration;

use crate::common::{Serve, finish, join};

/// The server counts what it received and forwarded per peer; listeners count what they
/// decoded. webrtc-rs drops packets whose SSRC/PT it does not expect while reporting success,
/// so both sides must agree.
#[test]
fn forwarded_packets_match_received_times_listeners_and_arrive() {
    let serve = Serve::start(&[]);
    let tones = [440, 550, 660];
    let peers: Vec<_> = tones.iter().map(|hz| join(&serve.url, "fan", *hz, 6.0)).collect();
    std::thread::sleep(Duration::from_secs(4));
    let stats = serve.stats();
    let finished: Vec<_> = peers.into_iter().map(finish).collect();
    let tone_of = |id: &serde_json::Value| {
        finished.iter().zip(tones).find(|(f, _)| f.my_id() == *id).map(|(_, hz)| f64::from(hz))
    };
    let publishers = stats["publishers"].as_array().expect("publishers");
    assert_eq!(publishers.len(), 3, "{stats}");
    for p in publishers {
        let received = p["received"].as_u64().unwrap();
        let forwarded = p["forwarded"].as_object().unwrap();
        assert!(received > 100, "publisher received only {received}: {p}");
        assert_eq!(forwarded.len(), 2, "two listeners each: {p}");
        let total: u64 = forwarded.values().map(|v| v.as_u64().unwrap()).sum();
        // Forwarding starts once each listener has answered its renegotiation (tens of ms).
        assert!(total as f64 >= 0.9 * (received * 2) as f64, "forwarded {total} of {received} × 2: {p}");
        assert_eq!(p["queue_full"], 0, "{p}");
        let hz = tone_of(&p["peer_id"]).expect("publisher is one of ours");
        for (listener, n) in forwarded {
            let heard = finished.iter().find(|f| f.my_id() == *listener).map_or(0, |f| f.packets_at(hz));
            assert!(
                heard >= n.as_u64().unwrap() * 95 / 100,
                "listener {listener} decoded {heard}, server forwarded {n} by then"
            );
        }
    }
    assert!(finished.iter().all(|f| f.code == 0));
}
