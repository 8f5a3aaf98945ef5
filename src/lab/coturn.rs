//! Debian's coturn inside a lab host: TURN REST auth with a shared secret, listening on the
//! host's address on UDP and/or TCP (port 443 when TCP is asked for: what an office firewall
//! lets out). Its configuration file holds the secret and lives in a private temporary
//! directory that goes away with the server.

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;

use super::{Lab, LabError};

/// A running coturn; dropping it stops it.
#[derive(Debug)]
pub struct Coturn {
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    pub addr: Ipv4Addr,
    pub port: u16,
}

fn io(cmd: &str, e: std::io::Error) -> LabError {
    LabError::Tool { cmd: cmd.into(), message: e.to_string() }
}

/// Starts coturn in host `host` of `lab`, offering `udp`/`tcp`, with REST secret `secret`.
pub async fn start(lab: &Lab, host: &str, udp: bool, tcp: bool, secret: &str) -> Result<Coturn, LabError> {
    let addr = lab.host(host)?.addr;
    let port = if tcp { 443 } else { 3478 };
    let dir = tempfile::tempdir().map_err(|e| io("mkdtemp", e))?;
    let mut conf = format!(
        "listening-ip={addr}\nrelay-ip={addr}\nlistening-port={port}\nrealm=lab\nuse-auth-secret\n\
         static-auth-secret={secret}\nfingerprint\nno-cli\nno-tls\nno-dtls\nsimple-log\nlog-file=stdout\n\
         pidfile={}/turn.pid\n",
        dir.path().display()
    );
    if !udp {
        conf.push_str("no-udp\n");
    }
    if !tcp {
        conf.push_str("no-tcp\n");
    }
    let path = dir.path().join("turnserver.conf");
    std::fs::write(&path, conf).map_err(|e| io("writing turnserver.conf", e))?;
    let child = lab
        .command(host, "turnserver".as_ref())?
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| io("turnserver (coturn, installed by scripts/deps.sh)", e))?;
    // coturn opens its listeners within a few hundred milliseconds and says so only in its log.
    tokio::time::sleep(Duration::from_millis(800)).await;
    Ok(Coturn { _child: child, _dir: dir, addr, port })
}
