//! Unit tests of `protocol.rs`.

use super::*;

const CAND: &str = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host";
const SDP: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

fn frame(typ: &str, data: Value) -> String {
    json!({ "type": typ, "data": data }).to_string()
}

#[test]
fn decodes_browser_nested_and_flat_candidates_alike() {
    let nested = frame(
        "ice_candidate",
        json!({"candidate": {"candidate": CAND, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "x"}}),
    );
    let flat = frame("ice_candidate", json!({"candidate": CAND, "sdpMid": "0", "sdpMLineIndex": 0}));
    let want = ClientMessage::Candidate(CandidateInit {
        candidate: CAND.into(),
        sdp_mid: "0".into(),
        sdp_mline_index: 0,
    });
    assert_eq!(ClientMessage::decode(&nested).unwrap(), want);
    assert_eq!(ClientMessage::decode(&flat).unwrap(), want);
}

#[test]
fn end_of_candidates_in_both_forms() {
    for data in [json!({"candidate": ""}), json!({"candidate": {"candidate": "", "sdpMid": "0"}})] {
        assert_eq!(
            ClientMessage::decode(&frame("ice_candidate", data)).unwrap(),
            ClientMessage::EndOfCandidates
        );
    }
}

#[test]
fn room_aliases_are_accepted() {
    for key in ["room_name", "room", "roomName"] {
        let m = ClientMessage::decode(&frame("join_room", json!({ key: "r1" }))).unwrap();
        assert_eq!(m, ClientMessage::JoinRoom { room: "r1".into(), token: None });
    }
}

