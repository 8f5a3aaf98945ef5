//! Room tokens, the pure part: the claims a token carries (`room`, `exp`, optional `sub`),
//! the rules a verified token must pass (`exp` present and not past, the room it names), the
//! limits of a token to be minted, and `token=` redaction in URLs. The clock comes in as `now` (Unix seconds); the HS256 signature itself
//! is checked by `serve/auth.rs`.

use serde::{Deserialize, Serialize};

use crate::signal::protocol::validate_room;

/// The `room` claim that admits every room.
pub const ANY_ROOM: &str = "*";
/// Lifetime of a minted token unless told otherwise, in seconds.
pub const DEFAULT_TTL_S: u64 = 3600;
/// Longest lifetime a minted token may have (7 days), in seconds.
pub const MAX_TTL_S: u64 = 7 * 86_400;
/// How far past `exp` a token is still accepted (clock skew between minter and server).
pub const LEEWAY_S: u64 = 30;
/// Longest identity (`sub`) accepted.
pub const MAX_IDENTITY: usize = 64;
/// Shortest shared secret accepted (HS256 wants a key of at least 128 bits to mean anything).
pub const MIN_SECRET_BYTES: usize = 16;

/// What a room token says. `exp` is optional here only so that a token without it is refused
/// by [`Claims::check`] with its own reason; a non-numeric `exp` does not deserialise at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The room it admits to, or [`ANY_ROOM`].
    pub room: String,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Who it was minted for (`--identity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// Why a token (or a request to mint one) is refused. The messages never quote the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has no expiry (`exp`)")]
    NoExpiry,
    #[error("the token expired {0} s ago")]
    Expired(u64),
    #[error("the token is for room {granted:?}, not {asked:?}")]
    WrongRoom { granted: String, asked: String },
    #[error("the token's room: {0}")]
    BadRoom(String),
    #[error("--ttl must be between 1 and {MAX_TTL_S} seconds (7 days)")]
    BadTtl,
    #[error("--identity must be 1-{MAX_IDENTITY} characters without control characters")]
    BadIdentity,
}

impl Claims {
    /// The claims of a token minted at `now` for `room`, valid `ttl_s` seconds.
    pub fn mint(room: &str, ttl_s: u64, identity: Option<&str>, now: u64) -> Result<Self, TokenError> {
        validate_room(room).map_err(|e| TokenError::BadRoom(e.message))?;
        if !(1..=MAX_TTL_S).contains(&ttl_s) {
            return Err(TokenError::BadTtl);
        }
        if let Some(id) = identity
            && (id.is_empty() || id.chars().count() > MAX_IDENTITY || id.chars().any(char::is_control))
        {
            return Err(TokenError::BadIdentity);
        }
        Ok(Self {
            room: room.to_owned(),
            exp: Some(now + ttl_s),
            iat: Some(now),
            sub: identity.map(str::to_owned),
        })
    }

    /// The rules for a token whose signature checked out: an expiry, not past (with [`LEEWAY_S`]),
    /// and a room claim that is a room name or `*`.
    pub fn check(&self, now: u64) -> Result<(), TokenError> {
        let exp = self.exp.ok_or(TokenError::NoExpiry)?;
        if now > exp.saturating_add(LEEWAY_S) {
            return Err(TokenError::Expired(now - exp));
        }
        validate_room(&self.room).map_err(|e| TokenError::BadRoom(e.message))
    }

    /// Whether it admits to `room`.
    pub fn permits(&self, room: &str) -> Result<(), TokenError> {
        if self.room == ANY_ROOM || self.room == room {
            Ok(())
        } else {
            Err(TokenError::WrongRoom { granted: self.room.clone(), asked: room.to_owned() })
        }
    }
}

/// `url` with the value of every `token=` query parameter replaced by `<redacted>`, for output.
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_owned() };
    let (query, fragment) = query.split_once('#').map_or((query, None), |(q, f)| (q, Some(f)));
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some(("token", _)) => "token=<redacted>".to_owned(),
            _ => p.to_owned(),
        })
        .collect();
    let mut out = format!("{base}?{}", parts.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn minted_claims_carry_room_expiry_and_identity() {
        let c = Claims::mint("r1", 60, Some("alice"), NOW).unwrap();
        assert_eq!(
            c,
            Claims { room: "r1".into(), exp: Some(NOW + 60), iat: Some(NOW), sub: Some("alice".into()) }
        );
        assert!(c.check(NOW).is_ok());
        assert!(Claims::mint(ANY_ROOM, DEFAULT_TTL_S, None, NOW).is_ok());
        assert!(Claims::mint("r", MAX_TTL_S, None, NOW).is_ok());
    }

    #[test]
    fn hostile_mint_requests_are_refused() {
        assert!(matches!(Claims::mint("", 60, None, NOW), Err(TokenError::BadRoom(_))));
        assert!(matches!(Claims::mint(&"x".repeat(65), 60, None, NOW), Err(TokenError::BadRoom(_))));
        assert!(matches!(Claims::mint("a\nb", 60, None, NOW), Err(TokenError::BadRoom(_))));
        assert_eq!(Claims::mint("r", 0, None, NOW), Err(TokenError::BadTtl));
        assert_eq!(Claims::mint("r", MAX_TTL_S + 1, None, NOW), Err(TokenError::BadTtl));
        assert_eq!(Claims::mint("r", u64::MAX, None, NOW), Err(TokenError::BadTtl));
        for id in ["", "a\u{7}b", &"i".repeat(65)] {
            assert_eq!(Claims::mint("r", 60, Some(id), NOW), Err(TokenError::BadIdentity), "{id:?}");
        }
    }

    #[test]
    fn expiry_is_required_and_enforced_with_leeway() {
        let mut c = Claims::mint("r", 60, None, NOW).unwrap();
        assert!(c.check(NOW + 60 + LEEWAY_S).is_ok());
        assert_eq!(c.check(NOW + 60 + LEEWAY_S + 1), Err(TokenError::Expired(LEEWAY_S + 1)));
        c.exp = Some(u64::MAX);
        assert!(c.check(NOW).is_ok());
        c.exp = None;
        assert_eq!(c.check(NOW), Err(TokenError::NoExpiry));
    }

    #[test]
    fn claims_decode_strictly_typed() {
        let ok: Claims = serde_json::from_str(r#"{"room":"r","exp":5,"extra":true}"#).unwrap();
        assert_eq!(ok.exp, Some(5));
        // A string where a number belongs is not "no exp": it does not decode at all.
        assert!(serde_json::from_str::<Claims>(r#"{"room":"r","exp":"99999999999"}"#).is_err());
        assert!(serde_json::from_str::<Claims>(r#"{"exp":5}"#).is_err());
        assert!(serde_json::from_str::<Claims>(r#"{"room":7,"exp":5}"#).is_err());
        let c: Claims = serde_json::from_str(r#"{"room":"","exp":5}"#).unwrap();
        assert!(matches!(c.check(0), Err(TokenError::BadRoom(_))));
    }

    #[test]
    fn the_room_claim_admits_its_room_or_any_with_star() {
        let a = Claims::mint("a", 60, None, NOW).unwrap();
        assert!(a.permits("a").is_ok());
        assert_eq!(a.permits("b"), Err(TokenError::WrongRoom { granted: "a".into(), asked: "b".into() }));
        assert!(a.permits("A").is_err());
        let any = Claims::mint(ANY_ROOM, 60, None, NOW).unwrap();
        assert!(any.permits("b").is_ok() && any.permits("*").is_ok());
    }

    #[test]
    fn urls_lose_their_token_values() {
        assert_eq!(redact_url("ws://h/ws"), "ws://h/ws");
        assert_eq!(redact_url("ws://h/ws?token=abc.def"), "ws://h/ws?token=<redacted>");
        assert_eq!(redact_url("ws://h/ws?a=1&token=x&b=2#f"), "ws://h/ws?a=1&token=<redacted>&b=2#f");
        assert_eq!(redact_url("ws://h/ws?tokens=1"), "ws://h/ws?tokens=1");
    }
}
