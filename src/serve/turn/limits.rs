//! What the embedded TURN server enforces beyond its crate (RFC 8656 §7.2 step 7, §9.2): a
//! `Ledger` of live allocations by client transport address and username, the permissions each
//! holds, and the nonces handed out. It answers "may this Allocate / CreatePermission go ahead",
//! "is this nonce still fresh" and "which nonce may a challenge hand out again"; the driver
//! feeds it what crosses the wire. Time is milliseconds on the driver's monotonic clock, passed in.

use core::net::{IpAddr, SocketAddr};
use std::collections::{HashMap, VecDeque};

/// Concurrent allocations per TURN username by default.
pub const DEFAULT_USER_QUOTA: u32 = 10;
/// Concurrent allocations on the whole server by default.
pub const DEFAULT_TOTAL_QUOTA: u32 = 1000;
/// Permissions (peer IP addresses) one allocation may hold.
pub const MAX_PERMISSIONS: usize = 1024;
/// How long a nonce is accepted after it was handed out (the crate's own limit is 3600 s).
pub const NONCE_LIFETIME_MS: u64 = 600_000;
/// A nonce is handed out again, to every client challenged, for this long after the crate
/// minted it, so it still has at least half its lifetime left. The crate keeps every nonce it
/// mints until it is presented again: sharing bounds that map to one entry per 300 s.
pub const NONCE_SHARE_MS: u64 = NONCE_LIFETIME_MS / 2;
/// A permission lives this long unless refreshed (RFC 8656 §9; the crate's `PERMISSION_TIMEOUT`).
pub const PERMISSION_LIFETIME_MS: u64 = 300_000;

/// The limits one server runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnLimits {
    pub user_quota: u32,
    pub total_quota: u32,
}

impl Default for TurnLimits {
    fn default() -> Self {
        Self { user_quota: DEFAULT_USER_QUOTA, total_quota: DEFAULT_TOTAL_QUOTA }
    }
}

/// Why a request is refused, with the error code it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 486: this username already holds its quota of allocations.
    UserQuota,
    /// 486: the server holds its total quota of allocations.
    TotalQuota,
    /// 508: the allocation would hold more than [`MAX_PERMISSIONS`] permissions.
    Permissions,
    /// 403: a permission towards an internal address (RFC 8656 §21), refused by policy.
    InternalPeer,
}

impl Refusal {
    /// The STUN error code and reason phrase of the refusal.
    pub fn code(self) -> (u16, &'static str) {
        match self {
            Self::UserQuota | Self::TotalQuota => (486, "Allocation Quota Reached"),
            Self::Permissions => (508, "Insufficient Capacity"),
            Self::InternalPeer => (403, "Forbidden"),
        }
    }
}

struct Allocation {
    username: String,
    /// Peer IP → when its permission was last installed or refreshed.
    permissions: HashMap<IpAddr, u64>,
}

/// Live allocations (by client transport address; the server listens on one socket, so that
/// is the 5-tuple), their permissions, and the nonces handed out.
#[derive(Default)]
pub struct Ledger {
    limits: TurnLimits,
    allocations: HashMap<SocketAddr, Allocation>,
    nonces: HashMap<String, u64>,
    nonce_order: VecDeque<(u64, String)>,
}

impl Ledger {
    pub fn new(limits: TurnLimits) -> Self {
        Self { limits, ..Self::default() }
    }

    /// May `username` create one more allocation?
    pub fn may_allocate(&self, username: &str) -> Result<(), Refusal> {
        if self.allocations.len() >= self.limits.total_quota as usize {
            return Err(Refusal::TotalQuota);
        }
        if self.held_by(username) >= self.limits.user_quota as usize {
            return Err(Refusal::UserQuota);
        }
        Ok(())
    }

    /// How many live allocations `username` holds.
    pub fn held_by(&self, username: &str) -> usize {
        self.allocations.values().filter(|a| a.username == username).count()
    }

    /// The server granted an allocation to `client` for `username`.
    pub fn allocated(&mut self, client: SocketAddr, username: &str) {
        self.allocations
            .insert(client, Allocation { username: username.to_owned(), permissions: HashMap::new() });
    }

