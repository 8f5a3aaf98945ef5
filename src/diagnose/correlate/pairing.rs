//! Which connection of one file is the far end of which connection of another: one side's
//! local description names what the other side's remote description names — the ICE ufrag
//! (RFC 8839 §5.4), the DTLS fingerprint (RFC 8122 §5) or the `o=` session id (RFC 8866
//! §5.2).

use serde::Serialize;

use crate::diagnose::connection::{Connection, Description};
use crate::diagnose::timeline::Direction;

/// One identity value both files show, with where each shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Key {
    /// `ice-ufrag`, `dtls-fingerprint` or `session-id`.
    pub key: &'static str,
    pub value: String,
    pub evidence: Vec<String>,
}

/// The three keys of a description, by name.
fn keys(d: &Description) -> [(&'static str, Option<&String>); 3] {
    [
        ("ice-ufrag", d.identity.ufrag.as_ref()),
        ("dtls-fingerprint", d.identity.fingerprint.as_ref()),
        ("session-id", d.identity.session_id.as_ref()),
    ]
}

fn side(d: &Description) -> &'static str {
    match d.direction {
        Direction::Sent => "local",
        Direction::Received => "remote",
    }
}

/// The keys that tie `a` (in file `la`) to `b` (in `lb`): a value of one side's local
/// description in the other side's remote description, each key once, ufrag first.
pub fn matching(la: &str, a: &Connection, lb: &str, b: &Connection) -> Vec<Key> {
    let mut out: Vec<Key> = Vec::new();
    for da in &a.descriptions {
        for db in b.descriptions.iter().filter(|db| db.direction != da.direction) {
            for ((key, va), (_, vb)) in keys(da).into_iter().zip(keys(db)) {
                let (Some(va), Some(vb)) = (va, vb) else { continue };
                if va != vb || out.iter().any(|k| k.key == key) {
                    continue;
                }
                out.push(Key {
                    key,
                    value: va.clone(),
                    evidence: vec![
                        format!("{la} {} at {} ms: {} {} {key} {va}", da.origin, da.t_ms, side(da), da.kind),
                        format!("{lb} {} at {} ms: {} {} {key} {vb}", db.origin, db.t_ms, side(db), db.kind),
                    ],
                });
            }
        }
    }
    out.sort_by_key(|k| ["ice-ufrag", "dtls-fingerprint", "session-id"].iter().position(|n| *n == k.key));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::correlate::tests::desc;

    #[test]
    fn one_sides_local_ufrag_is_the_others_remote_one() {
        let a = Connection {
            descriptions: vec![
                desc(Direction::Sent, "offer", "aaaa", "sha-256 AA", None),
                desc(Direction::Received, "answer", "bbbb", "sha-256 BB", None),
            ],
            ..Connection::default()
        };
        let b = Connection {
            descriptions: vec![
                desc(Direction::Received, "offer", "aaaa", "sha-256 XX", None),
                desc(Direction::Sent, "answer", "bbbb", "sha-256 BB", None),
            ],
            ..Connection::default()
        };
        let k = matching("a", &a, "b", &b);
        assert_eq!(k.iter().map(|k| k.key).collect::<Vec<_>>(), ["ice-ufrag", "dtls-fingerprint"]);
        assert_eq!(k[0].value, "aaaa");
        assert_eq!(k[0].evidence[0], "a line 5 at 0 ms: local offer ice-ufrag aaaa");
        assert_eq!(k[0].evidence[1], "b line 5 at 0 ms: remote offer ice-ufrag aaaa");
        // The same ufrag on the same side of both files pairs nothing (two offerers).
        let c = Connection { descriptions: vec![a.descriptions[0].clone()], ..Connection::default() };
        assert!(matching("a", &a, "c", &c).is_empty());
        assert!(matching("a", &Connection::default(), "b", &b).is_empty());
    }
}
