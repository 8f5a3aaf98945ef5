//! Property tests: every valid message, client or server, decodes from its encoding to itself.

use proptest::prelude::*;

use super::{CandidateInit, ClientMessage, ErrorCode, IceServer, ServerMessage};
use crate::signal::candidate::proptests::candidate;
use crate::signal::secret::Secret;

fn sdp() -> impl Strategy<Value = String> {
    ("[ -~\r\n]{0,100}", "[ -~\r\n]{0,100}").prop_map(|(head, media)| format!("v=0\r\n{head}\nm={media}"))
}

fn candidate_init() -> impl Strategy<Value = CandidateInit> {
    (candidate(), "[ -~]{0,32}", any::<u16>()).prop_map(|(c, sdp_mid, sdp_mline_index)| CandidateInit {
        candidate: c.to_string(),
        sdp_mid,
        sdp_mline_index,
    })
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        ("[^\\p{Cc}]{1,64}", prop::option::of(".{0,40}"))
            .prop_map(|(room, token)| ClientMessage::JoinRoom { room, token: token.map(Secret::new) }),
        sdp().prop_map(|sdp| ClientMessage::Offer { sdp }),
        sdp().prop_map(|sdp| ClientMessage::Answer { sdp }),
        candidate_init().prop_map(ClientMessage::Candidate),
        Just(ClientMessage::EndOfCandidates),
        Just(ClientMessage::LeaveRoom),
    ]
}

fn ice_server() -> impl Strategy<Value = IceServer> {
    (prop::collection::vec(".{0,30}", 0..3), prop::option::of(".{0,20}"), prop::option::of(".{0,20}"))
        .prop_map(|(urls, username, credential)| IceServer { urls, username, credential })
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop::sample::select(ErrorCode::ALL.to_vec())
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    let peer_id = "[!-~]{1,128}";
    prop_oneof![
        (
            ".{0,64}",
            peer_id,
            prop::collection::vec(".{0,20}", 0..4),
            prop::collection::vec(ice_server(), 0..3)
        )
            .prop_map(|(room, peer_id, peers, ice_servers)| ServerMessage::JoinedRoom {
                room,
                peer_id,
                peers,
                ice_servers
            }),
        peer_id.prop_map(|peer_id| ServerMessage::PeerJoined { peer_id }),
        peer_id.prop_map(|peer_id| ServerMessage::PeerLeft { peer_id }),
        sdp().prop_map(|sdp| ServerMessage::Offer { sdp }),
        sdp().prop_map(|sdp| ServerMessage::Answer { sdp }),
        candidate_init().prop_map(ServerMessage::Candidate),
        Just(ServerMessage::EndOfCandidates),
        (error_code(), ".{0,200}").prop_map(|(code, message)| ServerMessage::Error { code, message }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn client_messages_decode_from_their_encoding(m in client_message()) {
        prop_assert_eq!(ClientMessage::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn server_messages_decode_from_their_encoding(m in server_message()) {
        prop_assert_eq!(ServerMessage::decode(&m.encode()), Ok(m));
    }
}
