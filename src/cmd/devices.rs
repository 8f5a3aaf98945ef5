//! `rtc-assist devices`: the audio hosts and devices cpal finds, with their configurations.

use std::fmt::Write;

use crate::Outcome;
use crate::cli::DevicesArgs;
use crate::media::devices;

pub async fn run(args: DevicesArgs) -> anyhow::Result<Outcome> {
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
                let _ = writeln!(out, "  {kind:<6} {}{}", d.name, if d.default { " (default)" } else { "" });
                for c in &d.configs {
                    let _ = writeln!(
                        out,
                        "         {} ch, {}-{} Hz, {}",
                        c.channels, c.min_rate, c.max_rate, c.sample_format
                    );
                }
            }
        }
    }
    print!("{out}");
    Ok(Outcome::Success)
}
