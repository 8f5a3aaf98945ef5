//! WHIP (RFC 9725) and WHEP (the IETF draft: the same exchange, the offer receive-only) as a
//! [`Transport`]: the offer is POSTed
//! as `application/sdp` to the endpoint URL, the `201 Created` answer carries the SDP answer,
//! the session's `Location` and its `ETag`; hanging up is a DELETE on that Location. The
//! client's offer holds every candidate (it gathers first), so nothing is trickled by PATCH.
//! Every request is handed to `on_step` as an `HttpStep` (method, URL, status, time, and the
//! Location, ETag, Content-Type and `Link` ICE servers it answered with): the client records it
//! as an `http` event, so the rules can say what broke. Before offering, an OPTIONS asks the
//! endpoint for its ICE servers (`Link: <…>; rel="ice-server"`), which the peer then gathers
//! through.
//!
//! WHIP and WHEP have no rooms: the client skips joining, and the endpoint URL is all there is.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use http::{Method, StatusCode, header};
use tokio_rustls::rustls::ClientConfig;

use crate::signal::error::SignalingError;
use crate::signal::http_client::{self, Request, Response, resolve};
use crate::signal::http_step::HttpStep;
use crate::signal::ice_link::parse_links;
use crate::signal::kind::SignalKind;
use crate::signal::protocol::{ClientMessage, IceServer, ServerMessage};
use crate::signal::sdpfrag::IceSession;
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::signal::transport::{Incoming, Transport};

const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";

/// The ICE servers a response's `Link` headers announce.
fn ice_servers(r: &Response) -> Vec<IceServer> {
    parse_links(r.headers.get_all(header::LINK).iter().filter_map(|v| v.to_str().ok()))
}

/// The session a `201 Created` made.
struct Session {
    /// Absolute URL of the session (`Location`), when the server gave one.
    url: Option<String>,
    /// The session's `ETag`, sent back as `If-Match` with each PATCH.
    etag: Option<String>,
    deleted: bool,
}

/// Where each HTTP request goes once answered (the client records it in its timeline).
pub type OnStep = Box<dyn Fn(HttpStep) + Send + Sync>;

pub struct Whip {
    kind: SignalKind,
    endpoint: String,
    trust: Option<Arc<ClientConfig>>,
    token: Option<Secret>,
    on_step: OnStep,
    inbox: VecDeque<Incoming>,
    session: Option<Session>,
    /// Trickle candidates by PATCH instead of sending them all in the offer.
    trickle: bool,
    /// The offer's ICE credentials and mids, which each fragment repeats.
    ice: Option<IceSession>,
}

impl Whip {
    pub fn new(
        kind: SignalKind,
        endpoint: &str,
        trust: Option<Arc<ClientConfig>>,
        token: Option<Secret>,
        on_step: OnStep,
    ) -> Self {
        Self {
            kind,
            endpoint: endpoint.to_owned(),
            trust,
            token,
            on_step,
            inbox: VecDeque::new(),
            session: None,
            trickle: false,
            ice: None,
        }
    }

    /// Offer at once and trickle candidates by PATCH (the peer sends them one by one).
    pub fn trickling(mut self, trickle: bool) -> Self {
        self.trickle = trickle;
        self
    }

    /// Sends one request and records it; an error answer is recorded too, then returned.
    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<(&'static str, String)>,
        headers: Vec<(header::HeaderName, String)>,
    ) -> Result<Response, SignalingError> {
        let req = Request { method: method.clone(), body, token: self.token.as_ref(), headers };
        let started = std::time::Instant::now();
        match http_client::send(url, &req, self.trust.clone()).await {
            Ok(r) => {
                (self.on_step)(HttpStep {
                    method: method.to_string(),
                    url: redact_url(&r.url),
                    status: Some(r.status.as_u16()),
                    elapsed_ms: r.elapsed.as_millis() as u64,
                    content_type: r.header(header::CONTENT_TYPE),
                    location: r.header(header::LOCATION),
                    etag: r.header(header::ETAG),
                    body: (!r.status.is_success()).then(|| r.reason()).filter(|b| !b.is_empty()),
                    ice_servers: ice_servers(&r).into_iter().flat_map(|s| s.urls).collect(),
                });
                Ok(r)
            }
            Err(e) => {
                (self.on_step)(HttpStep {
                    method: method.to_string(),
                    url: redact_url(url),
                    status: None,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                    content_type: None,
                    location: None,
                    etag: None,
                    body: Some(e.to_string()),
                    ice_servers: Vec::new(),
                });
                Err(e)
            }
        }
    }

