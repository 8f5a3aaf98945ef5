//! The addresses a server offers: only loopback/private ones while the call went through a
//! public page or server.

use core::net::IpAddr;

use super::finding;
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::Event;

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
}
