//! A session's forwarding: the downlink on the client's own transceiver, a track of its own for
//! every later publisher, and the renegotiation offers they need (none with F7), answered or
//! reported unanswered.

use super::*;

impl super::Session {
    /// Puts a forwarding track on the client's own audio transceiver (before the answer, so
    /// the answer is `sendrecv`), named after the first peer already publishing, if any.
    pub(super) async fn open_downlink(peer: &Peer, named: Option<String>) -> Option<Downlink> {
        let stream_id = named.clone().unwrap_or_else(|| DOWNLINK_STREAM.to_owned());
        match peer.add_forward_track(rand::random(), &stream_id).await {
            Ok(out) => Some(Downlink { out: Arc::new(out), named, source: None }),
            Err(e) => {
                tracing::warn!(cause = %e, "no downlink on the client's own transceiver");
                None
            }
        }
    }

    /// The outstanding server offer went unanswered: say so once and count it.
    pub(super) fn on_offer_unanswered(&mut self) -> Flow {
        self.call.offer_sent = None;
        self.hub.offer_unanswered();
        tracing::warn!(
            after_s = OFFER_ANSWER_WAIT.as_secs(),
            "renegotiation offer unanswered: the client hears only the audio on its own transceiver"
        );
        Flow::Continue
    }

    pub(super) async fn on_answer(&mut self, sdp: String) -> Flow {
        let (true, Some(peer)) = (self.call.offering, self.call.peer.clone()) else {
            return self
                .reply_error(ErrorCode::BadSdp, "no offer from the server is waiting for an answer")
                .await;
        };
        self.note_description(Direction::Received, "answer", &sdp);
        if let Err(e) = peer.accept_answer(&sdp).await {
            return self.reply_error(ErrorCode::BadSdp, e.to_string()).await;
        }
        self.call.offering = false;
        self.call.offer_sent = None;
        tracing::info!("renegotiation answered");
        for out in std::mem::take(&mut self.call.offered) {
            out.mark_negotiated();
        }
        if std::mem::take(&mut self.call.renegotiate_after_answer) {
            return self.renegotiate().await;
        }
        Flow::Continue
    }

    pub(super) async fn on_command(&mut self, cmd: Command) -> Flow {
        match cmd {
            Command::Send(msg) => self.send(msg).await,
            Command::Subscribe(p) if !self.call.answered => {
                self.call.deferred.push(p);
                Flow::Continue
            }
            Command::Subscribe(p) => {
                if self.subscribe(p, Via::Later).await {
                    self.renegotiate().await
                } else {
                    Flow::Continue
                }
            }
            Command::Unsubscribe(publisher) => {
                self.call.deferred.retain(|p| p.peer_id != publisher);
                if let Some(d) = self.call.downlink.as_mut().filter(|d| d.source.as_ref() == Some(&publisher))
                {
                    // The publisher's fan-out already ended; the transceiver stays negotiated.
                    d.source = None;
                    return Flow::Continue;
                }
                let (Some(out), Some(peer)) =
                    (self.call.subscriptions.remove(&publisher), self.call.peer.clone())
                else {
                    return Flow::Continue;
                };
                if let Err(e) = peer.remove_forward_track(&out).await {
                    tracing::warn!(cause = %e, "removing forwarded track");
                }
                self.renegotiate().await
            }
        }
    }

    /// Forwards `publisher`'s audio: on the client's own transceiver when that is free, else
    /// on a track of its own; true if the connection changed (a renegotiation is due).
    pub(super) async fn subscribe(&mut self, publisher: Arc<Publisher>, via: Via) -> bool {
        let Some(peer) = self.call.peer.clone() else { return false };
        if self.call.sends_only {
            return false;
        }
        let id = &publisher.peer_id;
        if self.call.subscriptions.contains_key(id)
            || self.call.downlink.as_ref().is_some_and(|d| d.source.as_ref() == Some(id))
        {
            return false;
        }
        let own_ok = via == Via::AtAnswer || !self.faults().has(Fault::F7);
        if let Some(d) = self.call.downlink.as_mut().filter(|d| own_ok && d.can_carry(id)) {
            d.source = Some(id.clone());
            publisher.subscribe(&self.id, d.out.clone());
            tracing::info!(from = %short_id(id), "forwarding audio to this peer on its own transceiver");
            return false;
        }
        match peer.add_forward_track(rand::random(), &publisher.peer_id).await {
            Ok(out) => {
                let out = Arc::new(out);
                publisher.subscribe(&self.id, out.clone());
                self.call.subscriptions.insert(publisher.peer_id.clone(), out);
                tracing::info!(from = %short_id(&publisher.peer_id), "forwarding audio to this peer");
                true
            }
            Err(e) => {
                tracing::warn!(cause = %e, "cannot add a forwarding track");
                false
            }
        }
    }

    /// Sends a server-initiated offer, or queues one while an offer is outstanding (F7).
    pub(super) async fn renegotiate(&mut self) -> Flow {
        if self.faults().has(Fault::F7) {
            tracing::info!("fault F7: tracks changed, no renegotiation offer sent");
            return Flow::Continue;
        }
        if self.call.offering {
            self.call.renegotiate_after_answer = true;
            return Flow::Continue;
        }
        let Some(peer) = self.call.peer.clone() else { return Flow::Continue };
        match peer.create_offer().await {
            Ok(sdp) => {
                self.call.offering = true;
                self.call.offer_sent = Some(tokio::time::Instant::now());
                self.call.offered = self.call.subscriptions.values().cloned().collect();
                tracing::info!("renegotiating");
                self.note_description(Direction::Sent, "offer", &sdp);
                self.send(ServerMessage::Offer { sdp }).await
            }
            Err(e) => {
                tracing::warn!(cause = %e, "renegotiation offer failed");
                Flow::Continue
            }
        }
    }
}
