//! One module per subcommand: each wires drivers to the core and picks a renderer.

pub mod analyze;
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

use crate::Outcome;
use crate::cli::{Command, LabCommand, ScenarioCommand};

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
