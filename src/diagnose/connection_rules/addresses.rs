//! The addresses a server offers: only loopback/private ones while the call went through a
//! public page or server; or ones that never answered, the call connecting only through an
//! address learned from the server's own checks.

use core::net::IpAddr;

use super::finding;
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::Event;
use crate::signal::candidate::CandidateType;

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_loopback() || v.is_private() || v.is_link_local(),
        IpAddr::V6(v) => {
            v.is_loopback() || (v.segments()[0] & 0xfe00) == 0xfc00 || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The host of `scheme://host[:port]/…`, if it is an IP literal.
fn url_ip(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next()?.parse().ok();
    }
    host.split(':').next()?.parse().ok()
}

/// Every remote candidate is loopback or private while the page or server is public: the
/// server advertises addresses no browser outside its network can reach.
pub(super) fn private_only(c: &Connection) -> Option<Finding> {
    let url = c.page.clone().or_else(|| {
        c.records.iter().find_map(|r| match &r.stamped.event {
            Event::SignalingConnected { url } => Some(url.clone()),
            _ => None,
        })
    })?;
    let public = url_ip(&url).is_none_or(|ip| !private(ip));
    let remote: Vec<(&str, &str)> = c
        .records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::RemoteCandidate { candidate, .. } => Some((candidate.address.as_str(), r.origin.as_str())),
            _ => None,
        })
        .collect();
    let all_private = !remote.is_empty() && remote.iter().all(|(a, _)| a.parse().is_ok_and(private));
    (public && all_private).then(|| {
        finding(
            "REMOTE-PRIVATE-ONLY",
            "the server offers only loopback/private addresses",
            remote
                .iter()
                .map(|(a, o)| format!("{o}: remote candidate {a}"))
                .collect::<Vec<_>>()
                .into_iter()
                .chain([format!("the call was made through {url}")])
                .collect(),
            "give the server's peer connections a public address (or a NAT 1:1 mapping) or a TURN server",
        )
    })
}

/// Our own peer connected through a peer-reflexive server address while none of the
/// candidates the server advertised was the one: the server's checks reached us from an address
/// it never told us about (a wrong `nat_1_1_mapping`, a container address in the answer).
/// On one machine or a permissive NAT that still connects; behind a real NAT it does not.
/// Browsers' files are left alone: Firefox on loopback selects peer-reflexive pairs by design.
pub(super) fn advertised_silent(c: &Connection) -> Option<Finding> {
    if !c.own {
        return None;
    }
    let selected = c.records.iter().rev().find_map(|r| match &r.stamped.event {
        Event::SelectedPair { remote, .. } => Some((remote, r.origin.as_str())),
        _ => None,
    })?;
    let advertised: Vec<String> = c
        .records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::RemoteCandidate { candidate, .. } => Some(format!(
                "{} {} {}:{}",
                candidate.typ, candidate.protocol, candidate.address, candidate.port
            )),
            _ => None,
        })
        .collect();
    let (remote, origin) = selected;
    let learned = remote.typ == CandidateType::Prflx;
    let was_advertised =
        advertised.iter().any(|a| a.ends_with(&format!(" {}:{}", remote.address, remote.port)));
    (learned && !was_advertised && !advertised.is_empty()).then(|| {
        let mut evidence = vec![format!(
            "{origin}: selected remote {}:{} is peer-reflexive, learned from the server's own checks",
            remote.address, remote.port
        )];
        evidence.push(format!("the server advertised only {}", advertised.join(", ")));
        finding(
            "ADVERTISED-SILENT",
            "none of the addresses the server advertised answered; the call connected only through the server's own checks",
            evidence,
            "advertise the address the server's media really leaves from (Janus: nat_1_1_mapping / ice_enforce_list; a container: its host's address, or a TURN server): this works on one machine or a permissive NAT and fails behind any real NAT",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ip_literal_hosts_are_read_from_a_url() {
        assert_eq!(url_ip("ws://[::1]:80/x"), Some("::1".parse().unwrap()));
        assert_eq!(url_ip("wss://user@10.0.0.1:443/ws"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(url_ip("wss://example.com/ws"), None);
        assert_eq!(url_ip("nonsense"), None);
    }

    fn cand(typ: CandidateType, address: &str, port: u16) -> crate::diagnose::timeline::CandidateInfo {
        crate::diagnose::timeline::CandidateInfo {
            typ,
            protocol: "udp".into(),
            address: address.into(),
            port,
            related: None,
            url: None,
        }
    }

    fn own(advertised: &[(&str, u16)], selected: crate::diagnose::timeline::CandidateInfo) -> Connection {
        use crate::diagnose::timeline::{Timeline, Via};
        let mut t = Timeline::new();
        for (a, p) in advertised {
            t.push(
                1,
                Event::RemoteCandidate {
                    candidate: cand(CandidateType::Host, a, *p),
                    via: Via::Sdp,
                    buffered: false,
                },
            );
        }
        let local = cand(CandidateType::Host, "192.0.2.2", 5000);
        t.push(2, Event::SelectedPair { local, remote: selected, rtt_ms: None });
        Connection::from_timeline("me", &t)
    }

    #[test]
    fn a_call_through_an_unadvertised_peer_reflexive_address_is_named() {
        let c = own(&[("127.0.0.9", 4000)], cand(CandidateType::Prflx, "192.0.2.2", 4000));
        let f = advertised_silent(&c).expect("a finding");
        assert_eq!(f.code, "ADVERTISED-SILENT");
        assert!(f.evidence[0].contains("192.0.2.2:4000 is peer-reflexive"));
        assert!(f.evidence[1].contains("host udp 127.0.0.9:4000"));
        // Through an advertised address, or a host pair: nothing to say.
        assert!(
            advertised_silent(&own(&[("192.0.2.2", 4000)], cand(CandidateType::Host, "192.0.2.2", 4000)))
                .is_none()
        );
        assert!(
            advertised_silent(&own(&[("192.0.2.2", 4000)], cand(CandidateType::Prflx, "192.0.2.2", 4000)))
                .is_none()
        );
        // A browser's file (Firefox selects prflx on loopback by design) is not ours to judge so.
        let mut browser = c.clone();
        browser.own = false;
        assert!(advertised_silent(&browser).is_none());
    }
}
