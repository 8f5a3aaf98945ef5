//! Tracing set-up: logs go to stderr, filtered by `RUST_LOG` or by `-v` counts; webrtc-rs'
//! `log` records are bridged into `tracing` (tracing-subscriber's `tracing-log` feature).

use tracing_subscriber::EnvFilter;

/// The filter for `-v` repeated `verbose` times, unless `RUST_LOG` is set. A server shows
/// its milestones (one line each) without `-v`; the other commands only warnings.
fn default_filter(verbose: u8, server: bool) -> &'static str {
    match verbose {
        0 if server => "rtc_assist=info",
        // webrtc-rs reports teardown races at ERROR level; its logs appear from -v on.
        0 => "rtc_assist=warn",
        1 => "warn,rtc_assist=info",
        2 => "info,rtc_assist=debug",
        _ => "debug,rtc_assist=trace",
    }
}

pub fn init(verbose: u8, server: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter(verbose, server)));
    // A second init (tests calling commands in-process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(crate::ui::Style::stderr_is_colourful())
        .try_init();
}
