//! The network lab with the real binary (root; CI is root — elsewhere each test says it is
//! skipped): every NAT type maps and filters as named (a UDP check run inside the lab's client
//! host, `tests/lab/nat_check.py`), `lab exec` leaves no namespace behind even when its command
//! fails, `lab cleanup` removes a dead run's namespace, `probe --stun` names each NAT type's RFC 5780
//! behaviour against coturn on two addresses, and without CAP_NET_ADMIN `lab` says so
//! in one line and exits 2.

use std::process::{Command, Stdio};

use crate::common::BIN;

/// Whether this test may build a lab; says it is skipped when not.
pub(crate) fn is_root() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: the network lab needs root");
    }
    root
}

fn lab_namespaces() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().expect("ip (iproute2)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("rtclab-"))
        .map(str::to_owned)
        .collect()
}

fn ours(names: Vec<String>, pid: u32) -> Vec<String> {
    names.into_iter().filter(|n| n.starts_with(&format!("rtclab-{pid}-"))).collect()
}

#[test]
fn each_nat_type_maps_and_filters_as_named() {
    if !is_root() {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/nat_check.py");
    let want = [
        ("public", "same", "yes", "yes"),
        ("full-cone", "same", "yes", "yes"),
        ("address-restricted", "same", "yes", "no"),
        ("port-restricted", "same", "no", "no"),
        ("symmetric", "different", "no", "no"),
        ("udp-blocked", "none", "no", "no"),
    ];
    for (topology, mapping, other_port, other_addr) in want {
        let out = Command::new(BIN)
            .args(["lab", "exec", "--topology", topology, "--", "python3", script])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let expected =
            format!("mapping={mapping}\nfrom_other_port={other_port}\nfrom_other_addr={other_addr}\n");
        assert_eq!(text, expected, "{topology}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn exec_takes_the_lab_down_even_when_the_command_fails() {
    if !is_root() {
        return;
    }
    let child = Command::new(BIN)
        .args(["lab", "exec", "--topology", "symmetric", "--host", "server", "--", "sh", "-c"])
        .arg("ip -4 -br addr show eth0; exit 3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("203.0.113.11/24"), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("client  symmetric") && stderr.contains("198.51.100.2"), "{stderr}");
    // Namespace names carry the run's pid: none of that run may remain.
    assert_eq!(ours(lab_namespaces(), pid), Vec::<String>::new());
    let bad = Command::new(BIN).args(["lab", "exec", "--topology", "cone", "--", "true"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a placement"), "{bad:?}");
}

#[test]
fn cleanup_removes_the_namespaces_of_dead_runs_only() {
    if !is_root() {
        return;
    }
    // A pid above any pid_max: that run is certainly gone. This test's own pid: alive.
    let (dead, alive) =
        ("rtclab-4294967294-0-leftover".to_owned(), format!("rtclab-{}-0-alive", std::process::id()));
    for ns in [&dead, &alive] {
        assert!(Command::new("ip").args(["netns", "add", ns]).status().unwrap().success());
    }
    let out = Command::new(BIN).args(["lab", "cleanup"]).output().unwrap();
    let left = lab_namespaces();
    let _ = Command::new("ip").args(["netns", "del", &alive]).status();
    assert!(out.status.success(), "{out:?}");
    // (A lab started by a test running alongside may have removed it first: any run does.)
    assert!(!left.contains(&dead), "{left:?}");
    assert!(left.contains(&alive), "a live run's namespace was removed: {out:?}");
}

#[test]
fn without_net_admin_the_lab_says_so_and_exits_2() {
    if !is_root() {
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", BIN])
        .args(["lab", "exec", "--topology", "public", "--", "true"])
        .output()
        .expect("setpriv (util-linux)");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("needs root or CAP_NET_ADMIN"), "{stderr}");
}

#[test]
fn probe_stun_reports_each_nat_types_mapping_and_filtering() {
    if !is_root() {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/stun_5780.sh");
    let want = [
        ("full-cone", "endpoint-independent mapping", "endpoint-independent filtering"),
        ("address-restricted", "endpoint-independent mapping", "address-dependent filtering"),
        ("port-restricted", "endpoint-independent mapping", "address-and-port-dependent filtering"),
        ("symmetric", "address-and-port-dependent mapping", "address-and-port-dependent filtering"),
    ];
    for (topology, mapping, filtering) in want {
        let out = Command::new(BIN)
            .args(["lab", "exec", "--topology", topology, "--", "bash", script, BIN])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{topology}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let stun = &report["stun"][0];
        assert_eq!(stun["other_address"], "203.0.113.13:3479", "{topology}: {stun}");
        assert!(stun["mapping"].as_str().unwrap_or_default().starts_with(mapping), "{topology}: {stun}");
        assert!(stun["filtering"].as_str().unwrap_or_default().starts_with(filtering), "{topology}: {stun}");
    }
}

#[test]
fn probe_stun_without_bind_binds_for_the_servers_family() {
    if !is_root() {
        return;
    }
    // Inside a lab host (IPv4 only) with IPv6 turned on for its loopback alone: coturn on ::1,
    // and `probe --stun stun:[::1]:…` with no --bind must bind ::1, not 127.0.0.1. (The IPv4
    // case, 0.0.0.0 for a server that is not on loopback, is the RFC 5780 test's own probe.)
    let script = "sysctl -qw net.ipv6.conf.lo.disable_ipv6=0; d=$(mktemp -d); \
        turnserver -n --listening-ip=::1 --relay-ip=::1 --listening-port=3478 --realm=lab --no-cli \
        --no-tls --no-dtls --pidfile=$d/turn.pid --log-file=stdout --simple-log >/dev/null 2>&1 & \
        sleep 1; \"$0\" probe --stun 'stun:[::1]:3478' --json; kill $!; rm -rf \"$d\"";
    let out = Command::new(BIN)
        .args(["lab", "exec", "--topology", "public", "--", "sh", "-c", script, BIN])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let stun = &report["stun"][0];
    assert_eq!(stun["verdict"]["code"], "ok", "{stun}");
    assert!(stun["mapped"].as_str().unwrap_or_default().starts_with("[::1]:"), "{stun}");
}
