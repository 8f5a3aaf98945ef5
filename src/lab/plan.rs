//! The network lab's pure parts: where each host stands (public, behind one of the four NAT
//! types, behind a UDP-blocking firewall), the address plan (documentation ranges only:
//! 203.0.113.0/24 is the lab's internet, 198.51.100.0/24 is cut into one /28 LAN per site), the
//! namespace names under a per-run prefix, and the nftables ruleset text of each site's router.
//! `src/lab/` turns a [`Plan`] into namespaces, veth pairs, routes, rulesets and `tc netem`.

use core::net::Ipv4Addr;
use std::fmt;
use std::str::FromStr;

/// Every lab namespace starts with this (`rtc-assist lab cleanup` removes what carries it).
pub const PREFIX: &str = "rtclab-";
/// At most this many hosts in one lab (one /28 LAN each in 198.51.100.0/24).
pub const MAX_HOSTS: usize = 14;

/// RFC 4787 NAT behaviour, named the way the guide and RFC 3489 users name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatType {
    /// Endpoint-independent mapping and filtering: anyone may send to the mapping.
    FullCone,
    /// Endpoint-independent mapping, address-dependent filtering.
    AddressRestricted,
    /// Endpoint-independent mapping, address-and-port-dependent filtering.
    PortRestricted,
    /// Address-and-port-dependent mapping: a new mapped port for every destination.
    Symmetric,
}

/// Where a host stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the lab's internet with a 203.0.113.0/24 address.
    Public,
    /// On a private LAN behind a NAT router of this type.
    Nat(NatType),
    /// Behind an office firewall: port-restricted NAT, every UDP packet dropped, only TCP to
    /// ports 80 and 443 let out.
    UdpBlocked,
}

pub const PLACEMENTS: [(&str, Placement, &str); 6] = [
    ("public", Placement::Public, "on the internet, no NAT"),
    ("full-cone", Placement::Nat(NatType::FullCone), "endpoint-independent mapping and filtering"),
    (
        "address-restricted",
        Placement::Nat(NatType::AddressRestricted),
        "endpoint-independent mapping, replies only from contacted addresses",
    ),
    (
        "port-restricted",
        Placement::Nat(NatType::PortRestricted),
        "endpoint-independent mapping, replies only from contacted address:port (a home router)",
    ),
    (
        "symmetric",
        Placement::Nat(NatType::Symmetric),
        "a new mapped port per destination (carrier-grade / some corporate NATs)",
    ),
    ("udp-blocked", Placement::UdpBlocked, "NAT plus a firewall that drops UDP and lets out TCP 80/443 only"),
];

impl FromStr for Placement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PLACEMENTS.iter().find(|(n, ..)| *n == s).map(|(_, p, _)| *p).ok_or_else(|| {
            let names: Vec<&str> = PLACEMENTS.iter().map(|(n, ..)| *n).collect();
            format!("{s:?} is not a placement (one of {})", names.join(", "))
        })
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = PLACEMENTS.iter().find(|(_, p, _)| p == self).map_or("?", |(n, ..)| n);
        f.write_str(name)
    }
}

/// `tc netem` conditions on a host's link (both directions).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkConditions {
    pub delay_ms: u64,
    pub jitter_ms: u64,
    pub loss_pct: f64,
}

impl LinkConditions {
    /// The `tc qdisc add dev DEV root` arguments after `netem` (delay and jitter; loss is
    /// the host's nftables [`link_ruleset`], which works on kernels without `sch_netem`).
    pub fn netem_args(&self) -> Option<Vec<String>> {
        if self.delay_ms == 0 && self.jitter_ms == 0 {
            return None;
        }
        let mut args = vec!["delay".to_owned(), format!("{}ms", self.delay_ms)];
        if self.jitter_ms > 0 {
            args.push(format!("{}ms", self.jitter_ms));
        }
        Some(args)
    }
}

/// The nftables ruleset that drops `loss_pct` % of what arrives on `device` (empty when there
/// is no loss). Put on both ends of a link it loses packets each way, silently: a drop at
/// ingress is invisible to the sender, where one in the output hook would fail its send.
pub fn link_ruleset(link: &LinkConditions, device: &str) -> String {
    if link.loss_pct <= 0.0 {
        return String::new();
    }
    let per_10k = (link.loss_pct * 100.0).round() as u32;
    format!(
        "table netdev link-{device} {{\n  chain ingress {{\n    \
         type filter hook ingress device \"{device}\" priority filter; policy accept;\n    \
         numgen random mod 10000 < {per_10k} drop\n  }}\n}}\n"
    )
}

