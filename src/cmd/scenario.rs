//! `rtc-assist scenario run [FILES…]`: loads every scenario first (a bad file is a usage
//! error), runs them — `--jobs` at a time, each on its own ports — prints a line per scenario
//! and `N passed, N failed`, writes `--junit FILE`; exit 1 if any failed.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use colored::Colorize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::scenario::junit::{self, CaseResult};
use crate::scenario::model::Scenario;
use crate::scenario::runner;
use crate::ui::Style;

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files (default: scenarios/*.toml).
    Run(ScenarioRunArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioRunArgs {
    /// Scenario files [default: scenarios/*.toml].
    pub files: Vec<std::path::PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<std::path::PathBuf>,
    /// Scenarios run at once (each has its own server and ports).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub jobs: u16,
}

fn files(args: &ScenarioRunArgs) -> anyhow::Result<Vec<PathBuf>> {
    if !args.files.is_empty() {
        return Ok(args.files.clone());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .context("no FILES given and no scenarios/ directory here")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    found.sort();
    if found.is_empty() {
        bail!("scenarios/ holds no .toml files");
    }
    Ok(found)
}

pub async fn run(args: ScenarioRunArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    Style::detect(false);
    let mut scenarios = Vec::new();
    for path in files(&args)? {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let s = Scenario::parse(&text).with_context(|| format!("{}: invalid scenario", path.display()))?;
        scenarios.push(s);
    }
    let slots = Arc::new(Semaphore::new(usize::from(args.jobs)));
    let mut tasks = Vec::new();
    for s in scenarios {
        let (slots, shutdown) = (slots.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            let r = runner::run(&s, shutdown).await;
            let status = if r.failures.is_empty() { "PASS".green().bold() } else { "FAIL".red().bold() };
            println!("{status} {} ({:.1} s)", r.name, r.time.as_secs_f64());
            for f in &r.failures {
                println!("     {f}");
            }
            r
        }));
    }
    let mut results: Vec<CaseResult> = Vec::new();
    for t in tasks {
        results.push(t.await.context("scenario task")?);
    }
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    println!("{} passed, {failed} failed", results.len() - failed);
    if let Some(path) = &args.junit {
        let xml = junit::render(&results).context("rendering JUnit XML")?;
        std::fs::write(path, xml).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if failed == 0 { Outcome::Success } else { Outcome::Problem })
}
