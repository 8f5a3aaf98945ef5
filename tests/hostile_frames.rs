use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Serve, finish, join};

fn corpus() -> Vec<Message> {
    let cand = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host";
    let text = |s: String| Message::text(s);
    let mut frames: Vec<Message> = [
        "",
        "{",
        "}",
        "null",
        "[]",
        "42",
        "\"str\"",
        "true",
        "{}",
        r#"{"type":1}"#,
        r#"{"type":null}"#,
        r#"{"data":{}}"#,
        r#"{"type":"nope","data":{}}"#,
        r#"{"type":"offer","data":[1,2]}"#,
        r#"{"type":"offer"}"#,
        r#"{"type":"offer","data":{"sdp":null}}"#,
        r#"{"type":"offer","data":{"sdp":"garbage"}}"#,
        r#"{"type":"offer","data":{"sdp":"v=0\r\n","type":"answer"}}"#,
        r#"{"type":"answer","data":{}}"#,
        r#"{"type":"join_room"}"#,
        r#"{"type":"join_room","data":{"room_name":5}}"#,
        r#"{"type":"join_room","data":{"room_name":""}}"#,
        r#"{"type":"join_room","data":{"room_name":"\u0000"}}"#,
        r#"{"type":"ice_candidate","data":{"candidate":12}}"#,
        r#"{"type":"ice_candidate","data":"candidate:1"}"#,
        r#"{"type":"leave_room","data":7}"#,
        "\u{0}\u{1}\u{2}",
    ]
    .into_iter()
    .map(|s| text(s.to_owned()))
    .collect();
    frames.extend([
        text(json!({"type": "join_room", "data": {"room_name": "r".repeat(5000)}}).to_string()),
        text(json!({"type": "t".repeat(10_000), "data": {}}).to_string()),
        text(json!({"type": "ice_candidate", "data": {"candidate": {"candidate": {"candidate": {"candidate": cand}}}}}).to_string()),
        text(json!({"type": "ice_candidate", "data": {"candidate": format!("candidate:{cand}"), "sdpMid": "0", "sdpMLineIndex": 0}}).to_string()),
        text(json!({"type": "ice_candidate", "data": {"candidate": cand, "sdpMid": null, "sdpMLineIndex": null}}).to_string()),
        text(json!({"type": "ice_candidate", "data": {"candidate": "candidate:1 1 udp 99999999999999999999 1.2.3.4 70000 typ host", "sdpMid": "0"}}).to_string()),
        text(json!({"type": "ice_candidate", "data": {"candidate": cand, "sdpMid": "0", "sdpMLineIndex": -1}}).to_string()),
        text(json!({"type": "offer", "data": {"sdp": "v=0\r\n".repeat(1000), "type": "offer"}}).to_string()),
        text(format!(r#"{{"type":"join_room","data":{{"room_name":"a"}},"x":{}{}}}"#, "[".repeat(300), "]".repeat(300))),
        text("x".repeat(1024 * 1024)),
        Message::binary(vec![0xff, 0xfe, 0x00, 0x7b]),
    ]);
    frames
}

async fn expect_error(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    let reply = tokio::time::timeout(Duration::from_secs(3), ws.next()).await.expect("reply in time");
    let text = match reply {
        Some(Ok(Message::Text(t))) => t,
        other => panic!("expected a text reply, got {other:?}"),
    };
    let v: Value = serde_json::from_str(text.as_str()).unwrap();
    assert_eq!(v["type"], "error", "{v}");
    assert!(v["data"]["code"].is_string(), "error has a code: {v}");
    v
}

#[test]
fn every_malformed_frame_gets_an_error_and_other_rooms_keep_their_audio() {
    // The whole corpus goes out at once on one socket: above the default message burst.
    let serve = Serve::start(&["--message-burst", "200"]);
    let a = join(&serve.url, "steady", 440, 7.0);
    let b = join(&serve.url, "steady", 660, 7.0);
    std::thread::sleep(Duration::from_secs(2));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let frames = corpus();
    assert!(frames.len() >= 30);
    runtime.block_on(async {
        // One socket takes the whole corpus, another joins a room first and takes it too.
        for joined in [false, true] {
            let (mut ws, _) = tokio_tungstenite::connect_async(serve.url.as_str()).await.unwrap();
            if joined {
                ws.send(Message::text(
                    json!({"type": "join_room", "data": {"room_name": "noisy"}}).to_string(),
                ))
                .await
                .unwrap();
                let (_, mut rx) = (&mut ws).split();
                let joined: Value =
                    serde_json::from_str(rx.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
                assert_eq!(joined["type"], "joined_room");
            }
            for f in &frames {
                ws.send(f.clone()).await.unwrap();
                expect_error(&mut ws).await;
            }
        }
    });
    let (a, b) = (finish(a), finish(b));
    for (name, peer) in [("a", &a), ("b", &b)] {
        assert_eq!(peer.code, 0, "{name}: {}", peer.stderr);
        // Audio kept flowing: no one-second report shows a stall.
        let levels = peer.events_named("audio_level");
        for w in levels.windows(2) {
            let (p0, p1) = (w[0]["packets"].as_u64().unwrap(), w[1]["packets"].as_u64().unwrap());
            let dt = (w[1]["t_ms"].as_u64().unwrap() - w[0]["t_ms"].as_u64().unwrap()) as f64 / 1000.0;
            if dt > 0.5 {
                assert!((p1 - p0) as f64 / dt > 40.0, "{name}: audio stalled between {} and {}", w[0], w[1]);
            }
        }
    }
    assert_eq!(serve.stats()["peer_connections"], 0);
}

/// Sessions beyond `--max-sessions` are refused with 503 before upgrading; a closed session
/// frees its place.
#[test]
fn sessions_beyond_the_limit_get_503_until_one_closes() {
    let serve = Serve::start(&["--max-sessions", "2"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let connect = || tokio_tungstenite::connect_async(serve.url.as_str());
        let (first, _) = connect().await.unwrap();
        let (_second, _) = connect().await.unwrap();
        match connect().await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
            other => panic!("a third session got {other:?}"),
        }
        drop(first);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match connect().await {
                Ok(_) => break,
                Err(e) => assert!(std::time::Instant::now() < deadline, "place not freed: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}
