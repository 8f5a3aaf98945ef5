//! The peer addresses a public TURN server refuses to relay to (RFC 8656 §21, RFC 6890 and the
//! IANA special-purpose registries): loopback, private, shared (CGNAT), link-local, reserved,
//! benchmarking, documentation, broadcast and multicast ranges, and IPv6 outside global unicast
//! (2000::/3). IPv6 forms that carry an IPv4
//! address (mapped, compatible, 6to4, NAT64, Teredo) are judged by the IPv4 inside them, so
//! `::ffff:127.0.0.1` or `2002:7f00:1::` cannot smuggle a loopback peer past the check.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IPv4 ranges refused, with their names (RFC 6890 §2.2.2 and the IANA registry).
const V4_DENIED: &[(u32, u8, &str)] = &[
    (0x0000_0000, 8, "\"this network\" 0.0.0.0/8"),
    (0x0a00_0000, 8, "private 10.0.0.0/8"),
    (0x6440_0000, 10, "shared address space (CGNAT) 100.64.0.0/10"),
    (0x7f00_0000, 8, "loopback 127.0.0.0/8"),
    (0xa9fe_0000, 16, "link-local 169.254.0.0/16"),
    (0xac10_0000, 12, "private 172.16.0.0/12"),
    (0xc000_0000, 24, "IETF protocol assignments 192.0.0.0/24"),
    (0xc000_0200, 24, "documentation 192.0.2.0/24"),
    (0xc0a8_0000, 16, "private 192.168.0.0/16"),
    (0xc612_0000, 15, "benchmarking 198.18.0.0/15"),
    (0xc633_6400, 24, "documentation 198.51.100.0/24"),
    (0xcb00_7100, 24, "documentation 203.0.113.0/24"),
    (0xe000_0000, 4, "multicast 224.0.0.0/4"),
    // 255.255.255.255 (limited broadcast) lies inside it.
    (0xf000_0000, 4, "reserved 240.0.0.0/4 (and broadcast)"),
];

/// The IPv6 ranges refused outright, with their names.
const V6_DENIED: &[(u128, u8, &str)] = &[
    (0x0064_ff9b_0001 << 80, 48, "local-use NAT64 64:ff9b:1::/48"),
    (0x0100 << 112, 64, "discard-only 100::/64"),
    (0x2001_0002 << 96, 48, "benchmarking 2001:2::/48"),
    (0x2001_0db8 << 96, 32, "documentation 2001:db8::/32"),
    (0x3fff << 112, 20, "documentation 3fff::/20"),
    (0xfc00 << 112, 7, "unique local fc00::/7"),
    (0xfe80 << 112, 10, "link-local fe80::/10"),
    (0xfec0 << 112, 10, "site-local fec0::/10"),
    (0xff00 << 112, 8, "multicast ff00::/8"),
];

fn in_prefix(bits: u128, width: u32, net: u128, len: u8) -> bool {
    let shift = width - u32::from(len);
    (bits >> shift) == (net >> shift)
}

/// Why `ip` must not be a relay peer — the name of its range — or `None` for a global address.
pub fn internal_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

/// True for addresses a public TURN server must not relay to (see [`internal_range`]).
pub fn is_internal_address(ip: IpAddr) -> bool {
    internal_range(ip).is_some()
}

fn v4_range(v4: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(v4);
    V4_DENIED
        .iter()
        .find(|(net, len, _)| in_prefix(u128::from(bits), 32, u128::from(*net), *len))
        .map(|(_, _, name)| *name)
}

fn v4_at(bits: u128, shift: u32) -> Ipv4Addr {
    Ipv4Addr::from((bits >> shift) as u32)
}

