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
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::signal::transport::{Incoming, Transport};

const SDP: &str = "application/sdp";

/// The ICE servers a response's `Link` headers announce.
fn ice_servers(r: &Response) -> Vec<IceServer> {
    parse_links(r.headers.get_all(header::LINK).iter().filter_map(|v| v.to_str().ok()))
}

/// The session a `201 Created` made.
struct Session {
    /// Absolute URL of the session (`Location`), when the server gave one.
    url: Option<String>,
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
        }
    }

    /// Sends one request and records it; an error answer is recorded too, then returned.
    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
    ) -> Result<Response, SignalingError> {
        let req = Request {
            method: method.clone(),
            body: body.map(|b| (SDP, b)),
            token: self.token.as_ref(),
            headers: if method == Method::POST { vec![(header::ACCEPT, SDP.to_owned())] } else { Vec::new() },
        };
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
        match self.exchange(Method::OPTIONS, &self.endpoint.clone(), None).await {
            Ok(r) if r.status.is_success() => ice_servers(&r),
            _ => Vec::new(),
        }
    }

    /// POSTs the offer; the answer goes to the inbox.
    async fn publish(&mut self, offer: String) -> Result<(), SignalingError> {
        let r = self.exchange(Method::POST, &self.endpoint.clone(), Some(offer)).await?;
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
            deleted: false,
        });
        self.inbox.push_back(Incoming::Message(ServerMessage::Answer { sdp: answer }));
        Ok(())
    }

    /// DELETEs the session, once; without a Location there is nothing to delete.
    async fn hang_up(&mut self) {
        let Some(url) = self.session.as_ref().filter(|s| !s.deleted).and_then(|s| s.url.clone()) else {
            return;
        };
        // The outcome is in the timeline; a failed DELETE does not fail the call.
        let _ = self.exchange(Method::DELETE, &url, None).await;
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
