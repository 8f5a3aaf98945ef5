//! Rooms as a state machine: `join`/`leave` change membership and return the signaling
//! messages that must go out, addressed by peer id. The server performs them; tests read them.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::signal::protocol::{ErrorCode, IceServer, ServerMessage};

/// Most peers one room holds; an SFU fan-out grows with the square of this.
pub const MAX_PEERS_PER_ROOM: usize = 16;

/// A message to deliver to one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub msg: ServerMessage,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("already in room {0:?}; leave it first")]
    AlreadyIn(String),
    #[error("room is full ({MAX_PEERS_PER_ROOM} peers)")]
    Full,
}

impl JoinError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyIn(_) => ErrorCode::AlreadyInRoom,
            Self::Full => ErrorCode::BadRoom,
        }
    }
}

/// How a member takes part: a participant is announced to the others and listed to later
/// joiners; a viewer (a WHEP session) only receives, unannounced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Participant,
    Viewer,
}

/// Room membership. Members are kept in join order.
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: BTreeMap<String, Vec<String>>,
    member_of: HashMap<String, String>,
    viewers: HashSet<String>,
}

impl Rooms {
    pub fn new() -> Self {
        Self::default()
    }

    /// `peer` joins `room`: it gets `joined_room` (with the peers already there and the ICE
    /// servers to use), every other member gets `peer_joined`.
    pub fn join(
        &mut self,
        peer: &str,
        room: &str,
        ice_servers: Vec<IceServer>,
        role: Role,
    ) -> Result<Vec<Outgoing>, JoinError> {
        if let Some(current) = self.member_of.get(peer) {
            return Err(JoinError::AlreadyIn(current.clone()));
        }
        let members = self.rooms.entry(room.to_owned()).or_default();
        if members.len() >= MAX_PEERS_PER_ROOM {
            return Err(JoinError::Full);
        }
        let viewers = &self.viewers;
        let announced: Vec<String> = members.iter().filter(|m| !viewers.contains(*m)).cloned().collect();
        let mut out: Vec<Outgoing> = match role {
            Role::Participant => members
                .iter()
                .map(|m| Outgoing {
                    to: m.clone(),
                    msg: ServerMessage::PeerJoined { peer_id: peer.to_owned() },
                })
                .collect(),
            Role::Viewer => Vec::new(),
        };
        out.insert(
            0,
            Outgoing {
                to: peer.to_owned(),
                msg: ServerMessage::JoinedRoom {
                    room: room.to_owned(),
                    peer_id: peer.to_owned(),
                    peers: announced,
                    ice_servers,
                },
            },
        );
        members.push(peer.to_owned());
        self.member_of.insert(peer.to_owned(), room.to_owned());
        if role == Role::Viewer {
            self.viewers.insert(peer.to_owned());
        }
        Ok(out)
    }

    /// `peer` leaves its room (if any): the others get `peer_left`; an empty room disappears.
    pub fn leave(&mut self, peer: &str) -> Vec<Outgoing> {
        let Some(room) = self.member_of.remove(peer) else { return Vec::new() };
        let Some(members) = self.rooms.get_mut(&room) else { return Vec::new() };
        members.retain(|m| m != peer);
        let out = if self.viewers.remove(peer) {
            Vec::new()
        } else {
            members
                .iter()
                .map(|m| Outgoing {
                    to: m.clone(),
                    msg: ServerMessage::PeerLeft { peer_id: peer.to_owned() },
                })
                .collect()
        };
        if members.is_empty() {
            self.rooms.remove(&room);
        }
        out
    }

    pub fn room_of(&self, peer: &str) -> Option<&str> {
        self.member_of.get(peer).map(String::as_str)
    }

    /// The other members of `peer`'s room.
    pub fn others(&self, peer: &str) -> Vec<String> {
        self.room_of(peer)
            .and_then(|r| self.rooms.get(r))
            .map(|ms| ms.iter().filter(|m| *m != peer).cloned().collect())
            .unwrap_or_default()
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_tells_the_joiner_who_is_there_and_the_others_who_came() {
        let mut r = Rooms::new();
        r.join("a", "r1", vec![], Role::Participant).unwrap();
        let out = r.join("b", "r1", vec![], Role::Participant).unwrap();
        assert_eq!(out.len(), 2);
        assert!(matches!(&out[0].msg, ServerMessage::JoinedRoom { peers, .. } if peers == &["a"]));
        assert_eq!(
            out[1],
            Outgoing { to: "a".into(), msg: ServerMessage::PeerJoined { peer_id: "b".into() } }
        );
        assert_eq!(r.others("a"), vec!["b"]);
    }

    #[test]
    fn leave_notifies_the_rest_and_empty_rooms_vanish() {
        let mut r = Rooms::new();
        r.join("a", "r1", vec![], Role::Participant).unwrap();
        r.join("b", "r1", vec![], Role::Participant).unwrap();
        r.join("c", "r2", vec![], Role::Participant).unwrap();
        assert_eq!(
            r.leave("a"),
            vec![Outgoing { to: "b".into(), msg: ServerMessage::PeerLeft { peer_id: "a".into() } }]
        );
        assert!(r.leave("a").is_empty(), "leaving twice is a no-op");
        r.leave("b");
        assert_eq!(r.room_count(), 1);
        assert_eq!(r.room_of("c"), Some("r2"));
    }

    #[test]
    fn double_join_and_full_rooms_are_refused() {
        let mut r = Rooms::new();
        r.join("a", "r1", vec![], Role::Participant).unwrap();
        assert_eq!(r.join("a", "r2", vec![], Role::Participant), Err(JoinError::AlreadyIn("r1".into())));
        for i in 1..MAX_PEERS_PER_ROOM {
            r.join(&format!("p{i}"), "r1", vec![], Role::Participant).unwrap();
        }
        assert_eq!(r.join("late", "r1", vec![], Role::Participant), Err(JoinError::Full));
    }

    #[test]
    fn viewers_are_neither_announced_nor_listed() {
        let mut r = Rooms::new();
        r.join("a", "r1", vec![], Role::Participant).unwrap();
        let out = r.join("v", "r1", vec![], Role::Viewer).unwrap();
        assert_eq!(out.len(), 1, "only the viewer's own joined_room: {out:?}");
        assert!(
            matches!(&out[0].msg, ServerMessage::JoinedRoom { peers, .. } if peers == &["a".to_string()])
        );
        let out = r.join("b", "r1", vec![], Role::Participant).unwrap();
        assert!(
            matches!(&out[0].msg, ServerMessage::JoinedRoom { peers, .. } if peers == &["a".to_string()])
        );
        assert_eq!(out.len(), 3, "a and the viewer hear of b: {out:?}");
        assert!(r.leave("v").is_empty(), "a viewer leaves unannounced");
        assert_eq!(r.others("a"), vec!["b".to_string()]);
    }
}
