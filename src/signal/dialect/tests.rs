//! Dialect files: the built-in protocol written as one speaks exactly like the built-in codec,
//! another app's names map onto the same messages, and a malformed file names its line and key.

use super::*;
use crate::signal::secret::Secret;

const BUILT_IN: &str = include_str!("../../../dialects/rtc-assist.toml");

fn built_in() -> Dialect {
    Dialect::parse(BUILT_IN).expect("dialects/rtc-assist.toml parses")
}

fn candidate() -> CandidateInit {
    CandidateInit {
        candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into(),
        sdp_mid: "0".into(),
        sdp_mline_index: 0,
    }
}

const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

#[test]
fn the_built_in_protocol_as_a_file_sends_what_the_server_reads() {
    let d = built_in();
    assert!(d.has_rooms() && !d.server_offers && d.keepalive.is_none());
    let msgs = [
        ClientMessage::JoinRoom { room: "room1".into(), token: None },
        ClientMessage::JoinRoom { room: "room1".into(), token: Some(Secret::new("s3cret".to_owned())) },
        ClientMessage::Offer { sdp: SDP.into() },
        ClientMessage::Answer { sdp: SDP.into() },
        ClientMessage::Candidate(candidate()),
        ClientMessage::EndOfCandidates,
        ClientMessage::LeaveRoom,
    ];
    for m in msgs {
        let frame = d.encode(&m).expect("every message is sent");
        assert_eq!(ClientMessage::decode(&frame).expect("serve reads it"), m, "{frame}");
    }
}

#[test]
fn the_built_in_protocol_as_a_file_reads_what_the_server_sends() {
    let d = built_in();
    let msgs = [
        ServerMessage::JoinedRoom {
            room: "room1".into(),
            peer_id: "p1".into(),
            peers: vec!["p0".into()],
            ice_servers: vec![IceServer { urls: vec!["stun:127.0.0.1:3478".into()], ..IceServer::default() }],
        },
        ServerMessage::PeerJoined { peer_id: "p2".into() },
        ServerMessage::PeerLeft { peer_id: "p2".into() },
        ServerMessage::Offer { sdp: SDP.into() },
        ServerMessage::Answer { sdp: SDP.into() },
        ServerMessage::Candidate(candidate()),
        ServerMessage::EndOfCandidates,
        ServerMessage::Error { code: ErrorCode::BadRoom, message: "no such room".into() },
    ];
    for m in msgs {
        let frame = m.encode();
        assert_eq!(d.decode(&frame).unwrap(), Some(ServerMessage::decode(&frame).unwrap()), "{frame}");
    }
    // The browser's nested candidate reads the same way.
    let nested = r#"{"type":"ice_candidate","data":{"candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}}"#;
    assert_eq!(d.decode(nested).unwrap(), Some(ServerMessage::Candidate(candidate())));
}

const OTHER_APP: &str = r#"
name = "other"
server_offers = true
subprotocol = "other-v1"
[keepalive]
every_s = 10
send = { op = "ping" }
[send.join]
op = "enter"
channel = "call-{room}"
[send.answer]
op = "sdp"
body = { kind = "answer", text = "{sdp}" }
[send.candidate]
op = "ice"
c = "{candidate}"
mid = "{sdp_mid}"
idx = "{sdp_mline_index}"
[send.end_of_candidates]
op = "ice-done"
[receive]
type = "/op"
ignore = ["pong"]
[receive.joined]
when = "welcome"
peer_id = "/you/id"
peers = "/others"
[receive.offer]
when = "sdp"
sdp = "/body/text"
[receive.candidate]
when = "ice"
candidate = "/c"
sdp_mid = "/mid"
sdp_mline_index = "/idx"
[receive.error]
when = "oops"
message = "/why"
"#;

