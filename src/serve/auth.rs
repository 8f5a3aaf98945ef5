//! Who may open `/ws`: the Origin allow-list and room tokens, checked once at the upgrade
//! ([`Access::authorize`]: 403 for a foreign `Origin`, 401 for a missing or invalid token, no
//! upgrade either way), and the room claim checked at `join_room` ([`Grant::admits`]).
//!
//! Tokens are JWTs signed with HS256 and a shared secret ([`TokenKey`], also used by
//! `rtc-assist token`). The `jsonwebtoken` crate parses them; its crypto runs on `ring` (the
//! provider below knows HS256 only, so every other `alg`, `none` included, is refused twice:
//! by the validation and by the provider). The rules (`exp`, the room) are
//! `signal/token.rs`'s, given the clock from here. Neither a secret nor a token is ever logged,
//! put in an error or shown by `Debug`.

use std::sync::{Arc, Once};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};

use crate::serve::origin::{AllowedOrigins, OriginVerdict};
use crate::signal::secret::Secret;
use crate::signal::token::{Claims, MIN_SECRET_BYTES, TokenError};

/// Why a token, or the secret to sign one with, is not usable. Never quotes either.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token secret must be at least {MIN_SECRET_BYTES} bytes")]
    ShortSecret,
    #[error("the token is not an HS256 JWT")]
    Algorithm,
    #[error("the token's signature does not match (another secret?)")]
    Signature,
    #[error("the token's claims are malformed")]
    Claims,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error(transparent)]
    Rule(#[from] TokenError),
    #[error("cannot sign the token")]
    Sign,
}

/// The shared HS256 secret: signs ([`TokenKey::mint`]) and verifies ([`TokenKey::verify`]).
#[derive(Debug)]
pub struct TokenKey {
    secret: Secret,
}

impl TokenKey {
    pub fn new(secret: Secret) -> Result<Self, AuthError> {
        if secret.expose().len() < MIN_SECRET_BYTES {
            return Err(AuthError::ShortSecret);
        }
        install_provider();
        Ok(Self { secret })
    }

    /// A signed token carrying `claims`.
    pub fn mint(&self, claims: &Claims) -> Result<Secret, AuthError> {
        let key = EncodingKey::from_secret(self.secret.expose().as_bytes()).map_err(|_| AuthError::Sign)?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
            .map(Secret::new)
            .map_err(|_| AuthError::Sign)
    }

