//! The command line and one module per subcommand: each declares its arguments (clap derive)
//! and wires drivers to the core and picks a renderer; `args.rs` holds what several share.
// The doc comments of arguments are clap's `--help` text, written for a terminal, not for
// rustdoc: `tone[:HZ]` and `DIR/<peer id>.ndjson` are meant literally.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

pub mod analyze;
pub mod args;
pub mod completions;
pub mod demo;
pub mod devices;
pub mod ice_servers;
pub mod join;
pub mod lab;
pub mod load;
pub mod probe;
pub mod scenario;
pub mod serve;
pub mod token;

use clap::{Parser, Subcommand};

use crate::Outcome;
use crate::cmd::analyze::AnalyzeArgs;
use crate::cmd::completions::CompletionsArgs;
use crate::cmd::demo::DemoArgs;
use crate::cmd::devices::DevicesArgs;
use crate::cmd::join::JoinArgs;
use crate::cmd::lab::LabCommand;
use crate::cmd::load::LoadArgs;
use crate::cmd::probe::ProbeArgs;
use crate::cmd::scenario::ScenarioCommand;
use crate::cmd::serve::ServeArgs;
use crate::cmd::token::TokenArgs;

#[derive(Debug, Parser)]
#[command(name = "rtc-assist", version, about = "WebRTC peer and connection diagnostic tool")]
pub struct Cli {
    /// More log detail on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// WebSocket signaling server with rooms and an audio SFU (endpoint /ws).
    Serve(ServeArgs),
    /// Join a room as a real peer: send the microphone (or a tone or WAV file), receive, play,
    /// record and measure the others.
    Join(JoinArgs),
    /// End-to-end check of a signaling server: names the failure mode it finds (F1…F7).
    Probe(ProbeArgs),
    /// Scripted scenarios: reproduce failure modes and healthy paths, assert what is observed.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// List audio hosts, input and output devices, defaults and supported configurations.
    Devices(DevicesArgs),
    /// Run serve and two tone peers on loopback and show their timelines (no setup needed).
    Demo(DemoArgs),
    /// Mint a room token for `serve --token-secret` (prints only the token).
    Token(TokenArgs),
    /// Put load on any signaling server: many peers in rooms, connect-phase tails, loss,
    /// jitter, the server's CPU per forwarded packet.
    Load(LoadArgs),
    /// Diagnose a call after the fact from a webrtc-internals dump or an rtc-assist timeline
    /// (`join --json`, `probe --json`); `.gz` files too. Exit 0 nothing found, 1 findings, 2
    /// unreadable.
    Analyze(AnalyzeArgs),
    /// Print a shell completion script to stdout (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout: `rtc-assist man > rtc-assist.1`.
    Man,
    /// Network lab in Linux network namespaces: NATs, a UDP-blocking firewall, lossy links
    /// (root or CAP_NET_ADMIN).
    #[command(subcommand)]
    Lab(LabCommand),
}

pub async fn dispatch(command: Command) -> anyhow::Result<Outcome> {
    let shutdown = crate::shutdown::on_ctrl_c();
    match command {
        Command::Serve(args) => serve::run(args, shutdown).await,
        Command::Join(args) => join::run(args, shutdown).await,
        Command::Probe(args) => probe::run(args, shutdown).await,
        Command::Scenario(ScenarioCommand::Run(args)) => scenario::run(args, shutdown).await,
        Command::Devices(args) => devices::run(args).await,
        Command::Demo(args) => demo::run(args, shutdown).await,
        Command::Token(args) => token::run(args),
        Command::Load(args) => load::run(args, shutdown).await,
        Command::Analyze(args) => analyze::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man => completions::man(),
        Command::Lab(LabCommand::Topologies) => lab::topologies(),
        Command::Lab(LabCommand::Exec(args)) => lab::exec(args, shutdown).await,
        Command::Lab(LabCommand::Cleanup) => lab::cleanup(),
        Command::Lab(LabCommand::Peer(args)) => lab::peer(args, shutdown).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::args::{parse_duration, parse_room, parse_ws_url};
    use crate::cmd::load::{parse_http_url, parse_rate, parse_shard, parse_warmup};
    use crate::media::source::Source;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn urls_rooms_and_durations_are_checked() {
        assert!(parse_ws_url("ws://127.0.0.1:8765/ws").is_ok());
        assert!(parse_ws_url("wss://[::1]:9/ws").is_ok());
        for bad in ["http://x/ws", "127.0.0.1:8765", "ws://", "", "ws://a b/"] {
            assert!(parse_ws_url(bad).is_err(), "{bad}");
        }
        assert!(parse_room("r1").is_ok());
        assert!(
            parse_room("").is_err() && parse_room(&"r".repeat(65)).is_err() && parse_room("a\u{7}").is_err()
        );
        assert!(
            parse_duration("0").is_err() && parse_duration("-1").is_err() && parse_duration("NaN").is_err()
        );
        assert_eq!(parse_duration("2.5").unwrap(), 2.5);
    }

    #[test]
    fn join_parses_its_flags() {
        let cli = Cli::try_parse_from([
            "rtc-assist",
            "join",
            "r",
            "--source",
            "tone:880",
            "--duration",
            "3",
            "--json",
            "--expect-audio",
        ])
        .unwrap();
        let Command::Join(j) = cli.command else { panic!("not join") };
        assert_eq!(j.source, Some(Source::Tone { hz: 880.0 }));
        assert!(j.json && j.expect_audio);
    }

    #[test]
    fn load_arguments_refuse_hostile_values() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        for bad in ["0/4", "5/4", "1/0", "x/2", "1/", "/", "", "1/2/3", "-1/2", "1/100000"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["0", "-1", "NaN", "inf", "1001", "five"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_warmup("0"), Ok(0.0));
        assert!(parse_warmup("-1").is_err() && parse_warmup("NaN").is_err());
        assert!(parse_http_url("http://127.0.0.1:8765/stats").is_ok());
        for bad in ["ws://127.0.0.1/stats", "127.0.0.1/stats", "http://", "file:///etc/passwd"] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from([
            "rtc-assist",
            "load",
            "ws://127.0.0.1:1/ws",
            "--pass",
            "failed<1%,loss_p95<1%",
        ]);
        assert!(cli.is_ok(), "{cli:?}");
        let cli = Cli::try_parse_from(["rtc-assist", "load", "ws://127.0.0.1:1/ws", "--pass", "failed<1ms"]);
        assert!(cli.is_err());
        assert!(Cli::try_parse_from(["rtc-assist", "load", "ws://127.0.0.1:1/ws", "--rooms", "0"]).is_err());
    }
}
