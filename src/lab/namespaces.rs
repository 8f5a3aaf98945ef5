//! The network lab: Linux network namespaces joined by veth pairs, one router namespace per NAT
//! (nftables doing the translation and filtering), `tc netem` on links, all built from a pure
//! [`Plan`] (`plan::plan`) under a per-run name prefix. A [`Lab`] removes every namespace it
//! made when dropped (end of run, Ctrl-C, panic); [`cleanup_leftovers`] removes those of runs
//! that died without dropping theirs; [`Lab::enter`] moves a thread of this process into a
//! host. Needs root or CAP_NET_ADMIN.



use std::sync::atomic::{AtomicU32, Ordering};

use crate::lab::plan::{self, HostPlan, HostSpec, INTERNET_PREFIX_LEN, LAN_PREFIX_LEN, Plan};
use super::tools;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the network lab needs root or CAP_NET_ADMIN (it creates network namespaces)")]
    NotPrivileged,
    #[error("{0}")]
    Plan(String),
    #[error("`{cmd}` failed: {message}")]
    Tool { cmd: String, message: String },
}

/// Whether this process may build a lab.
pub fn check_privilege() -> Result<(), LabError> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if plan::has_net_admin(&status) { Ok(()) } else { Err(LabError::NotPrivileged) }
}

/// Makes SIGTERM (what `timeout` and service managers send) cancel `token` like Ctrl-C does, so
/// that a lab run is dropped — and its namespaces removed — instead of the process dying.
pub fn cancel_on_sigterm(token: &tokio_util::sync::CancellationToken) {
    let token = token.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate())
            && term.recv().await.is_some()
        {
            tracing::info!("SIGTERM: taking the lab down");
            token.cancel();
        }
    });
}

/// A fresh prefix for one lab of this process.
fn run_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{}{}-{}-", plan::PREFIX, std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Removes the lab namespaces whose run is gone (its process no longer exists); returns them.
pub fn cleanup_leftovers() -> Result<Vec<String>, LabError> {
    check_privilege()?;
    let mut removed = Vec::new();
    for ns in tools::namespaces()? {
        let Some(pid) = plan::owner_pid(&ns) else { continue };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        tools::ip(&["netns", "del", &ns])?;
        removed.push(ns);
    }
    Ok(removed)
}

/// A lab that is up; dropping it takes everything down.
#[derive(Debug)]
pub struct Lab {
    plan: Plan,
    made: Vec<String>,
}

