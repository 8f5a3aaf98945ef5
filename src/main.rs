//! The `rtc-assist` binary: parse the command line, set up telemetry and the output style,
//! dispatch to the subcommand, map its outcome to the exit code (0 ok, 1 problem, 2 error).

use std::process::ExitCode;

use clap::Parser;
use rtc_assist::cmd::{Cli, Command};
use rtc_assist::{EXIT_USAGE, cmd, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.verbose, matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(cmd::dispatch(cli.command)) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
