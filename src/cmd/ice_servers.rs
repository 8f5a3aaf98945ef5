//! ICE servers from the command line (`--turn`, `--stun`, `--ice-servers`, credentials from
//! flags, environment or a REST secret) resolved into TURN targets and STUN URLs, and into
//! the `IceServer` list a peer uses; `serve --ice-server` with the same credential flags into
//! a [`ServerIce`].

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;

use crate::cmd::args::parse_ice_url;
use crate::serve::server_ice::{IceAuth, ServerIce};
use crate::signal::ice_url::{IceUrl, rest_credentials};
use crate::signal::protocol::{IceServer, parse_ice_servers_json};
use crate::signal::secret::Secret;
use crate::stun_turn::TurnTarget;

/// ICE servers given on the command line (`probe` tests them, `join` uses them).
#[derive(Debug, Clone, Args)]
pub struct IceServerArgs {
    /// TURN server URL, e.g. turn:host:3478?transport=udp (repeatable).
    #[arg(long, value_parser = parse_ice_url)]
    pub turn: Vec<IceUrl>,
    /// STUN server URL, e.g. stun:host:3478 (repeatable).
    #[arg(long, value_parser = parse_ice_url)]
    pub stun: Vec<IceUrl>,
    /// The `iceServers` array of a browser app, as JSON or @FILE.
    #[arg(long)]
    pub ice_servers: Option<String>,
    #[command(flatten)]
    pub credentials: TurnCredentialArgs,
    /// Derive time-limited TURN REST credentials from this shared secret instead.
    #[arg(long, env = "RTC_ASSIST_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
}

/// Long-term TURN credentials (`join`, `probe`, `serve --ice-server`); the other way is the
/// REST secret `--turn-secret`, which each of those commands has as well.
#[derive(Debug, Clone, Args)]
pub struct TurnCredentialArgs {
    /// TURN username.
    #[arg(long, env = "RTC_ASSIST_TURN_USERNAME", hide_env_values = true)]
    pub username: Option<String>,
    /// TURN password (prefer the environment variable: it stays out of shell history).
    #[arg(long, env = "RTC_ASSIST_TURN_CREDENTIAL", hide_env_values = true, conflicts_with = "turn_secret")]
    pub credential: Option<String>,
}

/// The TURN servers to test (each with its credentials) and the STUN URLs.
pub fn ice_targets(args: &IceServerArgs) -> anyhow::Result<(Vec<TurnTarget>, Vec<IceUrl>)> {
    let creds = &args.credentials;
    let (username, credential) = match (&args.turn_secret, &creds.username, &creds.credential) {
        (Some(secret), user, _) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            rest_credentials(secret, user.as_deref().unwrap_or("rtc-assist"), now, 3600)
        }
        (None, u, c) => (u.clone().unwrap_or_default(), c.clone().unwrap_or_default()),
    };
    let mut stuns = args.stun.clone();
    let mut targets: Vec<TurnTarget> = args
        .turn
        .iter()
        .map(|url| TurnTarget {
            url: url.clone(),
            username: username.clone(),
            credential: credential.clone(),
        })
        .collect();
    if let Some(spec) = &args.ice_servers {
        let text = match spec.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
            None => spec.clone(),
        };
        let servers = parse_ice_servers_json(&text).map_err(|e| anyhow::anyhow!("--ice-servers: {e}"))?;
        for s in servers {
            for u in &s.urls {
                let url = IceUrl::parse(u).with_context(|| format!("--ice-servers: {u:?}"))?;
                if url.is_turn() {
                    targets.push(TurnTarget {
                        url,
                        username: s.username.clone().unwrap_or_else(|| username.clone()),
                        credential: s.credential.clone().unwrap_or_else(|| credential.clone()),
                    });
                } else {
                    stuns.push(url);
                }
            }
        }
    }
    if targets.iter().any(|t| t.username.is_empty() || t.credential.is_empty()) {
        bail!("TURN needs credentials: --username/--credential, --turn-secret, or the ones in --ice-servers");
    }
    Ok((targets, stuns))
}

/// The servers as a peer connection takes them.
pub fn as_ice_servers(targets: &[TurnTarget], stuns: &[IceUrl]) -> Vec<IceServer> {
    targets
        .iter()
        .map(|t| IceServer {
            urls: vec![t.url.to_string()],
            username: Some(t.username.clone()),
            credential: Some(t.credential.clone()),
        })
        .chain(stuns.iter().map(|u| IceServer { urls: vec![u.to_string()], ..Default::default() }))
        .collect()
}

/// `serve --ice-server URL…` with `--username`/`--credential` or the REST `secret` (REST
/// credentials are made at each use, valid `ttl_s`).
pub fn server_ice(
    urls: &[IceUrl],
    creds: &TurnCredentialArgs,
    secret: Option<&str>,
    ttl_s: u64,
) -> anyhow::Result<ServerIce> {
    if urls.is_empty() && (creds.username.is_some() || creds.credential.is_some()) {
        bail!("--username/--credential are the credentials of --ice-server TURN URLs: none given");
    }
    let auth = match (secret, &creds.username, &creds.credential) {
        (Some(secret), None, None) => IceAuth::Rest { secret: Secret::new(secret), ttl_s },
        (Some(_), ..) => bail!("--ice-server: give --turn-secret or --username/--credential, not both"),
        (None, Some(username), Some(credential)) => {
            IceAuth::Static { username: username.clone(), credential: Secret::new(credential.clone()) }
        }
        (None, None, None) => IceAuth::None,
        (None, ..) => bail!("--ice-server: --username and --credential go together"),
    };
    Ok(ServerIce::new(urls.to_vec(), auth)?)
}
