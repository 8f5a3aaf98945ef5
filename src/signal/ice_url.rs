//! STUN/TURN URLs (RFC 7064 §3.1, RFC 7065 §3.1) and TURN REST credentials
//! (draft-uberti-behave-turn-rest §2.2: username `expiry:user`, password
//! `base64(HMAC-SHA1(secret, username))`). Time comes in as an argument.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Stun,
    Stuns,
    Turn,
    Turns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// A parsed `stun:`/`stuns:`/`turn:`/`turns:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceUrl {
    pub scheme: Scheme,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// Explicit `?transport=` (TURN only); see [`IceUrl::transport`] for the effective one.
    pub explicit_transport: Option<Transport>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("URL is empty")]
    Empty,
    #[error("URL longer than 512 bytes")]
    TooLong,
    #[error("unknown scheme in {0:?}: expected stun:, stuns:, turn: or turns:")]
    Scheme(String),
    #[error("missing host")]
    Host,
    #[error("invalid host {0:?}")]
    BadHost(String),
    #[error("IPv6 address {0:?} must be in brackets: [{0}]")]
    Ipv6Brackets(String),
    #[error("invalid port {0:?}")]
    Port(String),
    #[error("invalid query {0:?}: only ?transport=udp|tcp is defined (RFC 7065)")]
    Query(String),
    #[error("stun: URLs take no query (RFC 7064)")]
    StunQuery,
}

impl IceUrl {
    pub fn parse(s: &str) -> Result<Self, UrlError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UrlError::Empty);
        }
        if s.len() > 512 {
            return Err(UrlError::TooLong);
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(|| UrlError::Scheme(s.to_owned()))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => Scheme::Stun,
            "stuns" => Scheme::Stuns,
            "turn" => Scheme::Turn,
            "turns" => Scheme::Turns,
            other => return Err(UrlError::Scheme(other.to_owned())),
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| UrlError::BadHost(hostport.to_owned()))?;
            if h.parse::<core::net::Ipv6Addr>().is_err() {
                return Err(UrlError::BadHost(h.to_owned()));
            }
            match after {
                "" => (h, None),
                _ => (h, Some(after.strip_prefix(':').ok_or_else(|| UrlError::Port(after.to_owned()))?)),
            }
        } else {
            let (h, p) = match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            };
            // Only a bracketed IPv6 literal may contain ':' (RFC 3986 §3.2.2).
            if h.contains(':') {
                return Err(if h.parse::<core::net::Ipv6Addr>().is_ok() {
                    UrlError::Ipv6Brackets(h.to_owned())
                } else {
                    UrlError::BadHost(h.to_owned())
                });
            }
            (h, p)
        };
        if host.is_empty() {
            return Err(UrlError::Host);
        }
        let host_ok = host.len() <= 253
            && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if !host_ok {
            return Err(UrlError::BadHost(host.to_owned()));
        }
        let default_port = match scheme {
            Scheme::Stun | Scheme::Turn => 3478,
            Scheme::Stuns | Scheme::Turns => 5349,
        };
        let port = match port {
            None => default_port,
            Some(p) => {
                p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| UrlError::Port(p.to_owned()))?
            }
        };
        let explicit_transport = match query {
            None => None,
            Some(_) if matches!(scheme, Scheme::Stun | Scheme::Stuns) => return Err(UrlError::StunQuery),
            Some(q) => match q.to_ascii_lowercase().as_str() {
                "transport=udp" => Some(Transport::Udp),
                "transport=tcp" => Some(Transport::Tcp),
                _ => return Err(UrlError::Query(q.to_owned())),
            },
        };
        Ok(Self { scheme, host: host.to_owned(), port, explicit_transport })
    }

    /// The transport the URL means: `turns:`/`stuns:` run over TLS on TCP; `turn:` defaults to UDP.
    pub fn transport(&self) -> Transport {
        match (self.scheme, self.explicit_transport) {
            (Scheme::Stuns | Scheme::Turns, _) => Transport::Tcp,
            (_, Some(t)) => t,
            _ => Transport::Udp,
        }
    }

    pub fn is_turn(&self) -> bool {
        matches!(self.scheme, Scheme::Turn | Scheme::Turns)
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.scheme, Scheme::Stuns | Scheme::Turns)
    }
}

impl fmt::Display for IceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Stun => "stun",
            Scheme::Stuns => "stuns",
            Scheme::Turn => "turn",
            Scheme::Turns => "turns",
        };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        write!(f, "{scheme}:{host}:{}", self.port)?;
        match self.explicit_transport {
            Some(Transport::Udp) => write!(f, "?transport=udp"),
            Some(Transport::Tcp) => write!(f, "?transport=tcp"),
            None => Ok(()),
        }
    }
}