/// One host asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSpec {
    pub name: String,
    pub placement: Placement,
    pub link: LinkConditions,
    /// TCP ports the host's router forwards to it from its public address (a server behind NAT).
    pub forward_tcp: Vec<u16>,
}

impl HostSpec {
    pub fn new(name: &str, placement: Placement) -> Self {
        Self { name: name.to_owned(), placement, link: LinkConditions::default(), forward_tcp: Vec::new() }
    }
}

/// A host with its addresses and namespaces.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPlan {
    pub spec: HostSpec,
    /// The host's namespace.
    pub ns: String,
    /// The host's own address (public, or on its LAN).
    pub addr: Ipv4Addr,
    /// What the internet sees: its own address, or its router's.
    pub public_addr: Ipv4Addr,
    /// Behind a router: the router's namespace and its LAN address (the host's gateway).
    pub router: Option<(String, Ipv4Addr)>,
}

/// A whole lab: the internet namespace (a bridge every public interface hangs on) and hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub prefix: String,
    pub internet_ns: String,
    pub hosts: Vec<HostPlan>,
}

/// Prefix length of the lab internet and of each LAN.
pub const INTERNET_PREFIX_LEN: u8 = 24;
pub const LAN_PREFIX_LEN: u8 = 28;

fn valid_host_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 16 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Plan {
    /// Lays out `hosts` under `prefix` (a [`PREFIX`]ed run id). Host `i` that is public gets
    /// 203.0.113.(10+i); one behind a router gets 198.51.100.(16i+2)/28 with the router at .1
    /// and the router's public side at 203.0.113.(100+i).
    pub fn new(prefix: &str, hosts: &[HostSpec]) -> Result<Self, String> {
        if !prefix.starts_with(PREFIX) || prefix.len() > 32 {
            return Err(format!("lab prefix {prefix:?} must start with {PREFIX:?}"));
        }
        if hosts.is_empty() || hosts.len() > MAX_HOSTS {
            return Err(format!("a lab has 1-{MAX_HOSTS} hosts"));
        }
        let mut plans: Vec<HostPlan> = Vec::new();
        for (i, spec) in hosts.iter().enumerate() {
            if !valid_host_name(&spec.name) {
                return Err(format!("host name {:?}: 1-16 letters, digits or '-'", spec.name));
            }
            if plans.iter().any(|p| p.spec.name == spec.name) {
                return Err(format!("host {:?} defined twice", spec.name));
            }
            let i = i as u8;
            let ns = format!("{prefix}{}", spec.name);
            let (addr, public_addr, router) = match spec.placement {
                Placement::Public => {
                    let a = Ipv4Addr::new(203, 0, 113, 10 + i);
                    (a, a, None)
                }
                Placement::Nat(_) | Placement::UdpBlocked => {
                    let gw = Ipv4Addr::new(198, 51, 100, 16 * i + 1);
                    let router = (format!("{prefix}r-{}", spec.name), gw);
                    (
                        Ipv4Addr::new(198, 51, 100, 16 * i + 2),
                        Ipv4Addr::new(203, 0, 113, 100 + i),
                        Some(router),
                    )
                }
            };
            plans.push(HostPlan { spec: spec.clone(), ns, addr, public_addr, router });
        }
        Ok(Self { prefix: prefix.to_owned(), internet_ns: format!("{prefix}inet"), hosts: plans })
    }

    pub fn host(&self, name: &str) -> Option<&HostPlan> {
        self.hosts.iter().find(|h| h.spec.name == name)
    }

    /// Every namespace of the lab, the internet first.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all = vec![self.internet_ns.clone()];
        for h in &self.hosts {
            all.extend(h.router.as_ref().map(|(ns, _)| ns.clone()));
            all.push(h.ns.clone());
        }
        all
    }
}

