//! `rtc-assist token --room R`: mints a room token for `serve --token-secret` and prints only
//! the token (stdout), so that `--token "$(rtc-assist token --room R)"` works.

use anyhow::Context;
use clap::Args;

use crate::Outcome;
use crate::cmd::args::{parse_room, parse_secret};
use crate::serve::TokenKey;
use crate::signal::secret::Secret;
use crate::signal::token::{Claims, DEFAULT_TTL_S, MAX_TTL_S};

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Room the token admits to (`*`: every room).
    #[arg(long, value_parser = parse_room)]
    pub room: String,
    /// Lifetime in seconds (at most 7 days).
    #[arg(long, default_value_t = DEFAULT_TTL_S, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_S))]
    pub ttl: u64,
    /// Who the token is for (its `sub` claim).
    #[arg(long)]
    pub identity: Option<String>,
    /// The secret serve was started with.
    #[arg(long, env = "RTC_ASSIST_TOKEN_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub token_secret: Option<Secret>,
}

pub fn run(args: TokenArgs) -> anyhow::Result<Outcome> {
    let secret = args
        .token_secret
        .context("no secret to sign with: pass --token-secret or set RTC_ASSIST_TOKEN_SECRET")?;
    let key = TokenKey::new(secret)?;
    let claims = Claims::mint(&args.room, args.ttl, args.identity.as_deref(), crate::serve::unix_now())?;
    println!("{}", key.mint(&claims)?.expose());
    Ok(Outcome::Success)
}
