//! `serve` under churn and abrupt departures: many join/offer/leave cycles leave no peer
//! connection, session, file descriptor or memory behind; a client that vanishes at any point
//! of its call is reclaimed at once while another room keeps its audio.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Serve, finish, join};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A minimal valid audio offer (no candidates): the server builds, answers and gathers a real
/// peer connection for it.
fn offer_sdp() -> String {
    let fingerprint = vec!["AB"; 32].join(":");
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:churn\r\n\
         a=ice-pwd:churnchurnchurnchurnchurn\r\na=fingerprint:sha-256 {fingerprint}\r\n\
         a=setup:actpass\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n\
         a=ssrc:4242 cname:churn\r\n"
    )
}

async fn send(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// Reads until a message of `kind` arrives.
async fn until(ws: &mut Ws, kind: &str) {
    let wait = async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m
                && serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap()["type"] == kind
            {
                return;
            }
        }
        panic!("socket closed before {kind}");
    };
    tokio::time::timeout(Duration::from_secs(10), wait).await.unwrap_or_else(|_| panic!("no {kind}"));
}

/// Joins `room` and offers; the server answers with a peer connection of its own.
async fn join_and_offer(url: &str, room: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("upgrade");
    send(&mut ws, json!({"type": "join_room", "data": {"room_name": room}})).await;
    until(&mut ws, "joined_room").await;
    send(&mut ws, json!({"type": "offer", "data": {"sdp": offer_sdp(), "type": "offer"}})).await;
    until(&mut ws, "answer").await;
    ws
}

fn proc_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn proc_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Polls `/stats` until sessions and peer connections are back to `want` (or `within` passes).
fn settles(serve: &Serve, want: (u64, u64), within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let s = serve.stats();
        let now = (s["sessions"].as_u64().unwrap_or(99), s["peer_connections"].as_u64().unwrap_or(99));
        if now == want || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_thousand_join_offer_leave_cycles_leave_nothing_behind() {
    let serve = Serve::start(&["--upgrades-per-ip", "1000"]);
    let pid = serve.pid();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cycle = |n: usize| {
        runtime.block_on(async {
            for i in 0..n {
                let mut ws = join_and_offer(&serve.url, &format!("churn{}", i % 4)).await;
                send(&mut ws, json!({"type": "leave_room", "data": {}})).await;
                let _ = ws.close(None).await;
            }
        })
    };
    cycle(50); // warm-up: allocator pools, runtime threads
    settles(&serve, (0, 0), Duration::from_secs(5));
    let (fds0, rss0) = (proc_fds(pid), proc_rss_kib(pid));
    cycle(1000);
    let stats = settles(&serve, (0, 0), Duration::from_secs(5));
    assert_eq!(
        (stats["sessions"].as_u64(), stats["peer_connections"].as_u64()),
        (Some(0), Some(0)),
        "{stats}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let (fds1, rss1) = (proc_fds(pid), proc_rss_kib(pid));
    assert!(fds1 <= fds0 + 2, "file descriptors {fds0} → {fds1}");
    let growth = (rss1 as f64 - rss0 as f64) / rss0 as f64 * 100.0;
    assert!(growth < 5.0, "RSS {rss0} → {rss1} KiB: {growth:.1} % after 1,000 cycles");
}

#[test]
fn a_client_that_vanishes_at_any_point_is_reclaimed_at_once_and_others_keep_their_audio() {
    let serve = Serve::start(&[]);
    let a = join(&serve.url, "steady", 440, 9.0);
    let b = join(&serve.url, "steady", 660, 9.0);
    std::thread::sleep(Duration::from_secs(2));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let steady = settles(&serve, (2, 2), Duration::from_secs(3));
    assert_eq!(steady["peer_connections"], 2, "{steady}");
    for point in ["after join", "after offer", "during ICE"] {
        runtime.block_on(async {
            let ws = match point {
                "after join" => {
                    let (mut ws, _) = tokio_tungstenite::connect_async(serve.url.as_str()).await.unwrap();
                    send(&mut ws, json!({"type": "join_room", "data": {"room_name": "gone"}})).await;
                    until(&mut ws, "joined_room").await;
                    ws
                }
                "after offer" => join_and_offer(&serve.url, "gone").await,
                _ => {
                    let mut ws = join_and_offer(&serve.url, "gone").await;
                    let c = "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host";
                    let cand = json!({"candidate": c, "sdpMid": "0", "sdpMLineIndex": 0});
                    send(&mut ws, json!({"type": "ice_candidate", "data": cand})).await;
                    ws
                }
            };
            drop(ws); // no close frame, no leave: the TCP connection just goes
        });
        let t0 = Instant::now();
        let s = settles(&serve, (2, 2), Duration::from_secs(1));
        assert_eq!(s["peer_connections"], 2, "{point}: not reclaimed within 1 s ({:?}): {s}", t0.elapsed());
    }
    // After connect: a real peer killed outright.
    let mut c = join(&serve.url, "gone", 880, 30.0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(serve.stats()["peer_connections"], 3);
    c.kill().unwrap();
    let _ = c.wait();
    let s = settles(&serve, (2, 2), Duration::from_secs(1));
    assert_eq!(s["peer_connections"], 2, "after connect: not reclaimed within 1 s: {s}");
    let (a, b) = (finish(a), finish(b));
    assert_eq!((a.code, b.code), (0, 0), "the steady room kept its audio: {}\n{}", a.stderr, b.stderr);
}
