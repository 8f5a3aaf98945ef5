//! The HTTP/WebSocket front of `serve` (axum): the browser client at `/`, `/ws`, `/stats`, over
//! plain HTTP or TLS, the session cap, and [`Server`] that owns them.


use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, patch, post};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::serve::faults::Faults;
use crate::serve::ratelimit::TokenBucket;
use super::accept::{self, ClientAddr};
use super::turn::EmbeddedTurn;
use super::auth::Grant;
use crate::serve::room::Role;
use super::whip::{self, Endpoints, Post, Side};
use super::{Access, Hub, Limits, TurnOptions, session};

/// Sessions `serve` accepts at once unless told otherwise.
pub const DEFAULT_MAX_SESSIONS: u16 = 256;

/// How the server's own peer connections are built.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub rtc_ip: IpAddr,
    pub check_interval: Duration,
    /// Catalogued bugs switched on deliberately (`--fault`).
    pub faults: Faults,
    /// Run an embedded TURN server and hand out its credentials in `joined_room`.
    pub turn: Option<TurnOptions>,
    /// `--ice-server`: what the server's own peer connections gather through (and what of it
    /// `joined_room` hands out).
    pub ice: crate::serve::server_ice::ServerIce,
    /// WebSocket sessions at once (each holds a peer connection); more are refused with 503.
    pub max_sessions: usize,
    /// Serve over TLS (`wss://`, `https://`) with this certificate.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// What one client may do, and for how long.
    pub limits: Limits,
    /// Room tokens and the Origin allow-list demanded at the upgrade.
    pub access: Access,
    /// `--redis`: one node of a cluster (`None`: a single node, as always).
    pub cluster: Option<Arc<super::cluster::Cluster>>,
    /// `--record DIR`: each session's timeline written to `DIR/<peer id>.ndjson`.
    pub record: Option<std::path::PathBuf>,
}

impl ServerConfig {
    /// A healthy server whose peer connections bind to `rtc_ip`.
    pub fn new(rtc_ip: IpAddr) -> Self {
        Self {
            rtc_ip,
            check_interval: crate::peer::DEFAULT_CHECK_INTERVAL,
            faults: Faults::none(),
            turn: None,
            ice: Default::default(),
            max_sessions: usize::from(DEFAULT_MAX_SESSIONS),
            tls: None,
            limits: Limits::default(),
            access: Access::default(),
            cluster: None,
            record: None,
        }
    }
}

/// A bound server: tests read [`Server::addr`] and [`Server::hub`], then call [`Server::run`].
pub struct Server {
    listener: TcpListener,
    hub: Arc<Hub>,
    sessions: Arc<Semaphore>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

#[derive(Clone)]
struct AppState {
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    /// One permit per live session.
    sessions: Arc<Semaphore>,
    /// WebSocket upgrades and WHIP/WHEP sessions per source address.
    upgrades: Arc<Mutex<Upgrades>>,
    /// The live WHIP/WHEP sessions.
    endpoints: Arc<Endpoints>,
}

/// A token bucket of upgrades per source address; full buckets are forgotten.
struct Upgrades {
    started: Instant,
    buckets: HashMap<IpAddr, TokenBucket>,
}

impl Upgrades {
    /// Buckets kept before the full ones are swept.
    const SWEEP_AT: usize = 4096;

    fn allow(&mut self, ip: IpAddr, per_s: f64) -> bool {
        let now = self.started.elapsed().as_millis() as u64;
        if self.buckets.len() >= Self::SWEEP_AT {
            self.buckets.retain(|_, b| !b.is_full(now));
        }
        let burst = (per_s * 3.0).ceil() as u32;
        self.buckets.entry(ip).or_insert_with(|| TokenBucket::new(per_s, burst, now)).take(now)
    }
}

impl Server {
    pub async fn bind(addr: SocketAddr, config: ServerConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let turn = match &config.turn {
            Some(opts) => Some(EmbeddedTurn::start(opts.clone()).await?),
            None => None,
        };
        let sessions = Arc::new(Semaphore::new(config.max_sessions));
        let tls = config.tls.clone();
        Ok(Self { listener, hub: Arc::new(Hub::new(config, turn)), sessions, tls })
    }

    /// The embedded TURN server's URL, when there is one.
    pub fn turn_url(&self) -> Option<String> {
        self.hub.turn_url()
    }

