//! Web origins (RFC 6454) for `serve --allow-origin`: `scheme://host[:port]` normalised
//! (lowercase, default port dropped) so that an allow-list entry and a browser's `Origin`
//! header compare equal exactly when they name the same origin.

use std::fmt;

/// A normalised origin: lowercase scheme and host, the port only when it is not the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    /// Parses `scheme://host[:port]` (a trailing `/` is tolerated; a path, query, fragment or
    /// user info is not: an origin has none).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (scheme, rest) =
            s.split_once("://").ok_or_else(|| format!("origin {s:?} is not scheme://host[:port]"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
            return Err(format!("origin {s:?} has no valid scheme"));
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty()
            || authority.contains(['/', '?', '#', '@'])
            || authority.chars().any(char::is_whitespace)
        {
            return Err(format!("origin {s:?} must be scheme://host[:port] with no path, query or user"));
        }
        let (host, port) =
            split_port(authority).ok_or_else(|| format!("origin {s:?} has an invalid port"))?;
        if host.is_empty() || host == "[]" {
            return Err(format!("origin {s:?} has no host"));
        }
        let host = host.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        };
        Ok(Self(match port {
            Some(p) if Some(p) != default => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        }))
    }
}

/// `host[:port]` → (host, port); `None` for a port that is not a number. IPv6 literals keep
/// their brackets.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let colon = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => i,
        _ => return Some((authority, None)),
    };
    let (host, port) = (&authority[..colon], &authority[colon + 1..]);
    if port.is_empty() {
        return Some((host, None));
    }
    if !port.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((host, Some(port.parse().ok()?)))
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The origins whose pages may open a WebSocket. Empty: every origin may (no check).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<Origin>);

/// What the allow-list says of one upgrade request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginVerdict {
    Allowed,
    /// The request carries an `Origin` that is not on the list (or not an origin at all, such as `null`).
    Refused,
}

impl AllowedOrigins {
    pub fn new(origins: Vec<Origin>) -> Self {
        Self(origins)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Origin> {
        self.0.iter()
    }

    /// Judges an upgrade by its `Origin` header: none (a CLI client, not a browser) passes.
    pub fn judge(&self, header: Option<&str>) -> OriginVerdict {
        match header {
            _ if self.0.is_empty() => OriginVerdict::Allowed,
            None => OriginVerdict::Allowed,
            Some(h) => match Origin::parse(h.trim()) {
                Ok(o) if self.0.contains(&o) => OriginVerdict::Allowed,
                _ => OriginVerdict::Refused,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> String {
        Origin::parse(s).unwrap().to_string()
    }

    #[test]
    fn origins_normalise() {
        assert_eq!(o("https://App.Example"), "https://app.example");
        assert_eq!(o("HTTPS://app.example:443/"), "https://app.example");
        assert_eq!(o("http://app.example:80"), "http://app.example");
        assert_eq!(o("http://app.example:8080"), "http://app.example:8080");
        assert_eq!(o("https://app.example:80"), "https://app.example:80");
        assert_eq!(o("http://[::1]:8765"), "http://[::1]:8765");
        assert_eq!(o("http://[::1]"), "http://[::1]");
        assert_eq!(o("http://127.0.0.1:"), "http://127.0.0.1");
    }

    #[test]
    fn hostile_origins_are_refused() {
        for bad in [
            "",
            "app.example",
            "://x",
            "https://",
            "https:///",
            "https://a/path",
            "https://a?q",
            "https://a#f",
            "https://u@a",
            "https://a:99999",
            "https://a:x",
            "https://a b",
            "ht tp://a",
            "null",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_list_admits_its_origins_and_header_less_clients() {
        let list = AllowedOrigins::new(vec![Origin::parse("https://app.example").unwrap()]);
        assert_eq!(list.judge(Some("https://app.example")), OriginVerdict::Allowed);
        assert_eq!(list.judge(Some("https://APP.example:443")), OriginVerdict::Allowed);
        assert_eq!(list.judge(None), OriginVerdict::Allowed);
        for foreign in ["https://evil.example", "http://app.example", "https://app.example:8443", "null", "x"]
        {
            assert_eq!(list.judge(Some(foreign)), OriginVerdict::Refused, "{foreign}");
        }
        assert_eq!(AllowedOrigins::default().judge(Some("https://evil.example")), OriginVerdict::Allowed);
    }
}
