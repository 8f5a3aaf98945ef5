//! `serve`'s WHIP and WHEP endpoints (RFC 9725; WHEP per the IETF draft): `POST /whip/ROOM`
//! publishes into ROOM, `POST /whep/ROOM` listens to it (the room's publishers ride the
//! session's own transceiver, as for any client that never answers server offers). Each POST
//! starts an ordinary session through an in-memory socket ([`pipe`](super::pipe)), so rooms, the
//! SFU, faults, tokens, Origin rules and limits are the WebSocket endpoint's own. The answer
//! carries every server candidate (then `a=end-of-candidates`); `PATCH` on the session's
//! Location trickles client candidates (RFC 8840 fragments, `If-Match` with the ETag), `DELETE`
//! ends the session. Hostile requests get a 4xx with a one-line reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::Message;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

use super::Hub;
use super::auth::Grant;
use super::pipe::{PipeEnd, pipe};
use super::session;
use crate::serve::room::Role;
use crate::signal::ice_link::format_link;
use crate::signal::protocol::{
    CandidateInit, ClientMessage, ErrorCode, IceServer, ServerMessage, validate_room,
};
use crate::signal::sdpfrag::{parse_fragment, with_candidates};

const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";
/// Largest offer or fragment body accepted.
pub const MAX_BODY: usize = 64 << 10;
/// How long the session may take to join, answer and gather.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// Messages buffered each way between the endpoint and its session.
const PIPE_CAPACITY: usize = 64;

/// Publish or listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Whip,
    Whep,
}

impl Side {
    fn path(self) -> &'static str {
        match self {
            Self::Whip => "whip",
            Self::Whep => "whep",
        }
    }
}

/// A live WHIP/WHEP session: how to reach its session task.
struct Handle {
    side: Side,
    room: String,
    etag: String,
    /// The offer's ICE ufrag (another one in a PATCH is an ICE restart) and its media sections'
    /// mids (a candidate must name one).
    ufrag: Option<String>,
    mids: Vec<String>,
    to_session: mpsc::Sender<Message>,
}

/// What a PATCH or DELETE may touch of a session.
struct Found {
    etag: String,
    ufrag: Option<String>,
    mids: Vec<String>,
    to: mpsc::Sender<Message>,
}

/// `If-Match` against the session's ETag: `None` when it is acceptable (`*` matches any).
fn precondition(headers: &HeaderMap, etag: &str, required: bool) -> Option<Response> {
    match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        None if required => {
            Some(reply(StatusCode::PRECONDITION_REQUIRED, "If-Match with the session's ETag is required"))
        }
        Some(m) if m.trim() != etag && m.trim() != "*" => {
            Some(reply(StatusCode::PRECONDITION_FAILED, "If-Match does not match the session's ETag"))
        }
        _ => None,
    }
}

/// Every live WHIP/WHEP session by id (the peer id its session got).
#[derive(Default)]
pub struct Endpoints {
    live: Mutex<HashMap<String, Handle>>,
}

fn reply(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, format!("{}\n", reason.into())).into_response()
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// What the session answered to the offer, with its candidates.
struct Answered {
    peer_id: String,
    answer: String,
    candidates: Vec<CandidateInit>,
    ice_servers: Vec<IceServer>,
}

