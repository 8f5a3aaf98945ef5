//! Rooms as a state machine: `join`/`leave` change membership and return the signaling
//! messages that must go out, addressed by peer id. The server performs them; tests read them.

use std::collections::{BTreeMap, HashMap};

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

/// Room membership. Members are kept in join order.
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: BTreeMap<String, Vec<String>>,
    member_of: HashMap<String, String>,
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
    ) -> Result<Vec<Outgoing>, JoinError> {
        if let Some(current) = self.member_of.get(peer) {
            return Err(JoinError::AlreadyIn(current.clone()));
        }
        let members = self.rooms.entry(room.to_owned()).or_default();
        if members.len() >= MAX_PEERS_PER_ROOM {
            return Err(JoinError::Full);
        }
        let mut out: Vec<Outgoing> = members
            .iter()
            .map(|m| Outgoing { to: m.clone(), msg: ServerMessage::PeerJoined { peer_id: peer.to_owned() } })
            .collect();
        out.insert(
            0,
            Outgoing {
                to: peer.to_owned(),
                msg: ServerMessage::JoinedRoom {
                    room: room.to_owned(),
                    peer_id: peer.to_owned(),
                    peers: members.clone(),
                    ice_servers,
                },
            },
        );
        members.push(peer.to_owned());
        self.member_of.insert(peer.to_owned(), room.to_owned());
        Ok(out)
    }

    /// `peer` leaves its room (if any): the others get `peer_left`; an empty room disappears.
    pub fn leave(&mut self, peer: &str) -> Vec<Outgoing> {
        let Some(room) = self.member_of.remove(peer) else { return Vec::new() };
        let Some(members) = self.rooms.get_mut(&room) else { return Vec::new() };
        members.retain(|m| m != peer);
        let out = members
            .iter()
            .map(|m| Outgoing { to: m.clone(), msg: ServerMessage::PeerLeft { peer_id: peer.to_owned() } })
            .collect();
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
        r.join("a", "r1", vec![]).unwrap();
        let out = r.join("b", "r1", vec![]).unwrap();
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
        r.join("a", "r1", vec![]).unwrap();
        r.join("b", "r1", vec![]).unwrap();
        r.join("c", "r2", vec![]).unwrap();
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
        r.join("a", "r1", vec![]).unwrap();
        assert_eq!(r.join("a", "r2", vec![]), Err(JoinError::AlreadyIn("r1".into())));
        for i in 1..MAX_PEERS_PER_ROOM {
            r.join(&format!("p{i}"), "r1", vec![]).unwrap();
        }
        assert_eq!(r.join("late", "r1", vec![]), Err(JoinError::Full));
    }
}
