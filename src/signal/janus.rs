//! Janus Gateway's WebSocket API as a [`Transport`]: opens the socket with the `janus-protocol`
//! subprotocol, creates a session, attaches the plugin (echotest, audiobridge or videoroom),
//! then hands the socket to a task that sends keepalives well inside the server's
//! `session_timeout` (read from `info`), sends what the peer says (a room join, the offer in a
//! plugin message, trickled candidates and `completed`) and turns what Janus says into the
//! native messages (`joined` → `joined_room`, participants → `peer_joined`/`peer_left`, a JSEP
//! answer → `answer`, Janus' trickle → candidates). Every frame both ways is handed to `on_step`
//! as a [`JanusStep`] for the timeline. Core and plugin errors end the session with the code
//! and reason; a `timeout` from Janus ends it too. Hanging up detaches the handle and destroys
//! the session.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::signal::error::{SignalingError, phase};
use crate::signal::janus_api::{self, JanusStep, Plugin, PluginEvent, Reply, SUBPROTOCOL};
use crate::signal::protocol::{ClientMessage, DecodeError, ErrorCode, ServerMessage};
use crate::signal::secret::Secret;
use crate::signal::transport::{Incoming, Transport};
use crate::signal::websocket::{Socket, open};

/// Where each frame goes once sent or received (the client records it in its timeline).
pub type OnStep = Arc<dyn Fn(JanusStep) + Send + Sync>;

/// Keepalive period when `info` does not say the session timeout (Janus' default is 60 s).
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(25);
/// How long hanging up waits for Janus to confirm the session is destroyed.
const TEARDOWN: Duration = Duration::from_secs(2);
/// Requests Janus answers with an ack alone.
const ACK_ONLY: [&str; 2] = ["trickle", "keepalive"];
/// The display name we join rooms with.
const DISPLAY: &str = "rtc-assist";

/// Frames out, with their timeline steps, and what the answers correlate with.
struct Steps {
    on_step: OnStep,
    next: u64,
    /// Transaction → (when it went out, its verb).
    pending: HashMap<String, (Instant, String)>,
}

impl Steps {
    fn transaction(&mut self) -> String {
        self.next += 1;
        format!("t{}", self.next)
    }

    fn sent(&mut self, frame: &Value) {
        let step = JanusStep::of("sent", frame);
        if let Some(t) = &step.transaction {
            self.pending.insert(t.clone(), (Instant::now(), step.janus.clone()));
        }
        (self.on_step)(step);
    }

    /// Records a received frame; returns the verb of the request it answers, if any.
    fn received(&mut self, frame: &Value) -> Option<String> {
        let mut step = JanusStep::of("received", frame);
        let request = step.transaction.as_ref().and_then(|t| self.pending.get(t)).cloned();
        if let Some((at, _)) = &request {
            step.elapsed_ms = Some(at.elapsed().as_millis() as u64);
        }
        // An ack is followed by the event with the same transaction, except for requests Janus
        // only acknowledges (trickle, keepalive); anything else ends it.
        let ends = step.janus != "ack"
            || request.as_ref().is_some_and(|(_, verb)| ACK_ONLY.contains(&verb.as_str()));
        if ends && let Some(t) = &step.transaction {
            self.pending.remove(t);
        }
        (self.on_step)(step);
        request.map(|(_, verb)| verb)
    }
}

enum Command {
    Frame(Value),
    /// Detach, destroy, close the socket; then say so.
    Close(oneshot::Sender<()>),
}

pub struct Janus {
    plugin: Plugin,
    session: u64,
    handle: u64,
    steps: Arc<std::sync::Mutex<Steps>>,
    out: mpsc::UnboundedSender<Command>,
    inbox: mpsc::UnboundedReceiver<Result<Incoming, SignalingError>>,
}

/// The connection phase's exchange: sends `frame`, waits for the answer with its transaction.
async fn call(
    ws: &mut Socket,
    steps: &std::sync::Mutex<Steps>,
    frame: Value,
    url: &str,
) -> Result<Reply, SignalingError> {
    let transaction = frame["transaction"].as_str().unwrap_or_default().to_owned();
    steps.lock().expect("steps lock").sent(&frame);
    ws.send(Message::text(frame.to_string())).await?;
    let wait = async {
        loop {
            let text = match ws.next().await {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(_))) | None => {
                    return Err(SignalingError::Janus {
                        code: 0,
                        reason: format!("{url} closed the socket"),
                    });
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            steps.lock().expect("steps lock").received(&value);
            match Reply::decode(text.as_str()) {
                Ok(Reply::Ack { .. }) => continue,
                Ok(r) if value["transaction"].as_str() == Some(transaction.as_str()) => {
                    return Ok(r);
                }
                _ => continue,
            }
        }
    };
    phase(url, "Janus reply", wait).await
}