/// The nftables ruleset of the router in front of `host` (interfaces `wan` and `lan`).
pub fn router_ruleset(host: &HostPlan) -> String {
    let (wan, lan) = (host.public_addr, host.addr);
    let mut out = String::from("flush ruleset\ntable ip lab {\n");
    let nat = match host.spec.placement {
        Placement::Nat(t) => t,
        Placement::UdpBlocked => NatType::PortRestricted,
        Placement::Public => return String::new(),
    };
    if nat == NatType::AddressRestricted {
        // Per mapping: which addresses each (port-preserved) mapped port has sent to.
        out.push_str(
            "  set contacted { type ipv4_addr . inet_service; flags dynamic, timeout; timeout 5m; }\n",
        );
    }
    out.push_str("  chain forward {\n    type filter hook forward priority filter; policy drop;\n");
    out.push_str("    ct state established,related accept\n");
    if host.spec.placement == Placement::UdpBlocked {
        out.push_str("    iifname \"lan\" meta l4proto udp counter drop\n");
        out.push_str("    iifname \"lan\" tcp dport { 80, 443 } accept\n");
    } else {
        if nat == NatType::AddressRestricted {
            out.push_str("    iifname \"lan\" meta l4proto udp add @contacted { ip daddr . udp sport }\n");
        }
        out.push_str("    iifname \"lan\" accept\n");
    }
    // What the prerouting chain translated towards the host is let through.
    out.push_str("    iifname \"wan\" ct status dnat accept\n  }\n");
    out.push_str("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n");
    for port in &host.spec.forward_tcp {
        out.push_str(&format!("    iifname \"wan\" tcp dport {port} dnat to {lan}\n"));
    }
    // Unsolicited UDP to the mapping: a cone NAT hands it to the host (ports are preserved,
    // so the mapped port is the host's own).
    match nat {
        NatType::FullCone => out.push_str(&format!("    iifname \"wan\" meta l4proto udp dnat to {lan}\n")),
        NatType::AddressRestricted => out.push_str(&format!(
            "    iifname \"wan\" meta l4proto udp ip saddr . udp dport @contacted dnat to {lan}\n"
        )),
        NatType::PortRestricted | NatType::Symmetric => {}
    }
    out.push_str(
        "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n",
    );
    let how = if nat == NatType::Symmetric { " fully-random" } else { " persistent" };
    out.push_str(&format!("    oifname \"wan\" snat to {wan}{how}\n  }}\n}}\n"));
    out
}

/// The process id a lab namespace's name carries (`rtclab-<pid>-<n>-<host>`), so that a
/// cleanup can tell a dead run's leftovers from a running lab.
pub fn owner_pid(ns: &str) -> Option<u32> {
    ns.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Whether `/proc/self/status` text grants CAP_NET_ADMIN (bit 12 of `CapEff`).
pub fn has_net_admin(proc_status: &str) -> bool {
    proc_status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 12) != 0)
}

/// A named topology for `lab exec`/`lab topologies`: a client placed as named, a public
/// `server` and a public `turn` host.
pub fn topology(name: &str) -> Result<Vec<HostSpec>, String> {
    let (placement, link) = match name {
        // Loss only: delay and jitter need the kernel's netem, which not every kernel has.
        "lossy-mobile" => {
            (Placement::Nat(NatType::Symmetric), LinkConditions { loss_pct: 10.0, ..Default::default() })
        }
        other => (other.parse::<Placement>()?, LinkConditions::default()),
    };
    let mut client = HostSpec::new("client", placement);
    client.link = link;
    Ok(vec![client, HostSpec::new("server", Placement::Public), HostSpec::new("turn", Placement::Public)])
}