    /// The claims of `token` if it is an HS256 JWT signed with this secret that passes the
    /// rules at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, AuthError> {
        let key =
            DecodingKey::from_secret(self.secret.expose().as_bytes()).map_err(|_| AuthError::Malformed)?;
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` is judged by `Claims::check` against the clock given; a non-numeric one fails to decode.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        // A header that does not parse names an algorithm we do not know (`none`, say).
        jsonwebtoken::decode_header(token).map_err(|_| AuthError::Algorithm)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
                AuthError::Algorithm
            }
            ErrorKind::InvalidSignature => AuthError::Signature,
            ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) | ErrorKind::InvalidAudience => {
                AuthError::Claims
            }
            _ => AuthError::Malformed,
        })?;
        data.claims.check(now)?;
        Ok(data.claims)
    }
}

/// The clock, Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What `serve` demands of a WebSocket upgrade. The default demands nothing.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Room tokens required (`--token-secret`).
    pub tokens: Option<Arc<TokenKey>>,
    /// Browser origins allowed (`--allow-origin`); empty: any.
    pub origins: AllowedOrigins,
}

/// Why an upgrade was refused: the HTTP answer instead of `101`.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("Origin not allowed")]
    Origin,
    #[error("no room token")]
    NoToken,
    #[error("room token refused: {0}")]
    BadToken(AuthError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match self {
            Self::Origin => StatusCode::FORBIDDEN,
            Self::NoToken | Self::BadToken(_) => StatusCode::UNAUTHORIZED,
        };
        let body = match &self {
            Self::Origin => "this origin may not open a WebSocket here\n".to_owned(),
            Self::NoToken => "a room token is required (?token= or Authorization: Bearer)\n".to_owned(),
            Self::BadToken(e) => format!("{e}\n"),
        };
        (status, body).into_response()
    }
}

impl Access {
    /// Judges an upgrade request: its `Origin`, then its token (`?token=` in `query`, else
    /// `Authorization: Bearer`).
    pub fn authorize(&self, headers: &HeaderMap, query: Option<&str>) -> Result<Grant, Refusal> {
        let origin = headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("\u{0}"));
        if self.origins.judge(origin) == OriginVerdict::Refused {
            return Err(Refusal::Origin);
        }
        let Some(key) = &self.tokens else { return Ok(Grant::default()) };
        let token = query_token(query).or_else(|| bearer(headers)).ok_or(Refusal::NoToken)?;
        let claims = key.verify(token, unix_now()).map_err(Refusal::BadToken)?;
        Ok(Grant { claims: Some(claims), key: Some(key.clone()) })
    }
}

/// The `token` query parameter (a JWT needs no percent-decoding: base64url and dots).
fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|p| p.strip_prefix("token=")).filter(|t| !t.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// What a session was admitted with: the claims of its upgrade token (none on an open server).
#[derive(Debug, Default)]
pub struct Grant {
    claims: Option<Claims>,
    key: Option<Arc<TokenKey>>,
}

impl Grant {
    /// Whether the session may join `room`: its upgrade token's room claim must admit it, and
    /// so must the `token` of `join_room` when one is sent. The reason, if not, names no token.
    pub fn admits(&self, room: &str, join_token: Option<&Secret>) -> Result<(), String> {
        let (Some(claims), Some(key)) = (&self.claims, &self.key) else { return Ok(()) };
        claims.permits(room).map_err(|e| e.to_string())?;
        if let Some(t) = join_token {
            let claims = key.verify(t.expose(), unix_now()).map_err(|e| format!("join_room token: {e}"))?;
            claims.permits(room).map_err(|e| format!("join_room token: {e}"))?;
        }
        Ok(())
    }
}

/// HS256 on ring; no other algorithm exists for `jsonwebtoken` in this process.
static RING_HS256: CryptoProvider = CryptoProvider {
    signer_factory: hs256_signer,
    verifier_factory: hs256_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

fn install_provider() {
    static ONCE: Once = Once::new();
    // Fails only if a provider is installed already; ours is the only one in this binary.
    ONCE.call_once(|| {
        let _ = RING_HS256.install_default();
    });
}

struct Hs256(ring::hmac::Key);

impl Hs256 {
    fn new(alg: &Algorithm, family: AlgorithmFamily, secret: &[u8]) -> jsonwebtoken::errors::Result<Self> {
        if *alg != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        Ok(Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret)))
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(ring::hmac::sign(&self.0, msg).as_ref().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        // Constant-time comparison.
        ring::hmac::verify(&self.0, msg, tag).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

fn hs256_signer(alg: &Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    Ok(Box::new(Hs256::new(alg, key.family(), key.as_bytes())?))
}

fn hs256_verifier(alg: &Algorithm, key: &DecodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    Ok(Box::new(Hs256::new(alg, key.family(), key.try_get_as_bytes()?)?))
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    use super::*;
    use crate::signal::token::ANY_ROOM;

    const SECRET: &str = "unit-test-secret-0123";
    const NOW: u64 = 1_700_000_000;

    fn key() -> TokenKey {
        TokenKey::new(Secret::new(SECRET)).unwrap()
    }

    fn token(room: &str) -> String {
        key().mint(&Claims::mint(room, 60, Some("alice"), NOW).unwrap()).unwrap().expose().to_owned()
    }

    /// A JWT with any header and claims, signed (HMAC-SHA256) with `secret` whatever `alg` says.
    fn forged(header: &str, claims: &str, secret: &str) -> String {
        let msg = format!("{}.{}", B64.encode(header), B64.encode(claims));
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()),
            msg.as_bytes(),
        );
        format!("{msg}.{}", B64.encode(tag))
    }

    #[test]
    fn minted_tokens_verify_and_carry_their_claims() {
        let c = key().verify(&token("r1"), NOW).unwrap();
        assert_eq!((c.room.as_str(), c.sub.as_deref()), ("r1", Some("alice")));
        assert!(matches!(
            key().verify(&token("r1"), NOW + 3600),
            Err(AuthError::Rule(TokenError::Expired(_)))
        ));
    }

    #[test]
    fn foreign_or_forged_tokens_are_refused() {
        let other = TokenKey::new(Secret::new("another-secret-456789")).unwrap();
        assert!(matches!(other.verify(&token("r"), NOW), Err(AuthError::Signature)));
        let claims = format!(r#"{{"room":"r","exp":{}}}"#, NOW + 60);
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#), B64.encode(&claims));
        assert!(matches!(key().verify(&none, NOW), Err(AuthError::Algorithm)));
        for alg in ["HS384", "HS512", "RS256"] {
            let t = forged(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#), &claims, SECRET);
            assert!(matches!(key().verify(&t, NOW), Err(AuthError::Algorithm)), "{alg}");
        }
        let hs = r#"{"alg":"HS256","typ":"JWT"}"#;
        assert!(key().verify(&forged(hs, &claims, SECRET), NOW).is_ok());
        let no_exp = forged(hs, r#"{"room":"r"}"#, SECRET);
        assert!(matches!(key().verify(&no_exp, NOW), Err(AuthError::Rule(TokenError::NoExpiry))));
        let string_exp = forged(hs, r#"{"room":"r","exp":"99999999999"}"#, SECRET);
        assert!(matches!(key().verify(&string_exp, NOW), Err(AuthError::Claims)));
        for junk in ["", "a.b", "a.b.c", "...", "x".repeat(5000).as_str()] {
            assert!(key().verify(junk, NOW).is_err(), "{junk}");
        }
    }

    #[test]
    fn short_secrets_are_refused_and_never_shown() {
        assert!(matches!(TokenKey::new(Secret::new("short")), Err(AuthError::ShortSecret)));
        assert!(!format!("{:?}", key()).contains(SECRET));
    }

    #[test]
    fn upgrades_are_judged_by_origin_then_token() {
        let origins =
            AllowedOrigins::new(vec![crate::serve::origin::Origin::parse("https://app.example").unwrap()]);
        let access = Access { tokens: Some(Arc::new(key())), origins };
        let t = key().mint(&Claims::mint("r", 60, None, unix_now()).unwrap()).unwrap();
        let mut h = HeaderMap::new();
        assert!(matches!(access.authorize(&h, None), Err(Refusal::NoToken)));
        assert!(access.authorize(&h, Some(&format!("a=1&token={}", t.expose()))).is_ok());
        h.insert(header::AUTHORIZATION, format!("Bearer {}", t.expose()).parse().unwrap());
        assert!(access.authorize(&h, None).is_ok());
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(matches!(access.authorize(&h, None), Err(Refusal::Origin)));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        h.insert(header::ORIGIN, "https://app.example".parse().unwrap());
        assert!(matches!(access.authorize(&h, None), Err(Refusal::NoToken)));
        assert!(matches!(access.authorize(&h, Some("token=x.y.z")), Err(Refusal::BadToken(_))));
        assert!(Access::default().authorize(&HeaderMap::new(), None).is_ok());
    }

    #[test]
    fn the_grant_admits_the_rooms_of_its_token() {
        let key = Arc::new(key());
        let grant = |room: &str| Grant {
            claims: Some(Claims::mint(room, 60, None, unix_now()).unwrap()),
            key: Some(key.clone()),
        };
        assert!(grant("a").admits("a", None).is_ok());
        assert!(grant("a").admits("b", None).unwrap_err().contains("not \"b\""));
        assert!(grant(ANY_ROOM).admits("b", None).is_ok());
        let for_b = key.mint(&Claims::mint("b", 60, None, unix_now()).unwrap()).unwrap();
        assert!(grant(ANY_ROOM).admits("b", Some(&for_b)).is_ok());
        assert!(grant(ANY_ROOM).admits("c", Some(&for_b)).is_err());
        assert!(grant(ANY_ROOM).admits("b", Some(&Secret::new("junk"))).is_err());
        assert!(Grant::default().admits("anything", Some(&Secret::new("junk"))).is_ok());
    }
}
