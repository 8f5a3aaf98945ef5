//! The ICE candidate attribute (RFC 8839 §5.1): parse, print and classify.
//!
//! ```text
//! candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
//!                       connection-address SP port SP "typ" SP cand-type
//!                       [SP "raddr" SP connection-address] [SP "rport" SP port]
//!                       *(SP extension-att-name SP extension-att-value)
//! ```
//! <https://www.rfc-editor.org/rfc/rfc8839#section-5.1>

use core::net::IpAddr;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest candidate attribute we accept; real ones are under 200 bytes.
pub const MAX_CANDIDATE_LEN: usize = 1024;

/// ICE candidate types (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CandidateType {
    Host,
    Srflx,
    Prflx,
    Relay,
}

impl CandidateType {
    pub const ALL: [CandidateType; 4] = [Self::Host, Self::Srflx, Self::Prflx, Self::Relay];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Srflx => "srflx",
            Self::Prflx => "prflx",
            Self::Relay => "relay",
        }
    }

    /// `host`, `srflx`, `prflx` or `relay`.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for CandidateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TCP candidate types (RFC 6544 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TcpType {
    Active,
    Passive,
    So,
}

impl TcpType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::So => "so",
        }
    }
}

/// One parsed candidate attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub foundation: String,
    pub component: u16,
    /// Lower-cased transport token: `udp`, `tcp` or an extension.
    pub transport: String,
    pub priority: u32,
    pub address: String,
    pub port: u16,
    pub typ: CandidateType,
    pub related: Option<(String, u16)>,
    pub tcp_type: Option<TcpType>,
    /// Other `name value` pairs, in order (e.g. `generation 0`, `ufrag abc`).
    pub extensions: Vec<(String, String)>,
}

/// Why a candidate attribute was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandidateError {
    #[error("candidate attribute is empty")]
    Empty,
    #[error("candidate attribute longer than {MAX_CANDIDATE_LEN} bytes")]
    TooLong,
    #[error("`candidate:` prefix appears more than once")]
    DoublePrefix,
    #[error("missing field: {0}")]
    Missing(&'static str),
    #[error("invalid foundation {0:?} (1-32 ice-chars)")]
    Foundation(String),
    #[error("invalid component id {0:?} (1-256)")]
    Component(String),
    #[error("invalid transport {0:?}")]
    Transport(String),
    #[error("invalid priority {0:?} (0-4294967295)")]
    Priority(String),
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("invalid port {0:?} (0-65535)")]
    Port(String),
    #[error("expected `typ`, found {0:?}")]
    TypKeyword(String),
    #[error("unknown candidate type {0:?}")]
    Type(String),
    #[error("invalid tcptype {0:?}")]
    TcpType(String),
    #[error("extension {0:?} has no value")]
    ExtensionValue(String),
}

impl Candidate {
    /// Parses an attribute with or without its single `candidate:` prefix (the SDP line form
    /// `a=candidate:` is accepted too). A doubled prefix is an error: it is the F3 bug.
    pub fn parse(input: &str) -> Result<Self, CandidateError> {
        if input.len() > MAX_CANDIDATE_LEN {
            return Err(CandidateError::TooLong);
        }
        // Fields are separated by ASCII whitespace only: a value may hold any other character,
        // U+0085 or U+3000 too, and must not lose it at the end of the line.
        let s = input.trim_ascii();
        let s = s.strip_prefix("a=").unwrap_or(s);
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        if s.trim_ascii_start().starts_with("candidate:") {
            return Err(CandidateError::DoublePrefix);
        }
        // The printed form adds the prefix and is never longer otherwise: it must parse too.
        if "candidate:".len() + s.len() > MAX_CANDIDATE_LEN {
            return Err(CandidateError::TooLong);
        }
        let mut it = s.split_ascii_whitespace();
        let foundation = it.next().ok_or(CandidateError::Empty)?;
        if foundation.is_empty()
            || foundation.len() > 32
            || !foundation.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
        {
            return Err(CandidateError::Foundation(foundation.into()));
        }
        let component = next(&mut it, "component")?;
        let component = component
            .parse::<u16>()
            .ok()
            .filter(|c| (1..=256).contains(c))
            .ok_or_else(|| CandidateError::Component(component.into()))?;
        let transport = next(&mut it, "transport")?;
        if !transport.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(CandidateError::Transport(transport.into()));
        }
        let priority = next(&mut it, "priority")?;
        let priority = priority.parse::<u32>().map_err(|_| CandidateError::Priority(priority.into()))?;
        let address = parse_address(next(&mut it, "address")?)?;
        let port = parse_port(next(&mut it, "port")?)?;
        let typ_kw = next(&mut it, "typ")?;
        if typ_kw != "typ" {
            return Err(CandidateError::TypKeyword(typ_kw.into()));
        }
        let typ = next(&mut it, "candidate type")?;
        let typ = CandidateType::from_name(typ).ok_or_else(|| CandidateError::Type(typ.into()))?;