/// The id a `success` carried, or the error that came instead.
fn created(reply: Reply, what: &str) -> Result<u64, SignalingError> {
    match reply {
        Reply::Success { id: Some(id), .. } => Ok(id),
        Reply::Error { code, reason, .. } => Err(SignalingError::Janus { code, reason }),
        _ => Err(SignalingError::Janus { code: 0, reason: format!("{what} answered without an id") }),
    }
}

impl Janus {
    /// Opens the socket, creates a session and attaches `plugin`.
    pub async fn connect(
        url: &str,
        plugin: Plugin,
        trust: Option<Arc<ClientConfig>>,
        token: Option<&Secret>,
        on_step: OnStep,
    ) -> Result<Self, SignalingError> {
        let shown = crate::signal::token::redact_url(url);
        let mut ws = open(url, trust, token, Some(SUBPROTOCOL)).await.map_err(|e| match e {
            SignalingError::Connect { url, cause } if cause.to_string().contains("subprotocol") => {
                SignalingError::Janus {
                    code: 0,
                    reason: format!(
                        "{url} is not Janus' WebSocket transport (it refused the {SUBPROTOCOL} subprotocol)"
                    ),
                }
            }
            other => other,
        })?;
        let steps = Arc::new(std::sync::Mutex::new(Steps { on_step, next: 0, pending: HashMap::new() }));
        let tx = |steps: &std::sync::Mutex<Steps>| steps.lock().expect("steps lock").transaction();
        let info =
            call(&mut ws, &steps, janus_api::session_request("info", &tx(&steps), None), &shown).await?;
        let keepalive = keepalive_from_info(&info);
        let session = created(
            call(&mut ws, &steps, janus_api::session_request("create", &tx(&steps), None), &shown).await?,
            "create",
        )?;
        let handle = created(
            call(&mut ws, &steps, janus_api::attach(&tx(&steps), session, plugin), &shown).await?,
            "attach",
        )?;
        let (out, commands) = mpsc::unbounded_channel();
        let (deliver, inbox) = mpsc::unbounded_channel();
        let driver =
            Driver { ws, steps: steps.clone(), session, deliver, keepalive, present: HashSet::new() };
        tokio::spawn(driver.run(commands));
        Ok(Self { plugin, session, handle, steps, out, inbox })
    }

    fn transaction(&self) -> String {
        self.steps.lock().expect("steps lock").transaction()
    }

    fn message(&self, body: Value, jsep: Option<(&str, &str)>) -> Value {
        janus_api::message(&self.transaction(), self.session, self.handle, body, jsep)
    }

    fn push(&self, frame: Value) -> Result<(), SignalingError> {
        self.out
            .send(Command::Frame(frame))
            .map_err(|_| SignalingError::Janus { code: 0, reason: "the Janus session has ended".into() })
    }
}

/// A third of `session_timeout` from `info`; the default when Janus does not say (or says 0:
/// sessions never expire, and a keepalive still does no harm).
fn keepalive_from_info(info: &Reply) -> Duration {
    match info {
        Reply::ServerInfo { session_timeout: Some(s) } if *s > 0 => {
            Duration::from_millis(s * 1000 / 3).clamp(Duration::from_millis(300), DEFAULT_KEEPALIVE)
        }
        _ => DEFAULT_KEEPALIVE,
    }
}

#[async_trait]
impl Transport for Janus {
    async fn send(&mut self, msg: &ClientMessage) -> Result<(), SignalingError> {
        let frame = match msg {
            ClientMessage::JoinRoom { room, .. } => match self.plugin.join_body(room, DISPLAY) {
                Some(body) => self.message(body, None),
                None => return Ok(()),
            },
            ClientMessage::Offer { sdp } => self.message(self.plugin.offer_body(), Some(("offer", sdp))),
            ClientMessage::Answer { sdp } => self.message(self.plugin.answer_body(), Some(("answer", sdp))),
            ClientMessage::Candidate(c) => {
                janus_api::trickle(&self.transaction(), self.session, self.handle, Some(c))
            }
            ClientMessage::EndOfCandidates => {
                janus_api::trickle(&self.transaction(), self.session, self.handle, None)
            }
            ClientMessage::LeaveRoom => {
                janus_api::handle_request("hangup", &self.transaction(), self.session, self.handle)
            }
        };
        self.push(frame)
    }

    async fn recv(&mut self) -> Option<Result<Incoming, SignalingError>> {
        self.inbox.recv().await
    }

    async fn close(self: Box<Self>) {
        let detach = janus_api::handle_request("detach", &self.transaction(), self.session, self.handle);
        let _ = self.out.send(Command::Frame(detach));
        let (done, closed) = oneshot::channel();
        if self.out.send(Command::Close(done)).is_ok() {
            let _ = tokio::time::timeout(TEARDOWN, closed).await;
        }
    }
}

/// The task that owns the socket once the session exists.
struct Driver {
    ws: Socket,
    steps: Arc<std::sync::Mutex<Steps>>,
    session: u64,
    deliver: mpsc::UnboundedSender<Result<Incoming, SignalingError>>,
    keepalive: Duration,
    /// The room's other participants as far as Janus told us.
    present: HashSet<String>,
}

