//! A session's ICE candidates: the client's, added to its own connection (buffered until the
//! offer is applied; ignored with F5), and the server's, sent to this client only after the
//! answer (none with F2, to the wrong client with F1, in the F3 forms), then end-of-candidates.

use super::*;

impl super::Session {
    /// Records a trickled client candidate this connection takes (`buffered` until the offer
    /// is applied).
    pub(super) fn note_remote_candidate(&self, c: &CandidateInit, buffered: bool) {
        if let Ok(parsed) = crate::signal::candidate::Candidate::parse(&c.candidate) {
            self.note(Event::RemoteCandidate {
                candidate: CandidateInfo::from(&parsed),
                via: TimelineVia::Trickle,
                buffered,
            });
        }
    }

    /// One end-of-candidates per connection.
    pub(super) async fn end_of_candidates(&mut self) -> Flow {
        if std::mem::replace(&mut self.call.end_of_candidates_sent, true) {
            return Flow::Continue;
        }
        self.note(Event::EndOfCandidates { direction: Direction::Sent });
        self.send(ServerMessage::EndOfCandidates).await
    }

    pub(super) async fn on_candidate(&mut self, c: CandidateInit) -> Flow {
        if !self.guard.candidate() {
            let max = self.guard.max_candidates();
            return self
                .reply_error(ErrorCode::BadCandidate, format!("more than {max} candidates in one session"))
                .await;
        }
        if self.faults().has(Fault::F5) {
            self.hub.send_to_others(&self.id, ServerMessage::Candidate(c));
            return Flow::Continue;
        }
        match (&self.call.peer, self.call.remote_set) {
            (Some(peer), true) => {
                let peer = peer.clone();
                match peer.add_remote_candidate(&c).await {
                    Ok(()) => {
                        self.note_remote_candidate(&c, false);
                        Flow::Continue
                    }
                    Err(e) => {
                        self.note(Event::Error { message: format!("remote candidate rejected: {e}") });
                        self.reply_error(ErrorCode::BadCandidate, e.to_string()).await
                    }
                }
            }
            _ => {
                self.note_remote_candidate(&c, true);
                self.call.pending_remote.push(c);
                Flow::Continue
            }
        }
    }

    /// Sends one of our own candidates to this client — or mis-sends it as a fault asks.
    pub(super) async fn deliver_own_candidate(&mut self, init: CandidateInit) -> Flow {
        if self.faults().has(Fault::F2) {
            return Flow::Continue;
        }
        if self.faults().has(Fault::F1) {
            self.hub.send_to_others(&self.id, ServerMessage::Candidate(init));
            return Flow::Continue;
        }
        let violation = match self.faults().f3() {
            Some(Fault::F3Prefix) => Violation::F3Prefix,
            Some(Fault::F3Nested) => Violation::F3Nested,
            Some(_) => Violation::F3Null,
            None => return self.send(ServerMessage::Candidate(init)).await,
        };
        self.send_text(ServerMessage::encode_violating(&init, violation)).await
    }

    /// F4: our candidates go out before the answer. Waits (up to a second) for gathering to
    /// complete, sending each candidate at once; returns the other events seen meanwhile.
    pub(super) async fn candidates_before_answer(&mut self) -> Vec<PeerEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let mut held = Vec::new();
        while let Some(events) = self.call.peer_events.as_mut() {
            let ev = match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(ev)) => ev,
                _ => break,
            };
            match ev {
                PeerEvent::LocalCandidate { init, .. } => {
                    if let Flow::Stop = self.deliver_own_candidate(init).await {
                        break;
                    }
                }
                PeerEvent::GatheringState(s) if s == "complete" => {
                    self.call.gathering_complete = true;
                    break;
                }
                other => held.push(other),
            }
        }
        held
    }
}
