//! The lab's system tools (`ip`, `nft`, `tc`, `sysctl` from iproute2, nftables and procps),
//! run to completion with their failure kept as a plain error.

use std::io::Write;
use std::process::{Command, Stdio};

use super::LabError;

/// Runs `program args…` (inside namespace `ns` when given), feeding `stdin`; an error carries
/// the command line and the tool's own message.
pub fn run(ns: Option<&str>, program: &str, args: &[&str], stdin: Option<&str>) -> Result<(), LabError> {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let line = format!("{program} {}", args.join(" "));
    let mut child = cmd.spawn().map_err(|e| LabError::Tool { cmd: line.clone(), message: e.to_string() })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| LabError::Tool { cmd: line.clone(), message: e.to_string() })?;
    }
    let out =
        child.wait_with_output().map_err(|e| LabError::Tool { cmd: line.clone(), message: e.to_string() })?;
    if out.status.success() {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    Err(LabError::Tool { cmd: line, message })
}

/// Runs `ip args…` in the root namespace.
pub fn ip(args: &[&str]) -> Result<(), LabError> {
    run(None, "ip", args, None)
}

/// Runs `ip args…` inside `ns`.
pub fn ip_in(ns: &str, args: &[&str]) -> Result<(), LabError> {
    run(None, "ip", &[&["-n", ns], args].concat(), None)
}

/// The names `ip netns list` shows.
pub fn namespaces() -> Result<Vec<String>, LabError> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map_err(|e| LabError::Tool { cmd: "ip netns list".into(), message: e.to_string() })?;
    // Lines are "NAME" or "NAME (id: N)".
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}