        let mut related_addr = None;
        let mut related_port = None;
        let mut tcp_type = None;
        let mut extensions = Vec::new();
        while let Some(name) = it.next() {
            let value = it.next().ok_or_else(|| CandidateError::ExtensionValue(name.into()))?;
            match name {
                "raddr" => related_addr = Some(parse_address(value)?),
                "rport" => related_port = Some(parse_port(value)?),
                "tcptype" => {
                    tcp_type = Some(match value {
                        "active" => TcpType::Active,
                        "passive" => TcpType::Passive,
                        "so" => TcpType::So,
                        other => return Err(CandidateError::TcpType(other.into())),
                    })
                }
                _ => extensions.push((name.to_owned(), value.to_owned())),
            }
        }
        let related = match (related_addr, related_port) {
            (Some(a), Some(p)) => Some((a, p)),
            (None, None) => None,
            (Some(_), None) => return Err(CandidateError::Missing("rport")),
            (None, Some(_)) => return Err(CandidateError::Missing("raddr")),
        };
        Ok(Candidate {
            foundation: foundation.to_owned(),
            component,
            transport: transport.to_ascii_lowercase(),
            priority,
            address,
            port,
            typ,
            related,
            tcp_type,
            extensions,
        })
    }
}

/// Prints the attribute with exactly one `candidate:` prefix.
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation, self.component, self.transport, self.priority, self.address, self.port, self.typ
        )?;
        if let Some((addr, port)) = &self.related {
            write!(f, " raddr {addr} rport {port}")?;
        }
        if let Some(t) = self.tcp_type {
            write!(f, " tcptype {}", t.as_str())?;
        }
        for (k, v) in &self.extensions {
            write!(f, " {k} {v}")?;
        }
        Ok(())
    }
}

fn next<'a>(it: &mut impl Iterator<Item = &'a str>, field: &'static str) -> Result<&'a str, CandidateError> {
    it.next().ok_or(CandidateError::Missing(field))
}

fn parse_port(s: &str) -> Result<u16, CandidateError> {
    s.parse::<u16>().map_err(|_| CandidateError::Port(s.into()))
}

/// An IP address or an FQDN (browsers hide host addresses behind mDNS `*.local` names).
fn parse_address(s: &str) -> Result<String, CandidateError> {
    if s.parse::<IpAddr>().is_ok() {
        return Ok(s.to_owned());
    }
    let is_fqdn = s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && s.chars().any(|c| c.is_ascii_alphabetic());
    if is_fqdn && s.contains('.') { Ok(s.to_owned()) } else { Err(CandidateError::Address(s.into())) }
}