/// The names [`topology`] knows, with one line each.
pub fn topologies() -> Vec<(&'static str, &'static str)> {
    PLACEMENTS
        .iter()
        .map(|(n, _, what)| (*n, *what))
        .chain([("lossy-mobile", "symmetric NAT on a link that loses 10 % of packets each way")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(placements: &[Placement]) -> Plan {
        let hosts: Vec<HostSpec> =
            placements.iter().enumerate().map(|(i, p)| HostSpec::new(&format!("h{i}"), *p)).collect();
        Plan::new("rtclab-1-0-", &hosts).unwrap()
    }

    #[test]
    fn addresses_come_from_the_documentation_ranges_only_and_never_collide() {
        let p = plan(
            &[Placement::Public; 7].iter().chain(&[Placement::UdpBlocked; 7]).copied().collect::<Vec<_>>(),
        );
        let mut seen = std::collections::BTreeSet::new();
        for h in &p.hosts {
            let mut addrs = vec![h.addr, h.public_addr];
            addrs.extend(h.router.as_ref().map(|(_, gw)| *gw));
            for a in addrs {
                let o = a.octets();
                assert!(o[..3] == [203, 0, 113] || o[..3] == [198, 51, 100], "{a}");
            }
            assert!(seen.insert(h.public_addr), "{} twice", h.public_addr);
        }
        let natted = p.host("h13").unwrap();
        assert_eq!(natted.addr, Ipv4Addr::new(198, 51, 100, 210));
        assert_eq!(natted.router.as_ref().unwrap().1, Ipv4Addr::new(198, 51, 100, 209));
        assert_eq!(p.namespaces().len(), 1 + 7 + 14);
        assert!(p.namespaces().iter().all(|n| n.starts_with("rtclab-1-0-")));
    }

    #[test]
    fn hostile_plans_are_refused() {
        let one = [HostSpec::new("a", Placement::Public)];
        assert!(Plan::new("other-", &one).is_err());
        assert!(Plan::new("rtclab-", &[]).is_err());
        let many: Vec<HostSpec> =
            (0..15).map(|i| HostSpec::new(&format!("h{i}"), Placement::Public)).collect();
        assert!(Plan::new("rtclab-", &many).unwrap_err().contains("1-14"));
        for name in ["", "a/b", "a b", "x;rm", &"n".repeat(17)] {
            assert!(Plan::new("rtclab-", &[HostSpec::new(name, Placement::Public)]).is_err(), "{name:?}");
        }
        let twice = [HostSpec::new("a", Placement::Public), HostSpec::new("a", Placement::UdpBlocked)];
        assert!(Plan::new("rtclab-", &twice).unwrap_err().contains("twice"));
        assert!("cone".parse::<Placement>().unwrap_err().contains("symmetric"));
        assert!(topology("nowhere").is_err());
    }

    #[test]
    fn each_nat_type_has_its_own_mapping_and_filtering_rules() {
        let p = plan(&[
            Placement::Nat(NatType::FullCone),
            Placement::Nat(NatType::AddressRestricted),
            Placement::Nat(NatType::PortRestricted),
            Placement::Nat(NatType::Symmetric),
            Placement::UdpBlocked,
            Placement::Public,
        ]);
        let rules: Vec<String> = p.hosts.iter().map(router_ruleset).collect();
        assert!(
            rules[0].contains("meta l4proto udp dnat to 198.51.100.2") && rules[0].contains("persistent")
        );
        assert!(rules[1].contains("add @contacted { ip daddr . udp sport }"));
        assert!(rules[1].contains("ip saddr . udp dport @contacted dnat to 198.51.100.18"));
        assert!(!rules[2].contains("dnat to"), "{}", rules[2]);
        assert!(rules[3].contains("snat to 203.0.113.103 fully-random") && !rules[3].contains("dnat to"));
        assert!(
            rules[4].contains("meta l4proto udp counter drop") && rules[4].contains("tcp dport { 80, 443 }")
        );
        assert!(rules[5].is_empty());
        for r in &rules[..5] {
            assert!(r.contains("policy drop") && r.contains("ct state established,related accept"), "{r}");
        }
    }

    #[test]
    fn a_server_behind_nat_gets_its_tcp_ports_forwarded() {
        let mut s = HostSpec::new("server", Placement::Nat(NatType::Symmetric));
        s.forward_tcp = vec![443];
        let p = Plan::new("rtclab-x-", &[s]).unwrap();
        assert!(router_ruleset(&p.hosts[0]).contains("tcp dport 443 dnat to 198.51.100.2"));
    }

    #[test]
    fn netem_arguments_and_capabilities() {
        let l = LinkConditions { delay_ms: 80, jitter_ms: 30, loss_pct: 5.0 };
        assert_eq!(l.netem_args().unwrap(), ["delay", "80ms", "30ms"]);
        assert_eq!(LinkConditions { loss_pct: 5.0, ..Default::default() }.netem_args(), None);
        let rules = link_ruleset(&l, "lan");
        assert!(
            rules.contains("hook ingress device \"lan\"") && rules.contains("mod 10000 < 500 drop"),
            "{rules}"
        );
        assert!(link_ruleset(&LinkConditions::default(), "eth0").is_empty());
        assert!(has_net_admin("Name:\tx\nCapEff:\t000001ffffffffff\n"));
        assert!(!has_net_admin("CapEff:\t0000000000000000\n"));
        assert!(!has_net_admin("CapEff:\tzz\n") && !has_net_admin(""));
        assert_eq!(topology("lossy-mobile").unwrap()[0].link.loss_pct, 10.0);
        assert_eq!(topologies().len(), 7);
        assert_eq!(owner_pid("rtclab-4242-3-r-client"), Some(4242));
        for other in ["rtclab-", "rtclab--1-x", "rtclab-x-1", "netns0", "rtclab-99999999999-0-a"] {
            assert_eq!(owner_pid(other), None, "{other}");
        }
    }
}