    /// The allocation of `client` is gone (released, expired or closed).
    pub fn released(&mut self, client: SocketAddr) {
        self.allocations.remove(&client);
    }

    /// Does `client` hold a live allocation made with `username`?
    pub fn holds(&self, client: SocketAddr, username: &str) -> bool {
        self.allocations.get(&client).is_some_and(|a| a.username == username)
    }

    /// How many allocations are live.
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    fn live_permissions(a: &Allocation, now_ms: u64) -> impl Iterator<Item = &IpAddr> {
        a.permissions
            .iter()
            .filter(move |(_, t)| now_ms.saturating_sub(**t) < PERMISSION_LIFETIME_MS)
            .map(|(ip, _)| ip)
    }

    /// May `client`'s allocation install (or refresh) permissions for `peers`? Refreshing a
    /// live permission costs nothing; a client without an allocation is the crate's to refuse.
    pub fn may_permit(&self, client: SocketAddr, peers: &[IpAddr], now_ms: u64) -> Result<(), Refusal> {
        let Some(a) = self.allocations.get(&client) else { return Ok(()) };
        let live: Vec<&IpAddr> = Self::live_permissions(a, now_ms).collect();
        let mut fresh: Vec<&IpAddr> = peers.iter().filter(|p| !live.contains(p)).collect();
        fresh.sort();
        fresh.dedup();
        if live.len() + fresh.len() > MAX_PERMISSIONS {
            return Err(Refusal::Permissions);
        }
        Ok(())
    }

    /// The server installed (or refreshed) permissions for `peers` on `client`'s allocation.
    pub fn permitted(&mut self, client: SocketAddr, peers: &[IpAddr], now_ms: u64) {
        if let Some(a) = self.allocations.get_mut(&client) {
            a.permissions.retain(|_, t| now_ms.saturating_sub(*t) < PERMISSION_LIFETIME_MS);
            for p in peers {
                a.permissions.insert(*p, now_ms);
            }
        }
    }

    /// The server handed out `nonce` (in a 401 or 438 response).
    pub fn nonce_issued(&mut self, nonce: &str, now_ms: u64) {
        self.expire_nonces(now_ms);
        self.nonces.insert(nonce.to_owned(), now_ms);
        self.nonce_order.push_back((now_ms, nonce.to_owned()));
    }

    /// Was `nonce` handed out less than [`NONCE_LIFETIME_MS`] ago? Unknown nonces are stale.
    pub fn nonce_fresh(&mut self, nonce: &str, now_ms: u64) -> bool {
        self.expire_nonces(now_ms);
        self.nonces.contains_key(nonce)
    }

    /// The nonce a challenge (401 or 438) may hand out without asking the crate for a new one:
    /// the latest one issued, if that was less than [`NONCE_SHARE_MS`] ago.
    pub fn shared_nonce(&mut self, now_ms: u64) -> Option<&str> {
        self.expire_nonces(now_ms);
        match self.nonce_order.back() {
            Some((t, nonce)) if now_ms.saturating_sub(*t) < NONCE_SHARE_MS => Some(nonce),
            _ => None,
        }
    }