impl Lab {
    /// Builds `hosts` (leftovers of dead runs are removed first).
    pub fn up(hosts: &[HostSpec]) -> Result<Self, LabError> {
        cleanup_leftovers()?;
        let plan = Plan::new(&run_prefix(), hosts).map_err(LabError::Plan)?;
        let mut lab = Self { plan, made: Vec::new() };
        lab.build()?;
        Ok(lab)
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> Result<&HostPlan, LabError> {
        self.plan.host(name).ok_or_else(|| LabError::Plan(format!("no host {name:?} in this lab")))
    }

    fn build(&mut self) -> Result<(), LabError> {
        for ns in self.plan.namespaces() {
            tools::ip(&["netns", "add", &ns])?;
            self.made.push(ns.clone());
            tools::ip_in(&ns, &["link", "set", "lo", "up"])?;
            // IPv4 only: webrtc-rs gathering trips over IPv6 link-local addresses.
            for key in ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"] {
                tools::run(Some(&ns), "sysctl", &["-qw", key], None)?;
            }
        }
        let inet = self.plan.internet_ns.clone();
        tools::ip_in(&inet, &["link", "add", "br0", "type", "bridge"])?;
        tools::ip_in(&inet, &["link", "set", "br0", "up"])?;
        for (i, host) in self.plan.hosts.clone().iter().enumerate() {
            let port = format!("h{i}");
            let (public_ns, public_if) = match &host.router {
                None => (host.ns.as_str(), "eth0"),
                Some((router, _)) => (router.as_str(), "wan"),
            };
            veth(public_ns, public_if, &inet, &port)?;
            tools::ip_in(&inet, &["link", "set", &port, "master", "br0", "up"])?;
            let cidr = format!("{}/{INTERNET_PREFIX_LEN}", host.public_addr);
            tools::ip_in(public_ns, &["addr", "add", &cidr, "dev", public_if])?;
            tools::ip_in(public_ns, &["link", "set", public_if, "up"])?;
            // The lab internet is one segment; a default route is still needed (webrtc-rs joins
            // the mDNS multicast group, which fails with ENODEV on a host without one).
            tools::ip_in(public_ns, &["route", "add", "default", "dev", public_if])?;
            let far_end = match &host.router {
                None => (inet.clone(), port.clone()),
                Some((router, gw)) => {
                    veth(&host.ns, "eth0", router, "lan")?;
                    tools::ip_in(router, &["addr", "add", &format!("{gw}/{LAN_PREFIX_LEN}"), "dev", "lan"])?;
                    tools::ip_in(router, &["link", "set", "lan", "up"])?;
                    let cidr = format!("{}/{LAN_PREFIX_LEN}", host.addr);
                    tools::ip_in(&host.ns, &["addr", "add", &cidr, "dev", "eth0"])?;
                    tools::ip_in(&host.ns, &["link", "set", "eth0", "up"])?;
                    tools::ip_in(&host.ns, &["route", "add", "default", "via", &gw.to_string()])?;
                    tools::run(Some(router), "sysctl", &["-qw", "net.ipv4.ip_forward=1"], None)?;
                    tools::run(Some(router), "nft", &["-f", "-"], Some(&plan::router_ruleset(host)))?;
                    (router.clone(), "lan".to_owned())
                }
            };
            if let Some(args) = host.spec.link.netem_args() {
                netem(&host.ns, "eth0", &args)?;
                netem(&far_end.0, &far_end.1, &args)?;
            }
            for (ns, dev) in [(host.ns.as_str(), "eth0"), (far_end.0.as_str(), far_end.1.as_str())] {
                let loss = plan::link_ruleset(&host.spec.link, dev);
                if !loss.is_empty() {
                    tools::run(Some(ns), "nft", &["-f", "-"], Some(&loss))?;
                }
            }
        }
        Ok(())
    }

    /// A command that runs `program` inside host `name`'s namespace.
    pub fn command(
        &self,
        name: &str,
        program: &std::ffi::OsStr,
    ) -> Result<tokio::process::Command, LabError> {
        let ns = &self.host(name)?.ns;
        let mut c = tokio::process::Command::new("ip");
        c.args(["netns", "exec"]).arg(ns).arg(program).kill_on_drop(true);
        Ok(c)
    }
}

/// A veth pair: `a_if` inside `a`, `b_if` inside `b`.
fn veth(a: &str, a_if: &str, b: &str, b_if: &str) -> Result<(), LabError> {
    tools::ip(&["link", "add", a_if, "netns", a, "type", "veth", "peer", "name", b_if, "netns", b])
}

/// Puts netem `args` (delay, jitter) on what `dev` in `ns` sends.
fn netem(ns: &str, dev: &str, args: &[String]) -> Result<(), LabError> {
    let mut all = vec!["-n", ns, "qdisc", "add", "dev", dev, "root", "netem"];
    all.extend(args.iter().map(String::as_str));
    tools::run(None, "tc", &all, None).map_err(|e| match e {
        LabError::Tool { cmd, message } if message.contains("qdisc kind is unknown") => LabError::Tool {
            cmd,
            message: "this kernel has no netem (sch_netem): delay and jitter cannot be applied \
                      (loss can: it is done with nftables)"
                .into(),
        },
        other => other,
    })
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace takes its veth ends, routes, qdiscs and nftables rules with it.
        for ns in self.made.iter().rev() {
            if let Err(e) = tools::ip(&["netns", "del", ns]) {
                tracing::warn!(cause = %e, "lab cleanup");
            }
        }
    }
}