#[cfg(test)]
pub(crate) mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "candidate:842163049 1 udp 1677729535 192.0.2.10 50000 typ host generation 0";

    #[test]
    fn parses_and_prints_a_host_candidate() {
        let c = Candidate::parse(HOST).unwrap();
        assert_eq!(c.typ, CandidateType::Host);
        assert_eq!(c.port, 50000);
        assert_eq!(c.extensions, vec![("generation".into(), "0".into())]);
        assert_eq!(c.to_string(), HOST);
    }

    #[test]
    fn parses_relay_with_related_address_and_tcp_type() {
        let s =
            "candidate:3 1 TCP 41885695 203.0.113.7 9 typ relay raddr 10.0.0.1 rport 40000 tcptype active";
        let c = Candidate::parse(s).unwrap();
        assert_eq!(c.typ, CandidateType::Relay);
        assert_eq!(c.transport, "tcp");
        assert_eq!(c.related, Some(("10.0.0.1".into(), 40000)));
        assert_eq!(c.tcp_type, Some(TcpType::Active));
    }

    #[test]
    fn accepts_missing_prefix_sdp_form_ipv6_and_mdns() {
        assert!(Candidate::parse("1 1 udp 1 ::1 5 typ srflx raddr ::1 rport 6").is_ok());
        assert!(Candidate::parse("a=candidate:1 1 udp 1 127.0.0.1 5 typ prflx").is_ok());
        let c = Candidate::parse("candidate:1 1 udp 1 3f2a-11.local 5 typ host").unwrap();
        assert_eq!(c.address, "3f2a-11.local");
    }

    #[test]
    fn rejects_hostile_inputs_with_a_named_reason() {
        use CandidateError::*;
        let cases: &[(&str, CandidateError)] = &[
            ("", Empty),
            ("candidate:", Empty),
            ("candidate:candidate:1 1 udp 1 1.2.3.4 1 typ host", DoublePrefix),
            ("candidate:1", Missing("component")),
            ("candidate:1 1 udp 1 1.2.3.4", Missing("port")),
            ("candidate:1 1 udp 1 1.2.3.4 1 typ", Missing("candidate type")),
            ("candidate:1 0 udp 1 1.2.3.4 1 typ host", Component("0".into())),
            ("candidate:1 999 udp 1 1.2.3.4 1 typ host", Component("999".into())),
            (
                "candidate:1 1 udp 99999999999999999999 1.2.3.4 1 typ host",
                Priority("99999999999999999999".into()),
            ),
            ("candidate:1 1 udp -1 1.2.3.4 1 typ host", Priority("-1".into())),
            ("candidate:1 1 udp 1 1.2.3.4 70000 typ host", Port("70000".into())),
            ("candidate:1 1 udp 1 not-an-ip 1 typ host", Address("not-an-ip".into())),
            ("candidate:1 1 udp 1 1.2.3.4 1 typ martian", Type("martian".into())),
            ("candidate:1 1 udp 1 1.2.3.4 1 type host", TypKeyword("type".into())),
            ("candidate:1 1 udp 1 1.2.3.4 1 typ host raddr", ExtensionValue("raddr".into())),
            ("candidate:1 1 udp 1 1.2.3.4 1 typ srflx raddr 1.1.1.1", Missing("rport")),
            ("candidate:1 1 udp 1 1.2.3.4 1 typ host tcptype sideways", TcpType("sideways".into())),
            ("candidate:f☃ 1 udp 1 1.2.3.4 1 typ host", Foundation("f☃".into())),
            ("candidate:1 1 u\u{0}dp 1 1.2.3.4 1 typ host", Transport("u\u{0}dp".into())),
        ];
        for (input, want) in cases {
            assert_eq!(Candidate::parse(input).as_ref(), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn what_parses_prints_within_the_limit() {
        let body = format!("1 1 udp 1 1.2.3.4 1 typ host{} ab cd", " x y".repeat(245));
        let fits = format!("candidate:{body}");
        assert_eq!(fits.len(), MAX_CANDIDATE_LEN);
        assert_eq!(Candidate::parse(&fits).unwrap().to_string(), fits);
        // Short enough as given, but its printed form would not be.
        let unprefixed = format!("{body} a b");
        assert!(unprefixed.len() < MAX_CANDIDATE_LEN);
        assert_eq!(Candidate::parse(&unprefixed), Err(CandidateError::TooLong));
    }

    #[test]
    fn a_value_ending_in_unicode_whitespace_keeps_it() {
        let s = "candidate:1 1 udp 1 1.2.3.4 1 typ host note \u{85}\u{3000}";
        let c = Candidate::parse(s).unwrap();
        assert_eq!(c.extensions, vec![("note".into(), "\u{85}\u{3000}".into())]);
        assert_eq!(c.to_string(), s);
        assert_eq!(Candidate::parse(&c.to_string()), Ok(c));
    }

    #[test]
    fn rejects_a_megabyte_string() {
        let big = format!("candidate:1 1 udp 1 1.2.3.4 1 typ host {}", "x ".repeat(512 * 1024));
        assert_eq!(Candidate::parse(&big), Err(CandidateError::TooLong));
    }
}
