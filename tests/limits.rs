//! `serve`'s limits, each against a real socket with the limit turned low: oversized frames,
//! silent clients (no pong), a join without an offer, a message flood, a candidate flood and
//! too many upgrades from one address.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::Serve;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

async fn connect(serve: &Serve) -> Ws {
    tokio_tungstenite::connect_async(serve.url.as_str()).await.expect("upgrade").0
}

async fn join(ws: &mut Ws, room: &str) {
    ws.send(Message::text(json!({"type": "join_room", "data": {"room_name": room}}).to_string()))
        .await
        .unwrap();
    let joined = next_json(ws).await.expect("joined_room");
    assert_eq!(joined["type"], "joined_room", "{joined}");
}

/// The next protocol message, or `None` when the socket closed; pings are answered on the way.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a frame in time")? {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Reads until the server closes; returns the close code and every message before it.
async fn until_closed(ws: &mut Ws, within: Duration) -> (Option<CloseCode>, Vec<Value>) {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("not closed within {within:?}; got {seen:?}"),
            Ok(None) | Ok(Some(Err(_))) => return (None, seen),
            Ok(Some(Ok(Message::Close(frame)))) => return (frame.map(|f| f.code), seen),
            Ok(Some(Ok(Message::Text(t)))) => seen.push(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[test]
fn a_large_frame_gets_an_error_and_a_huge_one_closes_with_1009() {
    let serve = Serve::start(&["--max-frame", "16384", "--ws-max-message", "65536"]);
    block_on(async {
        let mut ws = connect(&serve).await;
        ws.send(Message::text("x".repeat(20_000))).await.unwrap();
        let reply = next_json(&mut ws).await.expect("an error reply");
        assert_eq!(reply["data"]["code"], "too_large", "{reply}");
        join(&mut ws, "still-open").await;
        ws.send(Message::text("x".repeat(100_000))).await.unwrap();
        let (code, _) = until_closed(&mut ws, Duration::from_secs(5)).await;
        assert_eq!(code, Some(CloseCode::Size));
    });
}

#[test]
fn a_client_that_stops_answering_pings_is_closed_and_one_that_reads_is_not() {
    let serve = Serve::start(&["--ping-interval-s", "1", "--pong-timeout-s", "2"]);
    block_on(async {
        let (mut silent, mut reader) = (connect(&serve).await, connect(&serve).await);
        join(&mut silent, "pings").await;
        join(&mut reader, "pings").await;
        // The reader answers every ping (tungstenite does, as it reads) for 4 s.
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(4) {
            match tokio::time::timeout(Duration::from_millis(200), reader.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) => panic!("a client that reads was closed"),
                _ => {}
            }
        }
        // The silent one read nothing meanwhile, so it sent no pong: it is closed.
        let (code, _) = until_closed(&mut silent, Duration::from_secs(2)).await;
        assert_eq!(code, Some(CloseCode::Away));
    });
}

#[test]
fn a_client_that_joins_and_never_offers_is_told_and_closed() {
    let serve = Serve::start(&["--join-timeout-s", "1"]);
    block_on(async {
        let mut ws = connect(&serve).await;
        join(&mut ws, "idle").await;
        let (code, seen) = until_closed(&mut ws, Duration::from_secs(5)).await;
        assert!(seen.iter().any(|m| m["data"]["code"] == "timeout"), "{seen:?}");
        assert_eq!(code, Some(CloseCode::Policy));
    });
    assert_eq!(serve.stats()["sessions"], 0);
}

#[test]
fn a_message_flood_gets_one_rate_limited_error_then_a_close() {
    let serve = Serve::start(&[]);
    block_on(async {
        let (mut tx, mut rx) = connect(&serve).await.split();
        let flood = tokio::spawn(async move {
            for _ in 0..200 {
                if tx.send(Message::text(r#"{"type":"nope","data":{}}"#)).await.is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(m)) = rx.next().await {
                match m {
                    Message::Text(t) => seen.push(serde_json::from_str::<Value>(t.as_str()).unwrap()),
                    Message::Close(frame) => return frame.map(|f| f.code),
                    _ => {}
                }
            }
            None // reset: the rest of the flood was still unread when the server closed
        })
        .await
        .expect("the server closes a flooding session");
        let _ = flood.await;
        let answered = seen.iter().filter(|m| m["data"]["code"] == "unknown_type").count();
        assert!(answered <= 20, "no more than the burst is processed: {answered}");
        assert!(seen.iter().filter(|m| m["data"]["code"] == "rate_limited").count() <= 1, "{seen:?}");
        assert!(closed.is_none_or(|c| c == CloseCode::Policy), "{closed:?}");
    });
    let logs = serve.stop_after(|s| s.stats()["sessions"] == 0);
    assert!(logs.contains("code=\"rate_limited\"") && logs.contains("message rate abuse"), "{logs}");
}

#[test]
fn candidates_beyond_the_session_budget_are_refused() {
    let serve = Serve::start(&["--max-candidates", "3", "--message-burst", "100"]);
    block_on(async {
        let mut ws = connect(&serve).await;
        join(&mut ws, "budget").await;
        for i in 0..5 {
            let c = format!("candidate:{i} 1 udp 2130706431 127.0.0.1 {} typ host", 5000 + i);
            let msg =
                json!({"type": "ice_candidate", "data": {"candidate": c, "sdpMid": "0", "sdpMLineIndex": 0}});
            ws.send(Message::text(msg.to_string())).await.unwrap();
        }
        for _ in 0..2 {
            let reply = next_json(&mut ws).await.expect("an error reply");
            assert_eq!(reply["data"]["code"], "bad_candidate", "{reply}");
            assert!(reply["data"]["message"].as_str().unwrap().contains("more than 3 candidates"), "{reply}");
        }
    });
}

#[test]
fn upgrades_beyond_the_rate_from_one_address_get_429() {
    let serve = Serve::start(&["--upgrades-per-ip", "1"]);
    block_on(async {
        let mut statuses = Vec::new();
        let mut open = Vec::new();
        for _ in 0..6 {
            match tokio_tungstenite::connect_async(serve.url.as_str()).await {
                Ok((ws, _)) => {
                    statuses.push(101);
                    open.push(ws);
                }
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => statuses.push(r.status().as_u16()),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&statuses[..3], &[101, 101, 101], "a burst of 3 × the rate: {statuses:?}");
        assert!(statuses[3..].contains(&429), "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(tokio_tungstenite::connect_async(serve.url.as_str()).await.is_ok(), "the bucket refills");
    });
}

/// A client that sends and never reads: its replies pile up in its socket until the server's
/// send times out; the server drops it and its memory stays bounded.
#[test]
fn a_client_that_never_reads_is_dropped_with_bounded_memory() {
    let serve =
        Serve::start(&["--send-timeout-s", "1", "--message-burst", "100000", "--message-rate", "100000"]);
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", serve.pid())).unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.split_whitespace().next()?.parse::<u64>().ok())
    };
    let before = rss().unwrap();
    let dropped = block_on(async {
        let (mut tx, _rx) = connect(&serve).await.split(); // the reading half is never polled
        let big = format!(r#"{{"type":"{}","data":{{}}}}"#, "n".repeat(4000)); // ~4 KiB error replies
        for _ in 0..100_000 {
            match tokio::time::timeout(Duration::from_secs(5), tx.send(Message::text(big.clone()))).await {
                Ok(Ok(())) => {}
                _ => return true, // the server stopped reading us: dropped (or our send blocked on it)
            }
        }
        false
    });
    assert!(dropped, "the server kept taking messages from a client that never reads");
    let growth_mib = rss().unwrap().saturating_sub(before) / 1024;
    assert!(growth_mib < 50, "RSS grew by {growth_mib} MiB");
    let logs = serve.stop_after(|s| s.stats()["sessions"] == 0);
    assert!(logs.contains("client dropped: it does not read"), "{logs}");
}