    fn expire_nonces(&mut self, now_ms: u64) {
        while let Some((t, _)) = self.nonce_order.front() {
            if now_ms.saturating_sub(*t) < NONCE_LIFETIME_MS {
                break;
            }
            let (t, nonce) = self.nonce_order.pop_front().expect("front exists");
            // A nonce issued twice keeps its latest time.
            if self.nonces.get(&nonce) == Some(&t) {
                self.nonces.remove(&nonce);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn the_user_quota_counts_live_allocations_per_username() {
        let mut l = Ledger::new(TurnLimits { user_quota: 2, total_quota: 1000 });
        l.allocated(client(1), "100:alice");
        assert_eq!(l.may_allocate("100:alice"), Ok(()));
        l.allocated(client(2), "100:alice");
        assert_eq!(l.may_allocate("100:alice"), Err(Refusal::UserQuota));
        assert_eq!(l.may_allocate("100:bob"), Ok(()), "another username has its own quota");
        l.released(client(1));
        assert_eq!(l.may_allocate("100:alice"), Ok(()), "a release frees a slot");
        assert_eq!(Refusal::UserQuota.code().0, 486);
    }

    #[test]
    fn the_total_quota_counts_every_allocation() {
        let mut l = Ledger::new(TurnLimits { user_quota: 10, total_quota: 3 });
        for (port, user) in [(1, "a"), (2, "b"), (3, "c")] {
            assert_eq!(l.may_allocate(user), Ok(()));
            l.allocated(client(port), user);
        }
        assert_eq!(l.may_allocate("d"), Err(Refusal::TotalQuota));
        assert_eq!(Refusal::TotalQuota.code(), (486, "Allocation Quota Reached"));
        assert_eq!(l.allocation_count(), 3);
    }

    #[test]
    fn holds_needs_the_same_client_and_username() {
        let mut l = Ledger::default();
        l.allocated(client(1), "100:alice");
        assert!(l.holds(client(1), "100:alice"));
        assert!(!l.holds(client(1), "100:mallory"));
        assert!(!l.holds(client(2), "100:alice"));
        l.released(client(1));
        assert!(!l.holds(client(1), "100:alice"));
    }

    #[test]
    fn permissions_are_capped_per_allocation_and_refreshes_are_free() {
        let mut l = Ledger::default();
        l.allocated(client(1), "u");
        let peers: Vec<IpAddr> =
            (0..MAX_PERMISSIONS as u32).map(|i| IpAddr::from((0x0808_0000 + i).to_be_bytes())).collect();
        assert_eq!(l.may_permit(client(1), &peers, 0), Ok(()));
        l.permitted(client(1), &peers, 0);
        let one_more = [IpAddr::from([9, 9, 9, 9])];
        assert_eq!(l.may_permit(client(1), &one_more, 1), Err(Refusal::Permissions));
        assert_eq!(Refusal::Permissions.code().0, 508);
        assert_eq!(l.may_permit(client(1), &peers[..10], 1), Ok(()), "refreshing is free");
        assert_eq!(l.may_permit(client(1), &[peers[0], peers[0]], 1), Ok(()));
        // Permissions expire after 300 s unless refreshed.
        l.permitted(client(1), &peers[..1000], PERMISSION_LIFETIME_MS - 1);
        assert_eq!(l.may_permit(client(1), &one_more, PERMISSION_LIFETIME_MS), Ok(()));
        assert_eq!(l.may_permit(client(2), &one_more, 0), Ok(()), "no allocation: the crate answers");
    }

    #[test]
    fn nonces_last_600_s_and_unknown_ones_are_stale() {
        let mut l = Ledger::default();
        l.nonce_issued("n1", 1_000);
        assert!(l.nonce_fresh("n1", 1_000 + NONCE_LIFETIME_MS - 1));
        assert!(!l.nonce_fresh("n1", 1_000 + NONCE_LIFETIME_MS));
        assert!(!l.nonce_fresh("never-issued", 0));
        l.nonce_issued("n2", 0);
        l.nonce_issued("n2", 500_000);
        assert!(l.nonce_fresh("n2", 700_000), "the latest issue counts");
    }

    #[test]
    fn the_latest_nonce_is_shared_for_its_first_300_s_only() {
        let mut l = Ledger::default();
        assert_eq!(l.shared_nonce(0), None, "nothing issued yet: the crate mints one");
        l.nonce_issued("n1", 1_000);
        l.nonce_issued("n2", 2_000);
        assert_eq!(l.shared_nonce(2_000), Some("n2"), "the latest one");
        assert_eq!(l.shared_nonce(2_000 + NONCE_SHARE_MS - 1), Some("n2"));
        assert_eq!(l.shared_nonce(2_000 + NONCE_SHARE_MS), None, "half its life gone: a new one");
        assert!(l.nonce_fresh("n2", 2_000 + NONCE_SHARE_MS), "still accepted when presented");
        assert_eq!(l.shared_nonce(10 * NONCE_LIFETIME_MS), None);
    }
}
