//! The network lab: real NATs and firewalls in Linux network namespaces. `plan.rs` is the pure
//! plan (placements, addresses, namespace names, nftables rulesets, named topologies);
//! `namespaces.rs` builds and removes it, `tools.rs` runs `ip`/`nft`/`tc`/`sysctl`,
//! `coturn.rs` runs Debian's coturn in a lab host, `thread_ns.rs` enters a host.

pub mod plan;

runtime_modules!(coturn, namespaces, thread_ns, tools);

#[cfg(feature = "runtime")]
pub use namespaces::*;
#[cfg(feature = "runtime")]
pub use thread_ns::InHost;