#[test]
fn a_join_token_round_trips_and_stays_out_of_debug() {
    let m = ClientMessage::JoinRoom { room: "r1".into(), token: Some(Secret::new("aaa.bbb.ccc")) };
    let wire = m.encode();
    assert!(wire.contains(r#""token":"aaa.bbb.ccc""#), "{wire}");
    assert_eq!(ClientMessage::decode(&wire).unwrap(), m);
    assert!(!format!("{m:?}").contains("aaa.bbb.ccc"));
    assert_eq!(ErrorCode::parse("unauthorized"), ErrorCode::Unauthorized);
}

#[test]
fn strict_encoding_round_trips_through_tolerant_decoding() {
    let c = CandidateInit { candidate: CAND.into(), sdp_mid: "0".into(), sdp_mline_index: 0 };
    let wire = ServerMessage::Candidate(c.clone()).encode();
    let v: Value = serde_json::from_str(&wire).unwrap();
    assert_eq!(v["data"]["candidate"], CAND);
    assert_eq!(v["data"]["sdpMid"], "0");
    assert_eq!(v["data"]["sdpMLineIndex"], 0);
    assert_eq!(ServerMessage::decode(&wire).unwrap(), ServerMessage::Candidate(c.clone()));
    let client = ClientMessage::Candidate(c.clone()).encode();
    assert_eq!(ClientMessage::decode(&client).unwrap(), ClientMessage::Candidate(c));
    let eoc = ServerMessage::EndOfCandidates.encode();
    assert_eq!(ServerMessage::decode(&eoc).unwrap(), ServerMessage::EndOfCandidates);
}

#[test]
fn catalogue_violations_are_named() {
    let cases = [
        (json!({"candidate": {"candidate": {"candidate": {"candidate": CAND}}}}), Violation::F3Nested),
        (
            json!({"candidate": format!("candidate:{CAND}"), "sdpMid": "0", "sdpMLineIndex": 0}),
            Violation::F3Prefix,
        ),
        (json!({"candidate": CAND, "sdpMid": null, "sdpMLineIndex": null}), Violation::F3Null),
        (json!({"candidate": CAND}), Violation::F3Null),
        (
            json!({"candidate": "candidate:1 1 udp 1 not-an-ip 1 typ martian", "sdpMid": "0"}),
            Violation::F3Grammar,
        ),
    ];
    for (data, want) in cases {
        let e = ClientMessage::decode(&frame("ice_candidate", data.clone())).unwrap_err();
        assert_eq!(e.violation, Some(want), "{data}");
        assert_eq!(e.code, ErrorCode::BadCandidate);
    }
}

#[test]
fn hostile_frames_get_a_code_never_a_panic() {
    let big = "x".repeat(1024 * 1024);
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let cases: Vec<(String, ErrorCode)> = vec![
        (String::new(), ErrorCode::BadJson),
        ("{".into(), ErrorCode::BadJson),
        ("null".into(), ErrorCode::BadMessage),
        ("[]".into(), ErrorCode::BadMessage),
        ("42".into(), ErrorCode::BadMessage),
        ("\u{0}\u{1}".into(), ErrorCode::BadJson),
        (big.clone(), ErrorCode::TooLarge),
        (format!(r#"{{"type":"join_room","data":{{"room_name":"a"}},"x":{deep}}}"#), ErrorCode::BadJson),
        (r#"{"type":1}"#.into(), ErrorCode::BadMessage),
        (r#"{"data":{}}"#.into(), ErrorCode::BadMessage),
        (r#"{"type":"nope"}"#.into(), ErrorCode::UnknownType),
        (format!(r#"{{"type":"{}"}}"#, "t".repeat(10_000)), ErrorCode::UnknownType),
        (r#"{"type":"offer","data":[1,2]}"#.into(), ErrorCode::BadMessage),
        (r#"{"type":"leave_room","data":7}"#.into(), ErrorCode::BadMessage),
        (r#"{"type":"offer"}"#.into(), ErrorCode::BadSdp),
        (r#"{"type":"offer","data":{"sdp":null}}"#.into(), ErrorCode::BadSdp),
        (r#"{"type":"offer","data":{"sdp":"garbage"}}"#.into(), ErrorCode::BadSdp),
        (r#"{"type":"offer","data":{"sdp":"v=0\r\n","type":"answer"}}"#.into(), ErrorCode::BadSdp),
        (frame("offer", json!({"sdp": "v=0\r\n".repeat(1000)})), ErrorCode::BadSdp),
        (frame("offer", json!({"sdp": format!("v=0\n{}", "a".repeat(MAX_SDP_BYTES))})), ErrorCode::TooLarge),
        (r#"{"type":"join_room"}"#.into(), ErrorCode::BadRoom),
        (r#"{"type":"join_room","data":{"room_name":5}}"#.into(), ErrorCode::BadRoom),
        (r#"{"type":"join_room","data":{"room_name":""}}"#.into(), ErrorCode::BadRoom),
        (r#"{"type":"join_room","data":{"room_name":"\u0000"}}"#.into(), ErrorCode::BadRoom),
        (frame("join_room", json!({"room_name": "r".repeat(5000)})), ErrorCode::BadRoom),
        (r#"{"type":"join_room","data":{"room_name":"a","token":3}}"#.into(), ErrorCode::BadMessage),
        (r#"{"type":"ice_candidate","data":{"candidate":12}}"#.into(), ErrorCode::BadCandidate),
        (r#"{"type":"ice_candidate","data":{}}"#.into(), ErrorCode::BadCandidate),
        (r#"{"type":"ice_candidate","data":"candidate:1"}"#.into(), ErrorCode::BadMessage),
        (
            frame("ice_candidate", json!({"candidate": CAND, "sdpMid": "99", "sdpMLineIndex": -1})),
            ErrorCode::BadCandidate,
        ),
        (frame("ice_candidate", json!({"candidate": CAND, "sdpMLineIndex": 70000})), ErrorCode::BadCandidate),
        (
            frame("ice_candidate", json!({"candidate": CAND, "sdpMid": "m".repeat(100)})),
            ErrorCode::BadCandidate,
        ),
        (
            frame(
                "ice_candidate",
                json!({"candidate": "candidate:1 1 udp 99999999999999999999 1.2.3.4 70000 typ host", "sdpMid": "0"}),
            ),
            ErrorCode::BadCandidate,
        ),
        (
            frame(
                "ice_candidate",
                json!({"candidate": format!("candidate:{}", "1 ".repeat(60_000)), "sdpMid": "0"}),
            ),
            ErrorCode::BadCandidate,
        ),
    ];
    assert!(cases.len() >= 30);
    for (input, want) in &cases {
        let e = ClientMessage::decode(input).unwrap_err();
        assert_eq!(e.code, *want, "input {}", quote(input));
        assert!(e.message.len() < 200, "error message quotes too much: {}", e.message);
    }
}

#[test]
fn non_utf8_bytes_never_reach_the_decoder_as_text() {
    let bytes = [0xff, 0xfe, b'{'];
    let lossy = String::from_utf8_lossy(&bytes);
    assert_eq!(ClientMessage::decode(&lossy).unwrap_err().code, ErrorCode::BadJson);
}

#[test]
fn server_messages_round_trip() {
    let msgs = [
        ServerMessage::JoinedRoom {
            room: "r".into(),
            peer_id: "p1".into(),
            peers: vec!["p0".into()],
            ice_servers: vec![IceServer {
                urls: vec!["turn:127.0.0.1:3478".into()],
                username: Some("u".into()),
                credential: Some("c".into()),
            }],
        },
        ServerMessage::PeerJoined { peer_id: "p".into() },
        ServerMessage::PeerLeft { peer_id: "p".into() },
        ServerMessage::Offer { sdp: SDP.into() },
        ServerMessage::Answer { sdp: SDP.into() },
        ServerMessage::Error { code: ErrorCode::NotInRoom, message: "\"x\"".into() },
        ServerMessage::Redirect { url: "ws://127.0.0.1:8080/ws".into() },
        ServerMessage::Redirect { url: "wss://[::1]:443/ws?x=1".into() },
    ];
    for m in msgs {
        assert_eq!(ServerMessage::decode(&m.encode()).unwrap(), m);
    }
}

#[test]
fn hostile_redirects_are_refused_with_a_reason() {
    let long = format!("ws://h/{}", "a".repeat(600));
    let cases = [
        json!({}),
        json!({"url": null}),
        json!({"url": 5}),
        json!({"url": ""}),
        json!({"url": "http://127.0.0.1/ws"}),
        json!({"url": "javascript:alert(1)"}),
        json!({"url": "ws://"}),
        json!({"url": "ws:///ws"}),
        json!({"url": "ws://:80/ws"}),
        json!({"url": "ws://user:pw@host/ws"}),
        json!({"url": "ws://host/ws\r\nX: y"}),
        json!({"url": "ws://host /ws"}),
        json!({"url": long}),
    ];
    for data in cases {
        let e = ServerMessage::decode(&frame("redirect", data.clone())).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadMessage, "{data}");
        assert!(e.message.len() < 200, "{}", e.message);
    }
}

#[test]
fn violating_encodings_are_caught_by_the_decoder() {
    let c = CandidateInit { candidate: CAND.into(), sdp_mid: "0".into(), sdp_mline_index: 0 };
    for v in [Violation::F3Prefix, Violation::F3Nested, Violation::F3Null, Violation::F3Grammar] {
        let e = ServerMessage::decode(&ServerMessage::encode_violating(&c, v)).unwrap_err();
        assert_eq!(e.violation, Some(v));
    }
}

#[test]
fn browser_ice_server_lists_parse_and_bad_ones_say_why() {
    let js = r#"[{"urls":"stun:h:80"},{"urls":["turn:h:80?transport=tcp","turn:h:443?transport=tcp"],"username":"u","credential":"c"}]"#;
    let s = parse_ice_servers_json(js).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].urls.len(), 2);
    for bad in ["", "{}", "[1]", r#"[{"username":"u"}]"#, r#"[{"urls":[]}]"#, "[", r#"[{"urls":5}]"#] {
        assert!(parse_ice_servers_json(bad).is_err(), "{bad}");
    }
}

#[test]
fn ice_server_debug_redacts_credentials() {
    let s = IceServer { urls: vec![], username: Some("alice".into()), credential: Some("s3cret".into()) };
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("s3cret") && !dbg.contains("alice"));
}
