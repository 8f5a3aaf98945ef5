//! `rtc-assist devices`: the audio hosts and devices cpal finds, with their configurations; with
//! `--check-input`, a capture from the input device measured before and after an Opus round
//! trip (is the microphone working, and what does it deliver?).

use std::fmt::Write;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::Outcome;
use crate::cmd::args::{InputArgs, parse_duration};
use crate::media::analysis::Meter;
use crate::media::capture::Capture;
use crate::media::codec::{DEFAULT_BITRATE, OpusDecoder, OpusEncoder};
use crate::media::devices::{self, Negotiated};
use crate::media::{FRAME, FRAME_SAMPLES};

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Instead of listing: capture from the input device for --seconds and report its
    /// negotiated format, level and dominant frequency, before and after an Opus round trip.
    #[arg(long)]
    pub check_input: bool,
    /// How long --check-input captures, in seconds.
    #[arg(long, default_value = "2", value_parser = parse_duration, requires = "check_input")]
    pub seconds: f64,
    #[command(flatten)]
    pub input: InputArgs,
}

/// A level below this is silence: the device delivers nothing useful.
const SILENCE_DBFS: f64 = -60.0;

#[derive(Debug, Serialize)]
struct Measured {
    level_dbfs: f64,
    dominant_hz: Option<f64>,
}

impl Measured {
    fn of(meter: &Meter) -> Self {
        let round = |x: f64| (x * 10.0).round() / 10.0;
        Self { level_dbfs: round(meter.rms_dbfs()), dominant_hz: meter.dominant_hz().map(round) }
    }
}

#[derive(Debug, Serialize)]
struct InputCheck {
    input: Negotiated,
    captured_s: f64,
    wall_s: f64,
    dropped_callbacks: u64,
    captured: Measured,
    after_opus: Measured,
}

async fn check_input(args: &DevicesArgs) -> anyhow::Result<Outcome> {
    let choice = args.input.choice();
    let mut capture = tokio::task::spawn_blocking(move || Capture::open(&choice)).await??;
    let wanted = (args.seconds / FRAME.as_secs_f64()).ceil() as usize;
    let mut encoder = OpusEncoder::new(DEFAULT_BITRATE)?;
    let mut decoder = OpusDecoder::new()?;
    let (mut raw, mut decoded) = (Meter::new(), Meter::new());
    let mut frame = vec![0.0f32; FRAME_SAMPLES];
    let start = Instant::now();
    let limit = Duration::from_secs_f64(args.seconds * 2.0 + 5.0);
    let mut frames = 0;
    while frames < wanted {
        match tokio::time::timeout_at((start + limit).into(), capture.next_frame(&mut frame)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => break,
        }
        raw.push(&frame);
        decoded.push(decoder.decode(&encoder.encode(&frame)?)?);
        frames += 1;
    }
    let check = InputCheck {
        input: capture.negotiated.clone(),
        captured_s: frames as f64 * FRAME.as_secs_f64(),
        wall_s: (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        dropped_callbacks: capture.dropped_blocks(),
        captured: Measured::of(&raw),
        after_opus: Measured::of(&decoded),
    };
    let heard = frames == wanted && check.captured.level_dbfs > SILENCE_DBFS;
    if args.json {
        println!("{}", serde_json::json!({ "input_check": check, "ok": heard }));
    } else {
        print!("{}", render_check(&check, heard));
    }
    Ok(if heard { Outcome::Success } else { Outcome::Problem })
}

fn render_check(c: &InputCheck, heard: bool) -> String {
    let hz = |m: &Measured| m.dominant_hz.map_or("no dominant tone".into(), |f| format!("{f:.1} Hz"));
    let n = &c.input;
    let mut out = String::new();
    let _ = writeln!(out, "input      {} ({} {} ch {} Hz)", n.device, n.sample_format, n.channels, n.rate);
    let _ = writeln!(
        out,
        "captured   {:.2} s in {:.2} s, {} callback(s) dropped",
        c.captured_s, c.wall_s, c.dropped_callbacks
    );
    let _ = writeln!(out, "level      {:.1} dBFS, {}", c.captured.level_dbfs, hz(&c.captured));
    let _ = writeln!(out, "after Opus {:.1} dBFS, {}", c.after_opus.level_dbfs, hz(&c.after_opus));
    let verdict = if heard { "ok: the input delivers sound" } else { "problem: silence or too little audio" };
    let _ = writeln!(out, "{verdict}");
    out
}

pub async fn run(args: DevicesArgs) -> anyhow::Result<Outcome> {
    if args.check_input {
        return check_input(&args).await;
    }
    let hosts = tokio::task::spawn_blocking(devices::list).await?;
    if args.json {
        println!("{}", serde_json::json!({ "hosts": hosts }));
        return Ok(Outcome::Success);
    }
    let mut out = String::new();
    for h in &hosts {
        let _ = writeln!(
            out,
            "host {}{}",
            h.name,
            h.error.as_ref().map(|e| format!(" (error: {e})")).unwrap_or_default()
        );
        for (kind, list) in [("input", &h.inputs), ("output", &h.outputs)] {
            if list.is_empty() {
                let _ = writeln!(out, "  no {kind} devices");
            }
            for d in list {
                let _ = writeln!(
                    out,
                    "  {kind:<6} {}{} {}",
                    d.name,
                    if d.default { " (default)" } else { "" },
                    d.description
                );
                if let Some(c) = &d.default_config {
                    let _ =
                        writeln!(out, "         default {} {} ch {} Hz", c.sample_format, c.channels, c.rate);
                }
                for c in &d.configs {
                    let _ = writeln!(
                        out,
                        "         {:<4} {}-{} ch, {}-{} Hz",
                        c.sample_format, c.min_channels, c.max_channels, c.min_rate, c.max_rate
                    );
                }
            }
        }
    }
    print!("{out}");
    Ok(Outcome::Success)
}
