//! `serve --ice-server`: the STUN/TURN servers a deployment's server gathers through (so a
//! server behind a NAT offers srflx and relay candidates), and how their credentials are made at
//! each use. TURN REST credentials (a shared secret) are derived per user and moment, both for
//! the server's own peer connections and for the `ice_servers` handed out in `joined_room`;
//! static credentials serve the server's own connections only — handing them out would be F8.
//! STUN URLs need no credential and are handed out as they are.

use std::fmt;

use crate::signal::ice_url::{IceUrl, rest_credentials};
use crate::signal::protocol::IceServer;
use crate::signal::secret::Secret;

/// How the TURN URLs of a [`ServerIce`] authenticate.
#[derive(Debug, Clone)]
pub enum IceAuth {
    /// No TURN URL (STUN only).
    None,
    /// Long-term credentials given to the server (never handed out).
    Static { username: String, credential: Secret },
    /// TURN REST credentials from this shared secret, valid `ttl_s` seconds from their use.
    Rest { secret: Secret, ttl_s: u64 },
}

/// The ICE servers of `serve --ice-server`; its `Debug` shows no credential.
#[derive(Debug, Clone)]
pub struct ServerIce {
    urls: Vec<IceUrl>,
    auth: IceAuth,
}

/// A TURN URL without credentials to use with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoCredentials(pub String);

impl fmt::Display for NoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is a TURN server: it needs --turn-secret or --username/--credential", self.0)
    }
}

impl std::error::Error for NoCredentials {}

impl Default for ServerIce {
    fn default() -> Self {
        Self { urls: Vec::new(), auth: IceAuth::None }
    }
}

impl ServerIce {
    /// `urls` authenticated by `auth`; every TURN URL needs credentials.
    pub fn new(urls: Vec<IceUrl>, auth: IceAuth) -> Result<Self, NoCredentials> {
        if matches!(auth, IceAuth::None)
            && let Some(turn) = urls.iter().find(|u| u.is_turn())
        {
            return Err(NoCredentials(turn.to_string()));
        }
        Ok(Self { urls, auth })
    }

    pub fn urls(&self) -> &[IceUrl] {
        &self.urls
    }

    /// Whether the servers are handed out to clients too (STUN always, TURN with REST only).
    pub fn hands_out_turn(&self) -> bool {
        matches!(self.auth, IceAuth::Rest { .. })
    }

    fn entry(&self, url: &IceUrl, user: &str, now_unix: u64) -> IceServer {
        let (username, credential) = match (&self.auth, url.is_turn()) {
            (_, false) | (IceAuth::None, _) => (None, None),
            (IceAuth::Static { username, credential }, true) => {
                (Some(username.clone()), Some(credential.expose().to_owned()))
            }
            (IceAuth::Rest { secret, ttl_s }, true) => {
                let (u, c) = rest_credentials(secret.expose(), user, now_unix, *ttl_s);
                (Some(u), Some(c))
            }
        };
        IceServer { urls: vec![url.to_string()], username, credential }
    }

    /// What the server's own peer connection for `user` gathers through at `now_unix`.
    pub fn own(&self, user: &str, now_unix: u64) -> Vec<IceServer> {
        self.urls.iter().map(|u| self.entry(u, user, now_unix)).collect()
    }

    /// What `joined_room` hands out to client `user` at `now_unix`: the STUN URLs, and the TURN
    /// URLs when their credentials are time-limited REST ones made for that client.
    pub fn handed_out(&self, user: &str, now_unix: u64) -> Vec<IceServer> {
        self.urls
            .iter()
            .filter(|u| !u.is_turn() || self.hands_out_turn())
            .map(|u| self.entry(u, user, now_unix))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::ice_url::{rest_expiry, rest_password};

    fn urls(list: &[&str]) -> Vec<IceUrl> {
        list.iter().map(|u| IceUrl::parse(u).unwrap()).collect()
    }

    const BOTH: [&str; 2] = ["stun:203.0.113.12:3478", "turn:203.0.113.12:3478?transport=udp"];

    #[test]
    fn rest_credentials_are_made_per_client_and_moment_and_handed_out() {
        let auth = IceAuth::Rest { secret: Secret::new("s3cret-42"), ttl_s: 600 };
        let ice = ServerIce::new(urls(&BOTH), auth).unwrap();
        let given = ice.handed_out("ab12cd34", 1_000);
        assert_eq!(given.len(), 2);
        assert_eq!((given[0].username.as_deref(), given[0].credential.as_deref()), (None, None));
        let user = given[1].username.clone().unwrap();
        assert_eq!((user.as_str(), rest_expiry(&user)), ("1600:ab12cd34", Some(1_600)));
        assert_eq!(given[1].credential.as_deref(), Some(rest_password("s3cret-42", &user).as_str()));
        // Later, a fresh credential: one made at start-up would expire under a long-running server.
        assert_eq!(ice.own("ab12cd34", 90_000)[1].username.as_deref(), Some("90600:ab12cd34"));
        assert!(!format!("{ice:?}").contains("s3cret-42"));
    }

    #[test]
    fn static_credentials_serve_the_server_only_never_a_client() {
        let auth = IceAuth::Static { username: "srv".into(), credential: Secret::new("pa55-static") };
        let ice = ServerIce::new(urls(&BOTH), auth).unwrap();
        let own = ice.own("x", 5);
        assert_eq!(own[1].username.as_deref(), Some("srv"));
        assert_eq!(own[1].credential.as_deref(), Some("pa55-static"));
        let given = ice.handed_out("x", 5);
        assert_eq!(given.len(), 1, "F8: static TURN credentials handed out: {given:?}");
        assert_eq!(given[0].urls, ["stun:203.0.113.12:3478"]);
        assert!(!format!("{ice:?}").contains("pa55-static"));
    }

    #[test]
    fn a_turn_url_without_credentials_is_refused_and_stun_alone_needs_none() {
        let e = ServerIce::new(urls(&BOTH), IceAuth::None).unwrap_err();
        assert!(e.to_string().contains("turn:203.0.113.12:3478") && e.to_string().contains("--turn-secret"));
        let stun = ServerIce::new(urls(&BOTH[..1]), IceAuth::None).unwrap();
        assert_eq!(stun.own("x", 0), stun.handed_out("x", 0));
        assert!(ServerIce::default().own("x", 0).is_empty());
    }
}
