//! Property tests: every well-formed candidate prints as an attribute that parses back to it.
//! The generator is shared with the protocol's round-trip tests.

use std::net::IpAddr;

use proptest::prelude::*;

use super::{Candidate, CandidateType, TcpType};

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<IpAddr>().prop_map(|ip| ip.to_string()),
        "[0-9a-f]{8}-[0-9a-f]{4}\\.local",
        "[a-z][a-z0-9-]{0,20}(\\.[a-z0-9-]{1,20}){1,3}",
    ]
}

/// Any candidate the grammar allows, in the parser's normal form (lower-case transport, no
/// `raddr`/`rport`/`tcptype` among the extensions).
pub(crate) fn candidate() -> impl Strategy<Value = Candidate> {
    let typ = prop::sample::select(CandidateType::ALL.to_vec());
    let tcp_type =
        prop::option::of(prop::sample::select(vec![TcpType::Active, TcpType::Passive, TcpType::So]));
    let extension = ("[a-z][a-z0-9-]{0,15}", "[!-~]{1,16}")
        .prop_filter("reserved names", |(n, _)| !matches!(n.as_str(), "raddr" | "rport" | "tcptype"));
    (
        ("[A-Za-z0-9+/]{1,32}", 1u16..=256, "udp|tcp|[a-z0-9_-]{1,8}", any::<u32>()),
        (address(), any::<u16>(), typ),
        (prop::option::of((address(), any::<u16>())), tcp_type, prop::collection::vec(extension, 0..4)),
    )
        .prop_map(
            |(
                (foundation, component, transport, priority),
                (address, port, typ),
                (related, tcp_type, extensions),
            )| {
                Candidate {
                    foundation,
                    component,
                    transport,
                    priority,
                    address,
                    port,
                    typ,
                    related,
                    tcp_type,
                    extensions,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn printed_candidates_parse_back(c in candidate()) {
        let printed = c.to_string();
        prop_assert_eq!(Candidate::parse(&printed), Ok(c.clone()));
        prop_assert_eq!(Candidate::parse(&format!("a={printed}")), Ok(c.clone()));
        prop_assert_eq!(Candidate::parse(printed.strip_prefix("candidate:").unwrap()), Ok(c));
    }
}