/// The TURN REST password for `username`: base64(HMAC-SHA1(secret, username)).
pub fn rest_password(secret: &str, username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Time-limited credentials valid until `now_unix + ttl_s`: (username, password).
pub fn rest_credentials(secret: &str, user: &str, now_unix: u64, ttl_s: u64) -> (String, String) {
    let username = format!("{}:{user}", now_unix + ttl_s);
    let password = rest_password(secret, &username);
    (username, password)
}

/// The expiry of a REST username (`expiry:user` or a bare `expiry`), if it has one.
pub fn rest_expiry(username: &str) -> Option<u64> {
    username.split(':').next()?.parse().ok()
}

/// An ICE server a signaling server handed out, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedIceServer {
    pub urls: Vec<String>,
    /// A credential came with it.
    pub credential: bool,
    /// Seconds until the username's expiry, if it is a time-limited (REST) username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<i64>,
}

/// What a handed-out ICE server reveals about its credentials, at `now_unix`.
pub fn describe_offered(server: &crate::signal::protocol::IceServer, now_unix: u64) -> OfferedIceServer {
    OfferedIceServer {
        urls: server.urls.clone(),
        credential: server.credential.is_some(),
        expires_in_s: server.username.as_deref().and_then(rest_expiry).map(|e| e as i64 - now_unix as i64),
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rfc_examples_and_defaults() {
        let u = IceUrl::parse("turn:example.org").unwrap();
        assert_eq!((u.port, u.transport()), (3478, Transport::Udp));
        let u = IceUrl::parse("turns:example.org").unwrap();
        assert_eq!((u.port, u.transport(), u.is_tls()), (5349, Transport::Tcp, true));
        let u = IceUrl::parse("turn:198.51.100.7:443?transport=tcp").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.transport()), ("198.51.100.7", 443, Transport::Tcp));
        let u = IceUrl::parse("stun:[::1]:3479").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 3479));
        assert_eq!(u.to_string(), "stun:[::1]:3479");
        assert_eq!(IceUrl::parse("TURN:h:80?transport=TCP").unwrap().to_string(), "turn:h:80?transport=tcp");
    }

    #[test]
    fn hostile_urls_are_refused_with_a_reason() {
        let cases: &[(&str, UrlError)] = &[
            ("", UrlError::Empty),
            ("http://x", UrlError::Scheme("http".into())),
            ("example.org", UrlError::Scheme("example.org".into())),
            ("turn:", UrlError::Host),
            ("turn::3478", UrlError::Host),
            ("turn:h:0", UrlError::Port("0".into())),
            ("turn:h:99999", UrlError::Port("99999".into())),
            ("turn:h:-1", UrlError::Port("-1".into())),
            ("turn:h?transport=sctp", UrlError::Query("transport=sctp".into())),
            ("turn:h?x=1&transport=udp", UrlError::Query("x=1&transport=udp".into())),
            ("stun:h?transport=udp", UrlError::StunQuery),
            ("turn:[::1", UrlError::BadHost("[::1".into())),
            ("turn:[zz]:1", UrlError::BadHost("zz".into())),
            ("turn:ho st", UrlError::BadHost("ho st".into())),
            ("turn:h\u{0}:1", UrlError::BadHost("h\u{0}".into())),
            ("turn:a:b:1", UrlError::BadHost("a:b".into())),
            ("turn:2001:db8::1:3478", UrlError::Ipv6Brackets("2001:db8::1".into())),
            ("turn:[::1]3478", UrlError::Port("3478".into())),
            ("turn:[::1]x:1", UrlError::Port("x:1".into())),
        ];
        for (input, want) in cases {
            assert_eq!(IceUrl::parse(input).as_ref(), Err(want), "{input:?}");
        }
        assert_eq!(IceUrl::parse(&format!("turn:{}", "a".repeat(600))), Err(UrlError::TooLong));
    }

    #[test]
    fn rest_credentials_match_coturns_scheme() {
        // base64(HMAC-SHA1("s3cret", "1700000000:alice")), computed independently with openssl.
        assert_eq!(rest_password("s3cret", "1700000000:alice"), "TtElzSjT0GdnTQ9xdcRNxx96yQs=");
        let (u, p) = rest_credentials("s3cret", "alice", 1_699_996_400, 3600);
        assert_eq!(u, "1700000000:alice");
        assert_eq!(p, rest_password("s3cret", &u));
        assert_eq!(rest_expiry(&u), Some(1_700_000_000));
        assert_eq!(rest_expiry("1700000000"), Some(1_700_000_000));
        assert_eq!(rest_expiry("alice"), None);
    }
}
