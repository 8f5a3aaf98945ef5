//! Property tests: every valid STUN/TURN URL displays as a URL that parses back to it.

use core::net::IpAddr;

use proptest::prelude::*;

use super::{IceUrl, Scheme, Transport};

fn host() -> impl Strategy<Value = String> {
    prop_oneof![any::<IpAddr>().prop_map(|ip| ip.to_string()), "[a-z0-9][a-z0-9.-]{0,40}"]
}

fn url() -> impl Strategy<Value = IceUrl> {
    let scheme = prop::sample::select(vec![Scheme::Stun, Scheme::Stuns, Scheme::Turn, Scheme::Turns]);
    let transport = prop::option::of(prop::sample::select(vec![Transport::Udp, Transport::Tcp]));
    (scheme, host(), 1u16..=65535, transport).prop_map(|(scheme, host, port, transport)| IceUrl {
        scheme,
        host,
        port,
        // RFC 7064: stun: URLs take no query.
        explicit_transport: if matches!(scheme, Scheme::Turn | Scheme::Turns) { transport } else { None },
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn displayed_urls_parse_back(u in url()) {
        prop_assert_eq!(IceUrl::parse(&u.to_string()), Ok(u));
    }
}