/// Why the session could not answer, as an HTTP status.
fn refused(code: ErrorCode, message: String) -> Response {
    let status = match code {
        ErrorCode::Unauthorized => StatusCode::FORBIDDEN,
        ErrorCode::BadSdp | ErrorCode::BadRoom | ErrorCode::TooLarge => StatusCode::BAD_REQUEST,
        ErrorCode::Timeout | ErrorCode::Internal => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    reply(status, message)
}

async fn send(end: &PipeEnd, msg: ClientMessage) -> bool {
    end.tx.send(Message::Text(msg.encode().into())).await.is_ok()
}

/// The next protocol message from the session; pings are answered on the way.
async fn next(end: &mut PipeEnd) -> Option<ServerMessage> {
    loop {
        match end.rx.recv().await? {
            Message::Text(t) => {
                if let Ok(m) = ServerMessage::decode(t.as_str()) {
                    return Some(m);
                }
            }
            Message::Ping(p) => {
                let _ = end.tx.send(Message::Pong(p)).await;
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Joins, offers, and collects the answer and every server candidate.
async fn negotiate(end: &mut PipeEnd, room: &str, offer: String) -> Result<Answered, Response> {
    let gone = || reply(StatusCode::SERVICE_UNAVAILABLE, "the session ended before answering");
    if !send(end, ClientMessage::JoinRoom { room: room.to_owned(), token: None }).await {
        return Err(gone());
    }
    let (peer_id, ice_servers) = loop {
        match next(end).await.ok_or_else(gone)? {
            ServerMessage::JoinedRoom { peer_id, ice_servers, .. } => break (peer_id, ice_servers),
            ServerMessage::Error { code, message } => return Err(refused(code, message)),
            ServerMessage::Redirect { url } => {
                return Err(reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the room lives on another node: {url}"),
                ));
            }
            _ => {}
        }
    };
    if !send(end, ClientMessage::Offer { sdp: offer }).await {
        return Err(gone());
    }
    let mut answer = None;
    let mut candidates = Vec::new();
    loop {
        match next(end).await.ok_or_else(gone)? {
            ServerMessage::Answer { sdp } => answer = Some(sdp),
            ServerMessage::Candidate(c) => candidates.push(c),
            ServerMessage::EndOfCandidates if answer.is_some() => break,
            ServerMessage::Error { code, message } => return Err(refused(code, message)),
            _ => {}
        }
    }
    Ok(Answered { peer_id, answer: answer.unwrap_or_default(), candidates, ice_servers })
}

/// `Link` headers for the ICE servers the session hands out (RFC 9725 §4.6).
fn links(servers: &[IceServer]) -> Vec<HeaderValue> {
    let mut out = Vec::new();
    for s in servers {
        for url in &s.urls {
            if let Ok(mut v) = HeaderValue::from_str(&format_link(url, s)) {
                v.set_sensitive(true);
                out.push(v);
            }
        }
    }
    out
}

/// What a POST needs from the server around it.
pub struct Post {
    pub side: Side,
    pub room: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub grant: Grant,
    pub permit: OwnedSemaphorePermit,
}

impl Endpoints {
    /// `POST /whip/ROOM` or `/whep/ROOM`: a session joins ROOM with the offer; 201 with the
    /// answer, Location and ETag.
    pub async fn post(self: &Arc<Self>, hub: Arc<Hub>, shutdown: CancellationToken, p: Post) -> Response {
        if validate_room(&p.room).is_err() {
            return reply(StatusCode::NOT_FOUND, "no such endpoint: the room name is not valid");
        }
        if content_type(&p.headers).as_deref() != Some(SDP) {
            let mut r =
                reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the offer must be sent as application/sdp");
            r.headers_mut().insert("accept-post", HeaderValue::from_static(SDP));
            return r;
        }
        let Ok(offer) = String::from_utf8(p.body.to_vec()) else {
            return reply(StatusCode::BAD_REQUEST, "the offer is not UTF-8 text");
        };
        let wanted = match p.side {
            Side::Whip => ["a=sendonly", "a=sendrecv"],
            Side::Whep => ["a=recvonly", "a=sendrecv"],
        };
        if !offer.starts_with("v=0")
            || !offer.contains("\nm=audio ")
            || !wanted.iter().any(|w| offer.contains(w))
        {
            return reply(
                StatusCode::BAD_REQUEST,
                format!(
                    "not an SDP offer with an audio section to {}",
                    if p.side == Side::Whip { "send" } else { "receive" }
                ),
            );
        }
        let ufrag = crate::signal::sdp::identity(&offer).ufrag;
        let mids: Vec<String> =
            offer.lines().filter_map(|l| l.trim_end().strip_prefix("a=mid:")).map(str::to_owned).collect();
        let (socket, mut end) = pipe(PIPE_CAPACITY);
        let permit = p.permit;
        let grant = p.grant;
        let session_shutdown = shutdown.clone();
        let role = if p.side == Side::Whep { Role::Viewer } else { Role::Participant };
        let task_hub = hub.clone();
        tokio::spawn(async move {
            session::run(socket, task_hub, session_shutdown, grant, role).await;
            drop(permit);
        });
        let answered = match tokio::time::timeout(ANSWER_WAIT, negotiate(&mut end, &p.room, offer)).await {
            Ok(Ok(a)) => a,
            Ok(Err(response)) => return response,
            Err(_) => return reply(StatusCode::SERVICE_UNAVAILABLE, "no answer within 10 s"),
        };
        let etag = format!("\"{:016x}\"", rand::random::<u64>());
        let location = format!("/{}/{}/{}", p.side.path(), p.room, answered.peer_id);
        self.live.lock().expect("whip sessions lock").insert(
            answered.peer_id.clone(),
            Handle {
                side: p.side,
                room: p.room.clone(),
                etag: etag.clone(),
                ufrag,
                mids,
                to_session: end.tx.clone(),
            },
        );
        tracing::info!(peer = %crate::signal::protocol::short_id(&answered.peer_id), room = %p.room, "{} session created", p.side.path());
        let me = self.clone();
        let id = answered.peer_id.clone();
        tokio::spawn(async move {
            // Pings answered, renegotiation offers left unanswered (WHIP/WHEP have none).
            while next(&mut end).await.is_some() {}
            me.live.lock().expect("whip sessions lock").remove(&id);
        });
        let body = with_candidates(&answered.answer, &answered.candidates);
        let mut r = (StatusCode::CREATED, body).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
        if let Ok(v) = HeaderValue::from_str(&location) {
            h.insert(header::LOCATION, v);
        }
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        for link in links(&answered.ice_servers) {
            h.append(header::LINK, link);
        }
        r
    }

    fn find(&self, side: Side, room: &str, id: &str) -> Option<Found> {
        let live = self.live.lock().expect("whip sessions lock");
        let h = live.get(id).filter(|h| h.side == side && h.room == room)?;
        Some(Found {
            etag: h.etag.clone(),
            ufrag: h.ufrag.clone(),
            mids: h.mids.clone(),
            to: h.to_session.clone(),
        })
    }

    /// `PATCH` on a session: trickled client candidates (RFC 8840), `If-Match` required.
    pub async fn patch(
        &self,
        side: Side,
        room: &str,
        id: &str,
        headers: &HeaderMap,
        body: &Bytes,
        max_candidates: usize,
    ) -> Response {
        let Some(Found { etag, ufrag, mids, to }) = self.find(side, room, id) else {
            return reply(StatusCode::NOT_FOUND, "no such session");
        };
        if content_type(headers).as_deref() != Some(SDPFRAG) {
            return reply(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a trickle must be sent as application/trickle-ice-sdpfrag",
            );
        }
        if let Some(refusal) = precondition(headers, &etag, true) {
            return refusal;
        }
        let Ok(text) = std::str::from_utf8(body) else {
            return reply(StatusCode::BAD_REQUEST, "the fragment is not UTF-8 text");
        };
        let fragment = match parse_fragment(text) {
            Ok(f) => f,
            Err(e) => return reply(StatusCode::BAD_REQUEST, e.to_string()),
        };
        if fragment.ufrag.is_some() && fragment.ufrag != ufrag {
            return reply(StatusCode::NOT_IMPLEMENTED, "ICE restarts (a new ufrag) are not supported");
        }
        if let Some(c) = fragment.candidates.iter().find(|c| !mids.contains(&c.sdp_mid)) {
            return reply(
                StatusCode::BAD_REQUEST,
                format!("a candidate for mid {:?}, which the offer does not have", c.sdp_mid),
            );
        }
        // Each candidate is one message of the session, under its message rate.
        if fragment.candidates.len() > max_candidates {
            return reply(
                StatusCode::BAD_REQUEST,
                format!("at most {max_candidates} candidates in one fragment"),
            );
        }
        for c in fragment.candidates {
            let text = ClientMessage::Candidate(c).encode();
            if to.send(Message::Text(text.into())).await.is_err() {
                return reply(StatusCode::NOT_FOUND, "the session has ended");
            }
        }
        if fragment.end_of_candidates {
            let _ = to.send(Message::Text(ClientMessage::EndOfCandidates.encode().into())).await;
        }
        StatusCode::NO_CONTENT.into_response()
    }

    /// `DELETE` on a session: it leaves its room and ends.
    pub async fn delete(&self, side: Side, room: &str, id: &str, headers: &HeaderMap) -> Response {
        let Some(Found { etag, to, .. }) = self.find(side, room, id) else {
            return reply(StatusCode::NOT_FOUND, "no such session");
        };
        if let Some(refusal) = precondition(headers, &etag, false) {
            return refusal;
        }
        self.live.lock().expect("whip sessions lock").remove(id);
        let _ = to.send(Message::Text(ClientMessage::LeaveRoom.encode().into())).await;
        let _ = to.send(Message::Close(None)).await;
        (StatusCode::OK, "session ended\n").into_response()
    }
}
