//! One load peer judged from its timeline: when it reached each connect phase (WebSocket
//! open, joined, answer, ICE connected, connected, first RTP) and, if it failed, in which phase
//! and why (refused upgrade, join refused, answer timeout, ICE failed, DTLS failed, no RTP
//! after connecting, dropped mid-run). Times are milliseconds from the peer's first attempt.

use serde::Serialize;

use crate::diagnose::timeline::{Direction, Event, Stamped};

/// An answer later than this after joining is a failure.
pub const ANSWER_TIMEOUT_MS: u64 = 10_000;
/// A connected peer that expects audio and has none this long after connecting has failed.
pub const RTP_TIMEOUT_MS: u64 = 5_000;

/// The connect phases, in the order a peer goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    WebsocketOpen,
    Joined,
    Answer,
    IceConnected,
    Connected,
    FirstRtp,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Self::WebsocketOpen,
        Self::Joined,
        Self::Answer,
        Self::IceConnected,
        Self::Connected,
        Self::FirstRtp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebsocketOpen => "websocket_open",
            Self::Joined => "joined",
            Self::Answer => "answer",
            Self::IceConnected => "ice_connected",
            Self::Connected => "connected",
            Self::FirstRtp => "first_rtp",
        }
    }

    /// Whether `e` marks reaching this phase.
    fn reached_by(self, e: &Event) -> bool {
        match (self, e) {
            (Self::WebsocketOpen, Event::SignalingConnected { .. }) => true,
            // HTTP signaling (WHIP/WHEP): the endpoint answered something.
            (Self::WebsocketOpen, Event::Http(step)) => step.status.is_some(),
            (Self::Joined, Event::JoinedRoom { .. }) => true,
            (Self::Answer, Event::Signal { direction: Direction::Received, kind, .. }) => kind == "answer",
            (Self::IceConnected, Event::IceState { state }) => state == "connected",
            (Self::Connected, Event::ConnectionState { state }) => state == "connected",
            (Self::FirstRtp, Event::TrackReceived { .. }) => true,
            _ => false,
        }
    }
}

/// Where a peer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedIn {
    /// TCP, TLS or the WebSocket upgrade (a 503 from a full server lands here).
    Websocket,
    Join,
    Answer,
    Ice,
    Dtls,
    Rtp,
    /// Lost after it had connected.
    Dropped,
}

impl FailedIn {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Websocket => "websocket",
            Self::Join => "join",
            Self::Answer => "answer",
            Self::Ice => "ice",
            Self::Dtls => "dtls",
            Self::Rtp => "rtp",
            Self::Dropped => "dropped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub phase: FailedIn,
    pub reason: String,
}

/// When each phase was first reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Phases {
    at: [Option<u64>; 6],
    /// When the offer went out.
    pub offer: Option<u64>,
}

impl Phases {
    pub fn from_events(events: &[Stamped]) -> Self {
        let mut p = Self::default();
        for s in events {
            for (i, phase) in Phase::ALL.iter().enumerate() {
                if p.at[i].is_none() && phase.reached_by(&s.event) {
                    p.at[i] = Some(s.t_ms);
                }
            }
            if p.offer.is_none()
                && matches!(&s.event, Event::Signal { direction: Direction::Sent, kind, .. } if kind == "offer")
            {
                p.offer = Some(s.t_ms);
            }
        }
        p
    }

    pub fn get(&self, phase: Phase) -> Option<u64> {
        self.at[phase as usize]
    }

    /// Offer sent → connected, the part of the connect a server and ICE decide.
    pub fn offer_to_connected(&self) -> Option<u64> {
        Some(self.get(Phase::Connected)?.saturating_sub(self.offer?))
    }
}

/// What is known of a peer when the run is judged.
#[derive(Debug, Clone, Copy)]
pub struct PeerEnd<'a> {
    pub events: &'a [Stamped],
    /// The session's error, if it ended with one.
    pub error: Option<&'a str>,
    /// When the run told the peer to stop (its own clock), or now if it has not yet.
    pub stop_ms: u64,
    /// Whether other publishers share its room (so it must receive audio).
    pub expects_audio: bool,
}

fn state_at<'a>(
    events: &'a [Stamped],
    stop_ms: u64,
    pick: fn(&'a Event) -> Option<&'a str>,
) -> Vec<(u64, &'a str)> {
    events
        .iter()
        .filter(|s| s.t_ms <= stop_ms)
        .filter_map(|s| pick(&s.event).map(|st| (s.t_ms, st)))
        .collect()
}

