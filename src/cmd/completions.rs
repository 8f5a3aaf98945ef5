//! `rtc-assist completions SHELL` and `rtc-assist man`: a shell completion script and the man
//! page, both generated from the clap definition (`cmd::Cli`), printed to stdout.

use clap::{Args, CommandFactory};

use crate::Outcome;
use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "rtc-assist", &mut std::io::stdout());
    Ok(Outcome::Success)
}

pub fn man() -> anyhow::Result<Outcome> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(Outcome::Success)
}
