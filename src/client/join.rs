//! Joining a room over a transport: connect, `join_room`, wait for `joined_room` (recording the
//! ICE servers it hands out, never their credentials), following a cluster's `redirect`.

use super::*;
use crate::signal::janus::{self, Janus};
use crate::signal::kind::SignalKind;
use crate::signal::whip::Whip;

/// How long to wait for `joined_room` after sending `join_room`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How many `redirect` answers a join follows before giving up (a cluster needs at most one).
const MAX_REDIRECTS: usize = 2;

/// Seconds since the Unix epoch (to tell a TURN REST username's expiry).
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What the server answered to `join_room`.
pub(super) enum Joined {
    /// Our peer id, the peers already there and the ICE servers the server hands out.
    Room(String, Vec<String>, Vec<IceServer>),
    /// The room lives on another node: join there.
    Redirect(String),
}

/// The transport `opts.signal` names, connected to `url`, and the ICE servers it announced
/// before the call (a WHIP/WHEP endpoint's `Link` headers).
async fn connect(
    opts: &ClientOptions,
    url: &str,
    rec: &Arc<Recorder>,
) -> Result<(Box<dyn Transport>, Vec<IceServer>), ClientError> {
    Ok(match &opts.signal {
        SignalKind::RtcAssist => {
            let ws = SignalingClient::connect(url, opts.trust.clone(), opts.token.as_ref()).await?;
            rec.record(Event::SignalingConnected { url: redact_url(url) });
            (Box::new(ws), Vec::new())
        }
        SignalKind::Dialect(dialect) => {
            let ws = SignalingClient::connect_dialect(
                url,
                opts.trust.clone(),
                opts.token.as_ref(),
                dialect.clone(),
            )
            .await?;
            rec.record(Event::SignalingConnected { url: redact_url(url) });
            (Box::new(ws), Vec::new())
        }
        kind @ (SignalKind::Whip | SignalKind::Whep) => {
            let steps = rec.clone();
            let on_step = Box::new(move |step| steps.record(Event::Http(step)));
            let whip = Whip::new(kind.clone(), url, opts.trust.clone(), opts.token.clone(), on_step)
                .trickling(!opts.behaviour.full_sdp_offer);
            let announced = whip.discover().await;
            if !announced.is_empty() {
                rec.record(Event::IceServersOffered {
                    servers: announced.iter().map(|s| describe_offered(s, unix_now())).collect(),
                });
            }
            (Box::new(whip), announced)
        }
        SignalKind::Janus(plugin) => {
            let steps = rec.clone();
            let on_step: janus::OnStep = Arc::new(move |step| steps.record(Event::Janus(step)));
            let janus =
                Janus::connect(url, *plugin, opts.trust.clone(), opts.token.as_ref(), on_step).await?;
            rec.record(Event::SignalingConnected { url: redact_url(url) });
            (Box::new(janus), Vec::new())
        }
    })
}

/// Connects and joins, following at most [`MAX_REDIRECTS`] `redirect` answers (each one
/// recorded); the last `SignalingConnected` names the node the peer ended on.
pub(super) async fn connect_and_join(
    opts: &ClientOptions,
    rec: &Arc<Recorder>,
) -> Result<(Box<dyn Transport>, String, Vec<String>, Vec<IceServer>), ClientError> {
    let mut url = opts.server.clone();
    if !opts.signal.has_rooms() {
        // WHIP/WHEP, Janus' echotest: nothing to join; the peer id is ours to make.
        let (ws, announced) = connect(opts, &url, rec).await?;
        return Ok((ws, uuid::Uuid::new_v4().simple().to_string(), Vec::new(), announced));
    }
    for _ in 0..=MAX_REDIRECTS {
        let (mut ws, _) = connect(opts, &url, rec).await?;
        // Recorded first: a transport records its own steps (Janus' message) as it sends.
        rec.record(Event::Signal {
            direction: Direction::Sent,
            kind: "join_room".into(),
            detail: Some(opts.room.clone()),
        });
        ws.send(&ClientMessage::JoinRoom { room: opts.room.clone(), token: opts.token.clone() }).await?;
        match wait_joined(ws.as_mut(), rec, &opts.room).await? {
            Joined::Room(id, present, offered) => return Ok((ws, id, present, offered)),
            Joined::Redirect(to) => {
                rec.record(Event::Redirected { from: redact_url(&url), to: redact_url(&to) });
                ws.close().await;
                url = to;
            }
        }
    }
    Err(ClientError::Join(format!("more than {MAX_REDIRECTS} redirects (last to {})", redact_url(&url))))
}

/// Waits for `joined_room` (or a `redirect`); a server that does not name the room (a dialect
/// without a room pointer) joined the one asked for.
async fn wait_joined(ws: &mut dyn Transport, rec: &Recorder, asked: &str) -> Result<Joined, ClientError> {
    let wait = async {
        loop {
            match ws.recv().await {
                Some(Ok(Incoming::Message(ServerMessage::JoinedRoom {
                    room,
                    peer_id,
                    peers,
                    ice_servers,
                }))) => {
                    let room = if room.is_empty() { asked.to_owned() } else { room };
                    rec.record(Event::JoinedRoom { room, peer_id: peer_id.clone(), peers: peers.clone() });
                    let servers = ice_servers.iter().map(|s| describe_offered(s, unix_now())).collect();
                    rec.record(Event::IceServersOffered { servers });
                    return Ok(Joined::Room(peer_id, peers, ice_servers));
                }
                Some(Ok(Incoming::Message(ServerMessage::Redirect { url }))) => {
                    return Ok(Joined::Redirect(url));
                }
                Some(Ok(Incoming::Message(ServerMessage::Error { code, message }))) => {
                    rec.record(Event::ServerError { code: code.as_str().into(), message: message.clone() });
                    return Err(ClientError::Join(message));
                }
                Some(Ok(Incoming::Message(other))) => {
                    rec.record(Event::Signal {
                        direction: Direction::Received,
                        kind: other.kind().into(),
                        detail: None,
                    });
                }
                Some(Ok(Incoming::Invalid(e))) => rec.record(rejected(&e)),
                Some(Err(e)) => return Err(e.into()),
                None => return Err(ClientError::Join("the server closed the socket".into())),
            }
        }
    };
    tokio::time::timeout(JOIN_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| Err(ClientError::Join(format!("no joined_room within {JOIN_TIMEOUT:?}"))))
}