fn v6_range(v6: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(v6);
    if v6.is_unspecified() {
        return Some("unspecified ::");
    }
    if v6.is_loopback() {
        return Some("loopback ::1");
    }
    if let Some(name) = V6_DENIED.iter().find(|(net, len, _)| in_prefix(bits, 128, *net, *len)) {
        return Some(name.2);
    }
    // Forms carrying an IPv4 address: judged by that address.
    let embedded = if in_prefix(bits, 128, 0xffff << 32, 96) || in_prefix(bits, 128, 0, 96) {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
        vec![v4_at(bits, 0)]
    } else if in_prefix(bits, 128, 0x0064_ff9b << 96, 96) {
        // NAT64 well-known prefix (RFC 6052): the IPv4 address is the last 32 bits.
        vec![v4_at(bits, 0)]
    } else if in_prefix(bits, 128, 0x2002 << 112, 16) {
        // 6to4 (RFC 3056): 2002:AABB:CCDD::/48.
        vec![v4_at(bits, 80)]
    } else if in_prefix(bits, 128, 0x2001_0000 << 96, 32) {
        // Teredo (RFC 4380): the server's IPv4 in bits 32..64, the client's obfuscated
        // (inverted) in the last 32 bits.
        vec![v4_at(bits, 64), Ipv4Addr::from(!(bits as u32))]
    } else {
        return (!in_prefix(bits, 128, 0x2000 << 112, 3)).then_some("not global unicast (outside 2000::/3)");
    };
    embedded.into_iter().find_map(v4_range)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every IPv6 form that carries `v4`, each labelled.
    fn v6_forms(v4: Ipv4Addr) -> Vec<(String, Ipv6Addr)> {
        let b = u128::from(u32::from(v4));
        vec![
            ("mapped".into(), v4.to_ipv6_mapped()),
            ("compatible".into(), Ipv6Addr::from(b)),
            ("6to4".into(), Ipv6Addr::from((0x2002 << 112) | (b << 80) | 1)),
            ("NAT64".into(), Ipv6Addr::from((0x0064_ff9b << 96) | b)),
            (
                "Teredo client".into(),
                Ipv6Addr::from((0x2001_0000 << 96) | (0x0808_0808 << 64) | (!b & 0xffff_ffff)),
            ),
            ("Teredo server".into(), Ipv6Addr::from((0x2001_0000 << 96) | (b << 64) | 0xf7f7_f7f7)),
        ]
    }

    #[test]
    fn the_deny_list_table() {
        // Pure data: none of these addresses is ever contacted.
        let table: &[(&str, bool)] = &[
            ("127.0.0.1", true),
            ("127.255.255.254", true),
            ("0.0.0.0", true),
            ("0.1.2.3", true),
            ("10.0.0.1", true),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.1", false),
            ("192.168.1.1", true),
            ("100.64.0.1", true),
            ("100.127.255.255", true),
            ("100.128.0.1", false),
            ("169.254.169.254", true),
            ("192.0.0.8", true),
            ("192.0.2.1", true),
            ("198.18.0.1", true),
            ("198.19.255.255", true),
            ("198.20.0.1", false),
            ("198.51.100.7", true),
            ("203.0.113.5", true),
            ("224.0.0.251", true),
            ("239.255.255.250", true),
            ("240.0.0.1", true),
            ("255.255.255.255", true),
            ("8.8.8.8", false),
            ("1.1.1.1", false),
            ("::1", true),
            ("::", true),
            ("fc00::1", true),
            ("fd12:3456::1", true),
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", true),
            ("ff02::1", true),
            ("100::1", true),
            ("100:0:0:1::1", true),
            ("4000::1", true),
            ("2001:2::1", true),
            ("2001:db8::1", true),
            ("3fff::1", true),
            ("64:ff9b:1::808:808", true),
            ("2606:4700::1111", false),
            ("2001:4860:4860::8888", false),
            ("::ffff:8.8.8.8", false),
            ("64:ff9b::8.8.8.8", false),
            ("2002:808:808::1", false),
        ];
        for (ip, denied) in table {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(is_internal_address(ip), *denied, "{ip}: {:?}", internal_range(ip));
        }
    }

    #[test]
    fn every_ipv4_in_ipv6_form_is_judged_by_its_ipv4() {
        for v4 in ["127.0.0.1", "10.0.0.1", "192.168.1.1"] {
            for (form, v6) in v6_forms(v4.parse().unwrap()) {
                assert!(is_internal_address(v6.into()), "{form} {v6} of {v4} was allowed");
            }
        }
        for (form, v6) in v6_forms(Ipv4Addr::new(8, 8, 8, 8)) {
            assert!(
                !is_internal_address(v6.into()),
                "{form} {v6} of 8.8.8.8: {:?}",
                internal_range(v6.into())
            );
        }
    }

    #[test]
    fn ranges_are_named() {
        assert_eq!(
            internal_range("100.64.1.2".parse().unwrap()),
            Some("shared address space (CGNAT) 100.64.0.0/10")
        );
        assert_eq!(internal_range("::ffff:127.0.0.1".parse().unwrap()), Some("loopback 127.0.0.0/8"));
        assert_eq!(internal_range("8.8.4.4".parse().unwrap()), None);
    }
}
