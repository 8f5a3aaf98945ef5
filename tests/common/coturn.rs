//! Debian's coturn on loopback for the TURN tests: UDP+TCP on one port, TLS on another, a
//! private CA and a server certificate for localhost made with openssl.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Debian's coturn on loopback: UDP+TCP on one port, TLS on another, with a private CA.
pub struct Coturn {
    child: Child,
    pub port: u16,
    pub tls_port: u16,
    dir: std::path::PathBuf,
}

impl Coturn {
    pub fn start(auth: &[&str]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("rtc-assist-coturn-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let sh = |cmd: &str| {
            let ok = Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(&dir)
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(ok.success(), "{cmd}");
        };
        sh(
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=rtc-test-ca",
        );
        sh("openssl req -newkey rsa:2048 -nodes -keyout k.pem -out srv.csr -subj /CN=localhost");
        sh(
            "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf",
        );
        sh(
            "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out srv.pem",
        );
        let (port, tls_port) = (free_port(), free_port());
        let child = Command::new("turnserver")
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                "--realm=test",
                "--no-dtls",
                "--no-cli",
            ])
            .arg(format!("--listening-port={port}"))
            .arg(format!("--tls-listening-port={tls_port}"))
            .args([
                "--cert=srv.pem",
                "--pkey=k.pem",
                "--allow-loopback-peers",
                "--userdb=turndb",
                "--pidfile=turn.pid",
            ])
            .args(["--log-file=stdout", "--simple-log"])
            .args(auth)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("coturn (turnserver) is installed by scripts/deps.sh");
        std::thread::sleep(Duration::from_millis(1000));
        Self { child, port, tls_port, dir }
    }

    pub fn ca(&self) -> String {
        self.dir.join("ca.pem").to_string_lossy().into_owned()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