#[test]
fn another_apps_names_map_onto_the_same_messages() {
    let d = Dialect::parse(OTHER_APP).unwrap();
    assert!(d.server_offers && d.has_rooms());
    assert_eq!(d.subprotocol.as_deref(), Some("other-v1"));
    assert_eq!(d.keepalive, Some((std::time::Duration::from_secs(10), json!({"op": "ping"}))));
    let join: Value =
        serde_json::from_str(&d.encode(&ClientMessage::JoinRoom { room: "7".into(), token: None }).unwrap())
            .unwrap();
    assert_eq!(join, json!({"op": "enter", "channel": "call-7"}));
    let c: Value = serde_json::from_str(&d.encode(&ClientMessage::Candidate(candidate())).unwrap()).unwrap();
    assert_eq!(c, json!({"op": "ice", "c": candidate().candidate, "mid": "0", "idx": 0}));
    assert_eq!(d.encode(&ClientMessage::EndOfCandidates).unwrap(), r#"{"op":"ice-done"}"#);
    // Not in the dialect: not sent.
    assert_eq!(d.encode(&ClientMessage::Offer { sdp: SDP.into() }), None);
    assert_eq!(d.encode(&ClientMessage::LeaveRoom), None);
    let welcome = r#"{"op":"welcome","you":{"id":42},"others":[{"id":"a"},7,"b",null]}"#;
    assert_eq!(
        d.decode(welcome).unwrap(),
        Some(ServerMessage::JoinedRoom {
            room: String::new(),
            peer_id: "42".into(),
            peers: vec!["a".into(), "7".into(), "b".into()],
            ice_servers: Vec::new()
        })
    );
    let offer = json!({"op": "sdp", "body": {"text": SDP}}).to_string();
    assert_eq!(d.decode(&offer).unwrap(), Some(ServerMessage::Offer { sdp: SDP.into() }));
    assert_eq!(d.decode(r#"{"op":"pong"}"#).unwrap(), None);
    assert_eq!(
        d.decode(r#"{"op":"oops","why":"room full"}"#).unwrap(),
        Some(ServerMessage::Error { code: ErrorCode::Internal, message: "room full".into() })
    );
    let ice = json!({"op": "ice", "c": "", "mid": "0", "idx": 0}).to_string();
    assert_eq!(d.decode(&ice).unwrap(), Some(ServerMessage::EndOfCandidates));
}

#[test]
fn a_malformed_file_names_its_line_and_key() {
    let cases: &[(&str, usize, &str, &str)] = &[
        ("name = \n", 1, "name", "string"),
        ("[send]\noffer = 5\n", 2, "offer", "expected a map"),
        ("not toml at all", 1, "-", "key"),
        (
            "[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nwhen = \"a\"\nsdp = \"/s\"\nbogus = \"/b\"\n",
            8,
            "receive.answer.bogus",
            "unknown field",
        ),
        (
            "[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nwhen = \"a\"\nsdp = 1\n",
            7,
            "sdp",
            "expected a string",
        ),
        (
            "[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"t\"\n",
            6,
            "receive.type",
            "JSON pointer",
        ),
        (
            "[send.offer]\nt = 1\n[send.candidate]\nx = \"{cand}\"\n[receive]\ntype = \"/t\"\n",
            3,
            "send.candidate",
            "unknown placeholder {cand}",
        ),
        (
            "[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nsdp = \"/s\"\n",
            7,
            "receive.answer.when",
            "missing",
        ),
        (
            "[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nwhen = \"a\"\n",
            7,
            "receive.answer.sdp",
            "missing",
        ),
        (
            "[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nwhen = \"a\"\nsdp = \"/s\"\nroom = \"/r\"\n",
            10,
            "receive.answer.room",
            "unknown field",
        ),
        (
            "[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n",
            1,
            "receive.answer",
            "missing",
        ),
        (
            "[send.join]\nt = 1\n[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nwhen = \"a\"\nsdp = \"/s\"\n",
            1,
            "receive.joined",
            "go together",
        ),
        (
            "[keepalive]\nevery_s = 0.0\nsend = {}\n[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nwhen = \"a\"\nsdp = \"/s\"\n",
            1,
            "keepalive.every_s",
            "between",
        ),
        (
            "subprotocol = \"a b\"\n[send.offer]\nt = 1\n[send.candidate]\nx = 1\n[receive]\ntype = \"/t\"\n[receive.answer]\nwhen = \"a\"\nsdp = \"/s\"\n",
            1,
            "subprotocol",
            "token",
        ),
    ];
    for (text, line, key, says) in cases {
        let e = Dialect::parse(text).expect_err(text);
        assert_eq!((e.line, e.key.as_str()), (*line, *key), "{text}\n→ {e}");
        assert!(e.message.contains(says), "{e}");
    }
    let missing_send = Dialect::parse("[receive]\ntype = \"/t\"\n").unwrap_err();
    assert_eq!(missing_send.key, "send", "{missing_send}");
    let missing_type = Dialect::parse("[send.candidate]\nx = 1\n\n[receive]\nignore = []\n").unwrap_err();
    assert_eq!((missing_type.line, missing_type.key.as_str()), (4, "receive.type"), "{missing_type}");
    let huge = format!("name = \"{}\"", "x".repeat(MAX_DIALECT_BYTES));
    assert!(Dialect::parse(&huge).unwrap_err().message.contains("larger"));
}

#[test]
fn hostile_frames_are_errors_not_panics() {
    let d = built_in();
    for bad in [
        "",
        "null",
        "[]",
        "{\"type\": 5}",
        "{\"type\": {}}",
        "{\"type\": \"answer\"}",
        "{\"type\": \"answer\", \"data\": {\"sdp\": \"hello\"}}",
        "{\"type\": \"ice_candidate\", \"data\": {}}",
        "{\"type\": \"ice_candidate\", \"data\": {\"candidate\": \"candidate:x\", \"sdpMid\": \"0\"}}",
        "{\"type\": \"joined_room\", \"data\": {\"peers\": []}}",
        "{\"type\": \"\\u0000weird\"}",
    ] {
        assert!(d.decode(bad).is_err(), "{bad}");
    }
    let big = format!("{{\"type\": \"answer\", \"pad\": \"{}\"}}", "x".repeat(MAX_FRAME_BYTES));
    assert_eq!(d.decode(&big).unwrap_err().code, ErrorCode::TooLarge);
}