    /// The embedded TURN server's UDP address, when there is one.
    pub fn turn_addr(&self) -> Option<SocketAddr> {
        self.hub.turn_addr()
    }

    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// Whether it serves over TLS (`wss://`, `https://`).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` is cancelled; every session ends with it.
    pub async fn run(self, shutdown: CancellationToken) {
        let upgrades = Upgrades { started: Instant::now(), buckets: HashMap::new() };
        let state = AppState {
            hub: self.hub,
            shutdown: shutdown.clone(),
            sessions: self.sessions,
            upgrades: Arc::new(Mutex::new(upgrades)),
            endpoints: Arc::default(),
        };
        let hub_for_close = state.hub.clone();
        let app = Router::new()
            .route("/", get(page))
            .route("/ws", get(websocket))
            .route("/stats", get(stats))
            .route("/{side}/{room}", post(endpoint_post).options(endpoint_options))
            .route("/{side}/{room}/{id}", patch(session_patch).delete(session_delete).options(session_options))
            .layer(DefaultBodyLimit::max(whip::MAX_BODY))
            .with_state(state);
        let hub = hub_for_close;
        if let Some(c) = hub.config.cluster.clone() {
            tokio::spawn(c.run_registry(hub.clone(), shutdown.clone()));
        }
        let limits = hub.config.limits.clone();
        accept::serve(self.listener, self.tls, app, &limits, shutdown).await;
        hub.close().await;
    }
}

/// What every new session must pass, WebSocket or WHIP/WHEP: the per-address rate, the Origin
/// allow-list (403) and room token (401), and the session limit (503). `what` names the
/// request in the log lines ("upgrade", "WHIP/WHEP session").
fn admit(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    client: SocketAddr,
    what: &str,
) -> Result<(Grant, OwnedSemaphorePermit), Response> {
    let per_s = state.hub.config.limits.upgrades_per_ip;
    if !state.upgrades.lock().expect("upgrades lock").allow(client.ip(), per_s) {
        tracing::warn!(ip = %client.ip(), "{what} refused: too many from this address");
        return Err((StatusCode::TOO_MANY_REQUESTS, "too many connections from your address; slow down\n")
            .into_response());
    }
    let grant = state.hub.config.access.authorize(headers, query).map_err(|refusal| {
        tracing::warn!(%refusal, "{what} refused");
        refusal.into_response()
    })?;
    // Each session holds a peer connection (sockets, tasks): beyond the limit, 503.
    let permit = state.sessions.clone().try_acquire_owned().map_err(|_| {
        tracing::warn!("session refused: the server is at its session limit");
        (StatusCode::SERVICE_UNAVAILABLE, "too many sessions; try again later\n").into_response()
    })?;
    Ok((grant, permit))
}

async fn websocket(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
) -> Response {
    let (grant, permit) = match admit(&state, &headers, query.as_deref(), client, "upgrade") {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    // Messages up to the transport cap are read so that an oversized protocol frame gets a
    // `too_large` reply; anything larger closes the socket with 1009 (message too big).
    let cap = state.hub.config.limits.ws_message_bytes;
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .on_upgrade(move |socket| async move {
            session::run(socket, state.hub, state.shutdown, grant, Role::Participant).await;
            drop(permit);
        })
        .into_response()
}

/// `whip` or `whep` from the first path segment.
fn side(segment: &str) -> Option<Side> {
    match segment {
        "whip" => Some(Side::Whip),
        "whep" => Some(Side::Whep),
        _ => None,
    }
}

fn no_such_path() -> Response {
    (StatusCode::NOT_FOUND, "no such path\n").into_response()
}

/// `POST /whip/ROOM` or `/whep/ROOM`.
async fn endpoint_post(
    Path((segment, room)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    body: Bytes,
) -> Response {
    let Some(side) = side(&segment) else { return no_such_path() };
    let (grant, permit) = match admit(&state, &headers, query.as_deref(), client, "WHIP/WHEP session") {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let post = Post { side, room, headers, body, grant, permit };
    state.endpoints.post(state.hub.clone(), state.shutdown.clone(), post).await
}

/// `PATCH` on a session's Location.
async fn session_patch(
    Path((segment, room, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    State(state): State<AppState>,
    body: Bytes,
) -> Response {
    let Some(side) = side(&segment) else { return no_such_path() };
    let most = (state.hub.config.limits.message_burst / 2) as usize;
    state.endpoints.patch(side, &room, &id, &headers, &body, most).await
}

/// `DELETE` on a session's Location.
async fn session_delete(
    Path((segment, room, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    let Some(side) = side(&segment) else { return no_such_path() };
    state.endpoints.delete(side, &room, &id, &headers).await
}

async fn endpoint_options(Path((segment, _)): Path<(String, String)>) -> Response {
    if side(&segment).is_none() {
        return no_such_path();
    }
    (StatusCode::NO_CONTENT, [(header::ALLOW, "POST, OPTIONS"), (HeaderName::from_static("accept-post"), "application/sdp")])
        .into_response()
}

async fn session_options(Path((segment, _, _)): Path<(String, String, String)>) -> Response {
    if side(&segment).is_none() {
        return no_such_path();
    }
    (
        StatusCode::NO_CONTENT,
        [(header::ALLOW, "PATCH, DELETE, OPTIONS"), (HeaderName::from_static("accept-patch"), "application/trickle-ice-sdpfrag")],
    )
        .into_response()
}

/// The reference browser client, embedded in the binary.
async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

/// `/stats`; with `?cluster=1` on a cluster node, also every live node's record and their
/// totals under `cluster`.
async fn stats(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let stats = state.hub.stats();
    let wanted = query.as_deref().is_some_and(|q| q.split('&').any(|p| p == "cluster=1"));
    let Some(cluster) = state.hub.config.cluster.as_ref().filter(|_| wanted) else {
        return Json(stats).into_response();
    };
    let mut body = serde_json::to_value(&stats).unwrap_or_default();
    body["cluster"] = match cluster.nodes().await {
        Ok(nodes) => serde_json::json!({
            "node": cluster.id,
            "totals": crate::serve::cluster::model::totals(&nodes),
            "nodes": nodes,
        }),
        Err(e) => serde_json::json!({ "node": cluster.id, "error": e.to_string() }),
    };
    Json(body).into_response()
}
