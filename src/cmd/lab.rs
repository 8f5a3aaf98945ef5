//! `rtc-assist lab topologies | exec | cleanup`: list the lab's topologies, run a command
//! inside one of a topology's hosts (the lab comes down when it ends or on Ctrl-C), remove
//! leftovers of killed runs; the hidden `lab peer` is `join --json` with the probe's deviations. Without root or CAP_NET_ADMIN: one line, exit 2.

use anyhow::Context;
use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::client::Behaviour;
use crate::cmd::join::JoinArgs;
use crate::cmd::join;
use crate::lab::plan::{topologies as catalogue, topology};
use crate::lab::{self, Lab};
use crate::ui::{Printer, Style};

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// List the topologies `lab exec` builds.
    Topologies,
    /// Build a topology, run CMD inside one of its hosts, take everything down again.
    Exec(LabExecArgs),
    /// Remove lab namespaces left behind by runs that were killed.
    Cleanup,
    /// `join` with the probe's deviations (withheld checks, full-SDP offer): the peer lab
    /// scenarios run inside a namespace.
    #[command(hide = true)]
    Peer(Box<LabPeerArgs>),
}

#[derive(Debug, Args)]
pub struct LabPeerArgs {
    #[command(flatten)]
    pub join: JoinArgs,
    /// Send no connectivity checks: only the server's checks can connect us.
    #[arg(long)]
    pub withhold_checks: bool,
    /// Every candidate inside the offer, none trickled.
    #[arg(long)]
    pub full_sdp_offer: bool,
}

#[derive(Debug, Args)]
pub struct LabExecArgs {
    /// Topology name (`rtc-assist lab topologies`).
    #[arg(long)]
    pub topology: String,
    /// Host to run CMD in: client, server or turn.
    #[arg(long, default_value = "client")]
    pub host: String,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub cmd: Vec<std::ffi::OsString>,
}

pub fn topologies() -> anyhow::Result<Outcome> {
    for (name, what) in catalogue() {
        println!("{name:<20} client {what}; server and turn public");
    }
    Ok(Outcome::Success)
}

pub async fn exec(args: LabExecArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let hosts = topology(&args.topology).map_err(|e| anyhow::anyhow!("--topology: {e}"))?;
    lab::check_privilege()?;
    lab::cancel_on_sigterm(&shutdown);
    let lab = Lab::up(&hosts)?;
    for h in &lab.plan().hosts {
        eprintln!("lab: {:<7} {:<18} {} (public {})", h.spec.name, h.spec.placement, h.addr, h.public_addr);
    }
    let (program, rest) = args.cmd.split_first().context("no command given")?;
    let mut cmd = lab.command(&args.host, program)?;
    let mut child =
        cmd.args(rest).spawn().with_context(|| format!("starting {}", program.to_string_lossy()))?;
    let status = tokio::select! {
        s = child.wait() => s?,
        () = shutdown.cancelled() => {
            let _ = child.kill().await;
            return Ok(Outcome::Problem);
        }
    };
    drop(lab);
    Ok(if status.success() { Outcome::Success } else { Outcome::Problem })
}

pub fn cleanup() -> anyhow::Result<Outcome> {
    let removed = lab::cleanup_leftovers()?;
    println!("removed {} lab namespace(s){}", removed.len(), if removed.is_empty() { "" } else { ":" });
    for ns in removed {
        println!("  {ns}");
    }
    Ok(Outcome::Success)
}

pub async fn peer(args: Box<LabPeerArgs>, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let mut opts = join::options(&args.join)?;
    opts.behaviour = Behaviour { withhold_checks: args.withhold_checks, full_sdp_offer: args.full_sdp_offer };
    join::run_client(opts, std::time::Instant::now(), Printer::new(Style::detect(true), None), false, shutdown).await
}
