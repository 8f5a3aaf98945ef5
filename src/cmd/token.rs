//! `rtc-assist token --room R`: mints a room token for `serve --token-secret` and prints only
//! the token (stdout), so that `--token "$(rtc-assist token --room R)"` works.

use anyhow::Context;

use crate::Outcome;
use crate::cli::TokenArgs;
use crate::signal::token::Claims;
use crate::serve::TokenKey;

pub fn run(args: TokenArgs) -> anyhow::Result<Outcome> {
    let secret = args
        .token_secret
        .context("no secret to sign with: pass --token-secret or set RTC_ASSIST_TOKEN_SECRET")?;
    let key = TokenKey::new(secret)?;
    let claims = Claims::mint(&args.room, args.ttl, args.identity.as_deref(), crate::serve::unix_now())?;
    println!("{}", key.mint(&claims)?.expose());
    Ok(Outcome::Success)
}