/// Judges one peer: its phases and, if it failed, where and why.
pub fn judge(p: &PeerEnd) -> (Phases, Option<Failure>) {
    let phases = Phases::from_events(p.events);
    let fail = |phase, reason: String| Some(Failure { phase, reason });
    let ice = state_at(p.events, p.stop_ms, |e| match e {
        Event::IceState { state } => Some(state),
        _ => None,
    });
    let conn = state_at(p.events, p.stop_ms, |e| match e {
        Event::ConnectionState { state } => Some(state),
        _ => None,
    });
    let server_error = p.events.iter().rev().find_map(|s| match &s.event {
        Event::ServerError { code, message } => Some(format!("{code}: {message}")),
        _ => None,
    });
    let reason =
        |fallback: &str| p.error.map(str::to_owned).or(server_error.clone()).unwrap_or(fallback.into());
    // Signalings without rooms (WHIP, WHEP, echotest) offer without joining.
    let sent = |what: &str| {
        p.events.iter().any(
            |s| matches!(&s.event, Event::Signal { direction: Direction::Sent, kind, .. } if kind == what),
        )
    };
    let roomless = sent("offer") && !sent("join_room");
    let failure = match phases.get(Phase::Connected) {
        None if phases.get(Phase::WebsocketOpen).is_none() => {
            fail(FailedIn::Websocket, reason("the WebSocket never opened"))
        }
        None if phases.get(Phase::Joined).is_none() && !roomless => {
            fail(FailedIn::Join, reason("no joined_room"))
        }
        None if phases.get(Phase::Answer).is_none() => {
            let joined = phases.get(Phase::Joined).or(phases.get(Phase::WebsocketOpen)).unwrap_or_default();
            (p.error.is_some() || p.stop_ms.saturating_sub(joined) > ANSWER_TIMEOUT_MS)
                .then(|| Failure { phase: FailedIn::Answer, reason: reason("no answer within 10 s") })
        }
        None if ice.iter().any(|(_, s)| *s == "failed") => fail(FailedIn::Ice, "ICE failed".into()),
        None if phases.get(Phase::IceConnected).is_some() => {
            let failed = conn.iter().any(|(_, s)| *s == "failed");
            fail(FailedIn::Dtls, if failed { "DTLS failed".into() } else { "DTLS never completed".into() })
        }
        None => fail(FailedIn::Ice, reason("ICE still checking when the run ended")),
        Some(connected) => {
            let lost = conn
                .iter()
                .find(|(t, s)| *t >= connected && matches!(*s, "failed" | "disconnected" | "closed"));
            let socket_gone = p.events.iter().any(|s| {
                s.t_ms <= p.stop_ms && matches!(&s.event, Event::Error { message } if message.contains("closed the signaling socket"))
            });
            if let Some((t, state)) = lost {
                fail(FailedIn::Dropped, format!("connection {state} {} ms after connecting", t - connected))
            } else if let Some(e) = p.error {
                fail(FailedIn::Dropped, e.to_owned())
            } else if socket_gone {
                fail(FailedIn::Dropped, "the server closed the signaling socket".into())
            } else if p.expects_audio
                && phases.get(Phase::FirstRtp).is_none()
                && p.stop_ms.saturating_sub(connected) > RTP_TIMEOUT_MS
            {
                fail(FailedIn::Rtp, "no RTP 5 s after connecting".into())
            } else {
                None
            }
        }
    };
    (phases, failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::timeline::Timeline;

    fn signal(direction: Direction, kind: &str) -> Event {
        Event::Signal { direction, kind: kind.into(), detail: None }
    }

    /// A healthy peer's timeline up to `upto` phases.
    fn timeline(upto: usize) -> Timeline {
        let mut t = Timeline::new();
        let steps: Vec<(u64, Event)> = vec![
            (3, Event::SignalingConnected { url: "ws://127.0.0.1/ws".into() }),
            (5, Event::JoinedRoom { room: "r".into(), peer_id: "p".into(), peers: vec![] }),
            (7, signal(Direction::Sent, "offer")),
            (9, signal(Direction::Received, "answer")),
            (20, Event::IceState { state: "connected".into() }),
            (30, Event::ConnectionState { state: "connected".into() }),
            (
                60,
                Event::TrackReceived {
                    source: crate::diagnose::timeline::StreamRef { stream: 1, from_peer: None },
                    stream_id: "x".into(),
                    codec: "audio/opus".into(),
                },
            ),
        ];
        for (t_ms, e) in steps.into_iter().take(upto) {
            t.push(t_ms, e);
        }
        t
    }

    fn end(t: &Timeline, error: Option<&'static str>, stop_ms: u64) -> (Phases, Option<Failure>) {
        judge(&PeerEnd { events: t.events(), error, stop_ms, expects_audio: true })
    }

    #[test]
    fn a_healthy_peer_has_every_phase_and_no_failure() {
        let t = timeline(7);
        let (p, f) = end(&t, None, 20_000);
        assert_eq!(f, None);
        let at: Vec<_> = Phase::ALL.iter().map(|&ph| p.get(ph)).collect();
        assert_eq!(at, [Some(3), Some(5), Some(9), Some(20), Some(30), Some(60)]);
        assert_eq!(p.offer_to_connected(), Some(23));
    }

    #[test]
    fn each_missing_phase_is_the_failure() {
        let t = Timeline::new();
        let (_, f) = end(&t, Some("the server refused the connection: 503 Service Unavailable"), 100);
        assert_eq!(f.unwrap().phase, FailedIn::Websocket);
        let (_, f) = end(&timeline(1), Some("the server did not let us join: room full"), 100);
        assert_eq!(
            f.unwrap(),
            Failure { phase: FailedIn::Join, reason: "the server did not let us join: room full".into() }
        );
        // No answer yet is only a failure once the timeout has passed.
        assert_eq!(end(&timeline(3), None, 5_000).1, None);
        assert_eq!(end(&timeline(3), None, 11_000).1.unwrap().phase, FailedIn::Answer);
        let mut t = timeline(4);
        t.push(3_100, Event::IceState { state: "failed".into() });
        assert_eq!(end(&t, None, 20_000).1.unwrap().phase, FailedIn::Ice);
        let mut t = timeline(5);
        t.push(50, Event::ConnectionState { state: "failed".into() });
        assert_eq!(
            end(&t, None, 20_000).1.unwrap(),
            Failure { phase: FailedIn::Dtls, reason: "DTLS failed".into() }
        );
    }

    #[test]
    fn a_peer_without_rooms_is_judged_from_its_http_exchange() {
        use crate::signal::http_step::HttpStep;
        let http = |method: &str, status: Option<u16>| {
            Event::Http(HttpStep {
                method: method.into(),
                url: "http://127.0.0.1/whip/r".into(),
                status,
                elapsed_ms: 1,
                content_type: None,
                location: None,
                etag: None,
                body: None,
                ice_servers: Vec::new(),
            })
        };
        let mut t = Timeline::new();
        t.push(2, http("OPTIONS", Some(204)));
        t.push(4, signal(Direction::Sent, "offer"));
        t.push(6, http("POST", Some(201)));
        t.push(7, signal(Direction::Received, "answer"));
        t.push(20, Event::ConnectionState { state: "connected".into() });
        let (p, f) =
            judge(&PeerEnd { events: t.events(), error: None, stop_ms: 20_000, expects_audio: false });
        assert_eq!(f, None, "no join is due where there are no rooms");
        assert_eq!(
            (p.get(Phase::WebsocketOpen), p.get(Phase::Joined), p.get(Phase::Connected)),
            (Some(2), None, Some(20))
        );
        // An endpoint that never answered the POST: the answer phase failed, not the join.
        let mut t = Timeline::new();
        t.push(2, http("OPTIONS", Some(405)));
        t.push(4, signal(Direction::Sent, "offer"));
        t.push(6, http("POST", None));
        let (_, f) = judge(&PeerEnd {
            events: t.events(),
            error: Some("refused"),
            stop_ms: 20_000,
            expects_audio: false,
        });
        assert_eq!(f.unwrap().phase, FailedIn::Answer);
        // Nothing answered at all: the signaling never opened.
        let mut t = Timeline::new();
        t.push(2, http("OPTIONS", None));
        let (_, f) = judge(&PeerEnd {
            events: t.events(),
            error: Some("refused"),
            stop_ms: 20_000,
            expects_audio: false,
        });
        assert_eq!(f.unwrap().phase, FailedIn::Websocket);
    }

    #[test]
    fn connected_without_audio_fails_only_when_audio_was_due() {
        let t = timeline(6);
        assert_eq!(end(&t, None, 20_000).1.unwrap().phase, FailedIn::Rtp);
        assert_eq!(end(&t, None, 3_000).1, None);
        let alone =
            judge(&PeerEnd { events: t.events(), error: None, stop_ms: 20_000, expects_audio: false });
        assert_eq!(alone.1, None);
    }

    #[test]
    fn losing_the_connection_after_connecting_is_dropped() {
        let mut t = timeline(7);
        t.push(4_000, Event::ConnectionState { state: "disconnected".into() });
        let f = end(&t, None, 20_000).1.unwrap();
        assert_eq!(f.phase, FailedIn::Dropped);
        assert!(f.reason.contains("3970 ms after connecting"), "{}", f.reason);
        // What happens after the run stopped the peer is not a failure.
        assert_eq!(end(&t, None, 3_000).1, None);
        let mut t = timeline(7);
        t.push(900, Event::Error { message: "the server closed the signaling socket".into() });
        assert_eq!(end(&t, None, 20_000).1.unwrap().phase, FailedIn::Dropped);
    }
}
