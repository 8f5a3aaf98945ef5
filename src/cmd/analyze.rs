//! `rtc-assist analyze FILE...`: read each file (gunzipped when it is gzip), import it by
//! content, run the rules on every peer connection and print the report; exit 0 nothing found,
//! 1 findings, 2 a file could not be read or is in no known format.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;

use crate::Outcome;
use crate::diagnose::connection_rules::{cannot_show, diagnose_connection, lone_timeline, merge, server_record};
use crate::diagnose::correlate::{correlate, misdelivered, unadded_finding};
use crate::diagnose::import::{Format, Import, import};
use crate::diagnose::load_rules::diagnose_load;
use crate::diagnose::rules::{PeerRun, Role, diagnose};
use crate::ui::{ConnectionReport, FileReport, Style, render_analysis};

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Files to read; the format is recognised by content (gzip too).
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// One JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Only the peer connections whose id starts with this (a peer id, a probe role, or a
    /// dump's "<rid>-<lid>" key).
    #[arg(long)]
    pub peer: Option<String>,
}

/// Bigger files are refused rather than read into memory (a dump of a long call is ~50 MB).
const MAX_BYTES: u64 = 512 * 1024 * 1024;

/// The file's text, gunzipped when it starts with the gzip magic (RFC 1952 §2.3.1).
fn read_text(path: &Path) -> anyhow::Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut raw = Vec::new();
    file.take(MAX_BYTES + 1).read_to_end(&mut raw).with_context(|| format!("{}", path.display()))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .take(MAX_BYTES + 1)
            .read_to_end(&mut out)
            .with_context(|| format!("{}: not a readable gzip file", path.display()))?;
        raw = out;
    }
    if raw.len() as u64 > MAX_BYTES {
        bail!("{}: larger than {} MiB", path.display(), MAX_BYTES >> 20);
    }
    String::from_utf8(raw).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))
}

/// The rules on one imported file: the probe's own rules on our timelines, plus what a single
/// connection's file shows.
fn report(path: &Path, imp: Import, peer: Option<&str>) -> FileReport {
    let mut findings = imp.probe_runs.as_deref().map(diagnose).unwrap_or_default();
    let load = imp.load.map(|mut run| {
        run.peers
            .retain(|p| peer.is_none_or(|want| p.peer_id.as_deref().is_some_and(|id| id.starts_with(want))));
        findings.extend(diagnose_load(&run));
        run
    });
    let connections = imp
        .connections
        .into_iter()
        .filter(|c| peer.is_none_or(|p| c.id.starts_with(p)))
        .map(|c| {
            let own = match imp.format {
                // A `join` timeline is an observer's run (a browser-like peer): the probe's rules apply.
                Format::RtcAssistNdjson => {
                    let events = c.records.iter().map(|r| r.stamped.clone()).collect();
                    lone_timeline(diagnose(&[PeerRun { role: Role::Observer, tone_hz: 0.0, events }]), &c)
                }
                Format::ProbeJson
                | Format::LoadJson
                | Format::WebrtcInternals
                | Format::Rtcstats
                | Format::ServeRecord => {
                    vec![]
                }
            };
            let rules = match imp.format {
                Format::ServeRecord => server_record(&c),
                _ => diagnose_connection(&c),
            };
            let findings = merge(own, rules)
                .into_iter()
                .filter(|f| !findings.iter().any(|p| p.code == f.code))
                .collect();
            let cannot_show = cannot_show(imp.format, &c);
            ConnectionReport { connection: c, findings, cannot_show }
        })
        .collect();
    let cannot_show = if load.is_some() { cannot_show(imp.format, &Default::default()) } else { vec![] };
    FileReport {
        path: path.display().to_string(),
        format: imp.format,
        writer: imp.writer,
        skipped: imp.skipped,
        findings,
        connections,
        load,
        cannot_show,
    }
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<Outcome> {
    let style = Style::detect(args.json);
    let mut files = Vec::new();
    for path in &args.files {
        let text = read_text(path)?;
        let imp = import(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        files.push(report(path, imp, args.peer.as_deref()));
    }
    if let Some(p) = &args.peer
        && files
            .iter()
            .all(|f| f.connections.is_empty() && f.load.as_ref().is_none_or(|l| l.peers.is_empty()))
    {
        bail!("no peer connection's id starts with {p:?}");
    }
    let labelled: Vec<(&str, &crate::diagnose::connection::Connection)> =
        files.iter().flat_map(|f| f.connections.iter().map(|c| (f.path.as_str(), &c.connection))).collect();
    let correlations = correlate(&labelled);
    let across: Vec<_> = if labelled.len() > 1 {
        misdelivered(&labelled).into_iter().chain(unadded_finding(&correlations)).collect()
    } else {
        vec![]
    };
    // A closed stdout (`| head`) ends the report, not in a panic.
    let _ =
        writeln!(std::io::stdout().lock(), "{}", render_analysis(&files, &across, &correlations, style.json));
    let healthy = across.is_empty() && files.iter().all(FileReport::healthy);
    Ok(if healthy { Outcome::Success } else { Outcome::Problem })
}