impl Driver {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + self.keepalive, self.keepalive);
        let mut closing: Option<(oneshot::Sender<()>, String)> = None;
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Frame(frame)) => {
                        if self.send(frame).await.is_err() { break }
                    }
                    Some(Command::Close(done)) => {
                        let tx = self.steps.lock().expect("steps lock").transaction();
                        let destroy = janus_api::session_request("destroy", &tx, Some(self.session));
                        if self.send(destroy).await.is_err() {
                            let _ = done.send(());
                            break;
                        }
                        closing = Some((done, tx));
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    let tx = self.steps.lock().expect("steps lock").transaction();
                    if self.send(janus_api::session_request("keepalive", &tx, Some(self.session))).await.is_err() {
                        break;
                    }
                }
                frame = self.ws.next() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        let (going_on, transaction) = self.on_frame(t.as_str());
                        let destroyed = closing.as_ref().is_some_and(|(_, tx)| transaction.as_deref() == Some(tx.as_str()));
                        if !going_on || destroyed { break }
                    }
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        let _ = self.deliver.send(Err(e.into()));
                        break;
                    }
                },
            }
        }
        let _ = self.ws.close(None).await;
        if let Some((done, _)) = closing {
            let _ = done.send(());
        }
    }

    async fn send(&mut self, frame: Value) -> Result<(), ()> {
        self.steps.lock().expect("steps lock").sent(&frame);
        self.ws.send(Message::text(frame.to_string())).await.map_err(|e| {
            let _ = self.deliver.send(Err(e.into()));
        })
    }

    fn deliver(&self, m: ServerMessage) {
        let _ = self.deliver.send(Ok(Incoming::Message(m)));
    }

    /// Records and maps one frame: `false` once the session is over, and the frame's transaction.
    fn on_frame(&mut self, text: &str) -> (bool, Option<String>) {
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let transaction = value["transaction"].as_str().map(str::to_owned);
        (self.apply(text, &value), transaction)
    }

    /// Maps one recorded frame onto the native messages; `false` once the session is over.
    fn apply(&mut self, text: &str, value: &Value) -> bool {
        let request = self.steps.lock().expect("steps lock").received(value);
        let reply = match Reply::decode(text) {
            Ok(r) => r,
            Err(e) => {
                let invalid = DecodeError { code: ErrorCode::BadMessage, violation: None, message: e.0 };
                let _ = self.deliver.send(Ok(Incoming::Invalid(invalid)));
                return true;
            }
        };
        match reply {
            Reply::Error { code, reason, .. } if request.as_deref() == Some("trickle") => {
                tracing::debug!(code, %reason, "Janus refused a trickled candidate");
            }
            Reply::Error { code, reason, .. } => return self.fail(code, reason),
            Reply::Event { plugin: PluginEvent::Error { code, reason }, .. } => {
                return self.fail(code, reason);
            }
            Reply::Event { plugin, jsep, .. } => {
                match plugin {
                    PluginEvent::Joined { room, id, present } => {
                        self.present.extend(present.iter().cloned());
                        self.deliver(ServerMessage::JoinedRoom {
                            room,
                            peer_id: id,
                            peers: present,
                            ice_servers: Vec::new(),
                        })
                    }
                    // Janus repeats participants when their setup changes: only newcomers arrive.
                    PluginEvent::Arrived(ids) => {
                        for peer_id in ids {
                            if self.present.insert(peer_id.clone()) {
                                self.deliver(ServerMessage::PeerJoined { peer_id });
                            }
                        }
                    }
                    PluginEvent::Left(peer_id) => {
                        if self.present.remove(&peer_id) {
                            self.deliver(ServerMessage::PeerLeft { peer_id });
                        }
                    }
                    PluginEvent::Error { .. } | PluginEvent::Other => {}
                }
                match jsep {
                    Some(j) if j.typ == "answer" => self.deliver(ServerMessage::Answer { sdp: j.sdp }),
                    Some(j) => self.deliver(ServerMessage::Offer { sdp: j.sdp }),
                    None => {}
                }
            }
            Reply::Trickle(Some(c)) => self.deliver(ServerMessage::Candidate(c)),
            Reply::Trickle(None) => self.deliver(ServerMessage::EndOfCandidates),
            Reply::Timeout => return false,
            Reply::Success { .. }
            | Reply::Ack { .. }
            | Reply::WebrtcUp
            | Reply::Media { .. }
            | Reply::Hangup { .. }
            | Reply::ServerInfo { .. }
            | Reply::Other { .. } => {}
        }
        true
    }

    /// A refusal ends the session: the peer sees why.
    fn fail(&self, code: i64, reason: String) -> bool {
        let _ = self.deliver.send(Err(SignalingError::Janus { code, reason }));
        false
    }
}