    /// Asks the endpoint (OPTIONS) which ICE servers to use, as some WHIP servers announce them
    /// there; a server that refuses OPTIONS (405) or announces none is legal: no servers.
    pub async fn discover(&self) -> Vec<IceServer> {
        match self.exchange(Method::OPTIONS, &self.endpoint.clone(), None, Vec::new()).await {
            Ok(r) if r.status.is_success() => ice_servers(&r),
            _ => Vec::new(),
        }
    }

    /// POSTs the offer; the answer goes to the inbox.
    async fn publish(&mut self, offer: String) -> Result<(), SignalingError> {
        self.ice = IceSession::of(&offer);
        let accept = vec![(header::ACCEPT, SDP.to_owned())];
        let r = self.exchange(Method::POST, &self.endpoint.clone(), Some((SDP, offer)), accept).await?;
        let shown = redact_url(&r.url);
        if r.status != StatusCode::CREATED && r.status != StatusCode::OK {
            let reason = r.reason();
            let why = if reason.is_empty() { String::new() } else { format!(": {reason}") };
            return Err(SignalingError::Http {
                url: shown,
                cause: format!("{} POST answered {}{why}", self.kind.as_str().to_uppercase(), r.status),
            });
        }
        let answer = String::from_utf8_lossy(&r.body).into_owned();
        if !answer.trim_start().starts_with("v=") {
            return Err(SignalingError::Http { url: shown, cause: "the answer is not an SDP".into() });
        }
        self.session = Some(Session {
            url: r.header(header::LOCATION).and_then(|l| resolve(&r.url, &l)),
            etag: r.header(header::ETAG),
            deleted: false,
        });
        self.inbox.push_back(Incoming::Message(ServerMessage::Answer { sdp: answer }));
        Ok(())
    }

    /// PATCHes one fragment to the session (a candidate, or the end of them). The outcome is in
    /// the timeline: a refused PATCH does not end the call.
    async fn patch(&self, candidates: &[crate::signal::protocol::CandidateInit], end: bool) {
        let (Some(session), Some(ice)) = (&self.session, &self.ice) else { return };
        let Some(url) = &session.url else { return };
        let headers = session.etag.iter().map(|e| (header::IF_MATCH, e.clone())).collect();
        let _ =
            self.exchange(Method::PATCH, url, Some((SDPFRAG, ice.fragment(candidates, end))), headers).await;
    }

    /// DELETEs the session, once; without a Location there is nothing to delete.
    async fn hang_up(&mut self) {
        let Some(url) = self.session.as_ref().filter(|s| !s.deleted).and_then(|s| s.url.clone()) else {
            return;
        };
        // The outcome is in the timeline; a failed DELETE does not fail the call.
        let _ = self.exchange(Method::DELETE, &url, None, Vec::new()).await;
        if let Some(s) = self.session.as_mut() {
            s.deleted = true;
        }
    }
}

#[async_trait]
impl Transport for Whip {
    async fn send(&mut self, msg: &ClientMessage) -> Result<(), SignalingError> {
        match msg {
            ClientMessage::Offer { sdp } => self.publish(sdp.clone()).await,
            ClientMessage::LeaveRoom => {
                self.hang_up().await;
                Ok(())
            }
            ClientMessage::Candidate(c) if self.trickle => {
                self.patch(std::slice::from_ref(c), false).await;
                Ok(())
            }
            ClientMessage::EndOfCandidates if self.trickle => {
                self.patch(&[], true).await;
                Ok(())
            }
            // Nothing to join; candidates travel inside the offer; the server never offers.
            ClientMessage::JoinRoom { .. }
            | ClientMessage::Candidate(_)
            | ClientMessage::EndOfCandidates
            | ClientMessage::Answer { .. } => Ok(()),
        }
    }

    async fn recv(&mut self) -> Option<Result<Incoming, SignalingError>> {
        match self.inbox.pop_front() {
            Some(i) => Some(Ok(i)),
            None => std::future::pending().await,
        }
    }

    async fn close(mut self: Box<Self>) {
        self.hang_up().await;
    }
}
