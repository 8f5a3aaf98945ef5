//! The embedded TURN server's limits as a TURN client sees them: `rtc-turn`'s sans-I/O client
//! (the one `probe --turn` drives) over a loopback UDP socket, with the raw responses read
//! beside it for their error codes.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use rtc_assist::signal::ice_url::{IceUrl, rest_credentials};
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rtc_stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use rtc_stun::error_code::ErrorCodeAttribute;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter, METHOD_ALLOCATE, METHOD_REFRESH,
    Message, MessageType, Setter, TransactionId,
};
use rtc_stun::textattrs::TextAttribute;
use rtc_turn::client::{Client, ClientConfig, Event};
use sansio::Protocol;
use tokio::net::UdpSocket;

use crate::common::Serve;

const SECRET: &str = "limits-secret-8e1d";

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn serve(extra: &[&str]) -> (Serve, SocketAddr) {
    serve_guarded(&[&["--turn-allow-internal-peers"], extra].concat())
}

/// serve --turn without `--turn-allow-internal-peers`: internal relay peers refused.
fn serve_guarded(extra: &[&str]) -> (Serve, SocketAddr) {
    let mut args = vec!["--turn", "--turn-listen", "127.0.0.1:0"];
    args.extend_from_slice(&["--turn-secret", SECRET]);
    args.extend_from_slice(extra);
    let serve = Serve::start(&args);
    let url = IceUrl::parse(serve.turn_url.as_deref().expect("TURN banner")).unwrap();
    let addr = format!("{}:{}", url.host, url.port).parse().unwrap();
    (serve, addr)
}

/// The outcome of one request as the raw responses showed it.
#[derive(Debug, PartialEq)]
enum Answer {
    Ok,
    Error(u16),
    Timeout,
}

struct TurnClient {
    socket: UdpSocket,
    client: Client,
    local: SocketAddr,
    server: SocketAddr,
    /// Error codes of responses after the first 401 challenge, in order.
    errors: Vec<u16>,
    challenged: bool,
    refreshed: bool,
}

impl TurnClient {
    async fn new(server: SocketAddr, username: &str, password: &str) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        let config = ClientConfig {
            stun_serv_addr: server.to_string(),
            turn_serv_addr: server.to_string(),
            local_addr: local,
            transport_protocol: TransportProtocol::UDP,
            username: username.to_owned(),
            password: password.to_owned(),
            realm: String::new(),
            software: "rtc-assist limits test".into(),
            rto_in_ms: 200,
            allocation_refresh_interval_cap: None,
        };
        let client = Client::new(config, rtc_crypto::default_provider().unwrap()).unwrap();
        Self { socket, client, local, server, errors: Vec::new(), challenged: false, refreshed: false }
    }

    fn peek(&mut self, datagram: &[u8]) {
        let mut m = Message::new();
        if m.unmarshal_binary(datagram).is_err() {
            return;
        }
        if m.typ.class == CLASS_ERROR_RESPONSE {
            let mut e = ErrorCodeAttribute::default();
            if e.get_from(&m).is_ok() {
                if e.code.0 == 401 && !self.challenged {
                    self.challenged = true;
                } else {
                    self.errors.push(e.code.0);
                }
            }
        } else if m.typ.class == CLASS_SUCCESS_RESPONSE && m.typ.method == METHOD_REFRESH {
            self.refreshed = true;
        }
    }

    /// Runs the client until `done` accepts an event or `done_raw` holds, for up to 5 s.
    async fn run(&mut self, mut done: impl FnMut(&Event) -> bool, done_raw: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = vec![0u8; 2048];
        loop {
            while let Some(t) = self.client.poll_write() {
                self.socket.send_to(&t.message, self.server).await.unwrap();
            }
            while let Some(ev) = self.client.poll_event() {
                if done(&ev) {
                    return true;
                }
            }
            if done_raw(self) {
                return true;
            }
            let wake = self.client.poll_timeout().map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let (n, _) = r.unwrap();
                    self.peek(&buf[..n]);
                    let msg = TaggedBytesMut {
                        now: Instant::now(),
                        transport: TransportContext {
                            local_addr: self.local,
                            peer_addr: self.server,
                            transport_protocol: TransportProtocol::UDP,
                            ecn: None,
                        },
                        message: BytesMut::from(&buf[..n]),
                    };
                    let _ = self.client.handle_read(msg);
                }
                () = tokio::time::sleep_until(wake.into()) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    let _ = self.client.handle_timeout(Instant::now());
                }
            }
        }
    }

    fn answer(&self, ok: Option<bool>) -> Answer {
        match (ok, self.errors.last()) {
            (Some(true), _) => Answer::Ok,
            (Some(false), Some(code)) => Answer::Error(*code),
            _ => Answer::Timeout,
        }
    }

    async fn allocate(&mut self) -> (Answer, Option<SocketAddr>) {
        self.client.allocate(Instant::now()).unwrap();
        let mut outcome = None;
        let mut relayed = None;
        self.run(
            |ev| match ev {
                Event::AllocateResponse(_, r) => {
                    relayed = Some(*r);
                    outcome = Some(true);
                    true
                }
                Event::AllocateError(..) => {
                    outcome = Some(false);
                    true
                }
                _ => false,
            },
            |_| false,
        )
        .await;
        (self.answer(outcome), relayed)
    }

    async fn permit(&mut self, relayed: SocketAddr, peer: SocketAddr) -> Answer {
        self.client.relay(relayed).unwrap().create_permission(Instant::now(), peer).unwrap();
        let mut outcome = None;
        self.run(
            |ev| match ev {
                Event::CreatePermissionResponse(..) => {
                    outcome = Some(true);
                    true
                }
                Event::CreatePermissionError(..) => {
                    outcome = Some(false);
                    true
                }
                _ => false,
            },
            |_| false,
        )
        .await;
        self.answer(outcome)
    }

    async fn refresh(&mut self) -> Answer {
        let before = self.errors.len();
        self.refreshed = false;
        self.client.refresh_allocations(Instant::now()).unwrap();
        self.run(|_| false, |s| s.refreshed || s.errors.len() > before).await;
        if self.refreshed { Answer::Ok } else { self.answer(Some(false)) }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn the_third_allocation_of_a_username_gets_486_and_other_usernames_still_allocate() {
    let (serve, server) = serve(&["--turn-user-quota", "2"]);
    runtime().block_on(async {
        let (user, pass) = rest_credentials(SECRET, "quota", now_unix(), 600);
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut c = TurnClient::new(server, &user, &pass).await;
            assert_eq!(c.allocate().await.0, Answer::Ok);
            held.push(c);
        }
        let mut third = TurnClient::new(server, &user, &pass).await;
        assert_eq!(third.allocate().await.0, Answer::Error(486), "errors seen: {:?}", third.errors);
        let (other, other_pass) = rest_credentials(SECRET, "someone-else", now_unix(), 600);
        let mut c = TurnClient::new(server, &other, &other_pass).await;
        assert_eq!(c.allocate().await.0, Answer::Ok, "another username has its own quota");
    });
    let logs = serve.stop();
    assert!(logs.contains("TURN Allocate refused: quota reached"), "{logs}");
}

#[test]
fn the_total_quota_refuses_any_username_with_486() {
    let (serve, server) = serve(&["--turn-total-quota", "1"]);
    runtime().block_on(async {
        let (a, a_pass) = rest_credentials(SECRET, "a", now_unix(), 600);
        let mut first = TurnClient::new(server, &a, &a_pass).await;
        assert_eq!(first.allocate().await.0, Answer::Ok);
        let (b, b_pass) = rest_credentials(SECRET, "b", now_unix(), 600);
        let mut second = TurnClient::new(server, &b, &b_pass).await;
        assert_eq!(second.allocate().await.0, Answer::Error(486));
    });
    serve.stop();
}

#[test]
fn a_credential_that_expires_during_the_call_still_refreshes_but_cannot_allocate_anew() {
    let (serve, server) = serve(&[]);
    runtime().block_on(async {
        let (user, pass) = rest_credentials(SECRET, "short", now_unix(), 2);
        let mut c = TurnClient::new(server, &user, &pass).await;
        let (answer, relayed) = c.allocate().await;
        assert_eq!(answer, Answer::Ok);
        tokio::time::sleep(Duration::from_millis(3100)).await;
        assert_eq!(c.refresh().await, Answer::Ok, "errors seen: {:?}", c.errors);
        let peer = "127.0.0.1:9".parse().unwrap();
        assert_eq!(c.permit(relayed.unwrap(), peer).await, Answer::Ok);
        let mut late = TurnClient::new(server, &user, &pass).await;
        // The crate answers a refused credential with 400.
        assert_eq!(late.allocate().await.0, Answer::Error(400));
    });
    serve.stop();
}

#[test]
fn the_1025th_permission_of_an_allocation_gets_508() {
    let (serve, server) = serve(&[]);
    runtime().block_on(async {
        let (user, pass) = rest_credentials(SECRET, "perms", now_unix(), 600);
        let mut c = TurnClient::new(server, &user, &pass).await;
        let (answer, relayed) = c.allocate().await;
        assert_eq!(answer, Answer::Ok);
        let relayed = relayed.unwrap();
        // Permissions are per IP: 1,024 loopback addresses, never sent anything.
        for i in 0..1024u32 {
            let peer = SocketAddr::from(((0x7f00_0000 + 256 + i).to_be_bytes(), 9));
            assert_eq!(c.permit(relayed, peer).await, Answer::Ok, "permission {i}");
        }
        let refresh_one = SocketAddr::from(([127, 0, 1, 0], 10));
        assert_eq!(c.permit(relayed, refresh_one).await, Answer::Ok, "refreshing costs nothing");
        let one_too_many = SocketAddr::from(([127, 1, 0, 0], 9));
        assert_eq!(c.permit(relayed, one_too_many).await, Answer::Error(508));
    });
    serve.stop();
}

#[test]
fn a_permission_towards_an_internal_peer_gets_403_unless_allowed() {
    let (serve, server) = serve_guarded(&[]);
    runtime().block_on(async {
        let (user, pass) = rest_credentials(SECRET, "inside", now_unix(), 600);
        let mut c = TurnClient::new(server, &user, &pass).await;
        let (answer, relayed) = c.allocate().await;
        assert_eq!(answer, Answer::Ok);
        let relayed = relayed.unwrap();
        for peer in [([127, 0, 0, 1], 9), ([10, 1, 2, 3], 9), ([169, 254, 169, 254], 80), ([0, 0, 0, 0], 9)] {
            let peer = SocketAddr::from(peer);
            assert_eq!(c.permit(relayed, peer).await, Answer::Error(403), "{peer}");
        }
    });
    serve.stop();
}

/// Sends one Allocate request built from `attributes` and returns the error code and nonce of
/// the answer.
async fn challenge(
    socket: &UdpSocket,
    server: SocketAddr,
    attributes: Vec<Box<dyn Setter + '_>>,
) -> (u16, String) {
    let mut setters: Vec<Box<dyn Setter>> =
        vec![Box::new(TransactionId::new()), Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST))];
    setters.extend(attributes);
    let mut m = Message::new();
    m.build(&setters).unwrap();
    socket.send_to(&m.raw, server).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let (n, _) =
        tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf)).await.unwrap().unwrap();
    let mut answer = Message::new();
    answer.unmarshal_binary(&buf[..n]).unwrap();
    let mut code = ErrorCodeAttribute::default();
    code.get_from(&answer).unwrap();
    let nonce = TextAttribute::get_from_as(&answer, ATTR_NONCE).unwrap();
    assert_eq!(TextAttribute::get_from_as(&answer, ATTR_REALM).unwrap().text, "rtc-assist");
    (code.code.0, nonce.text)
}

#[test]
fn challenges_share_one_nonce_so_a_flood_of_them_mints_no_new_ones() {
    let (serve, server) = serve(&[]);
    runtime().block_on(async {
        let crypto = rtc_crypto::default_provider().unwrap();
        let mut nonces = HashSet::new();
        for _ in 0..20 {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for _ in 0..10 {
                let (code, nonce) = challenge(&socket, server, Vec::new()).await;
                assert_eq!(code, 401);
                nonces.insert(nonce);
            }
            // A made-up nonce with some integrity: 438 Stale Nonce, with the same shared one.
            let forged: Vec<Box<dyn Setter>> = vec![
                Box::new(TextAttribute::new(ATTR_USERNAME, "1:mallory".into())),
                Box::new(TextAttribute::new(ATTR_REALM, "rtc-assist".into())),
                Box::new(TextAttribute::new(ATTR_NONCE, format!("{:032x}", rand::random::<u128>()))),
                Box::new(MessageIntegrity::new_raw_integrity_with_provider(vec![7u8; 16], crypto.crypto())),
            ];
            let (code, nonce) = challenge(&socket, server, forged).await;
            assert_eq!(code, 438);
            nonces.insert(nonce);
        }
        assert_eq!(nonces.len(), 1, "220 challenges, one nonce minted: {nonces:?}");
        // The shared nonce authenticates: a real client allocates with it.
        let (user, pass) = rest_credentials(SECRET, "after-the-flood", now_unix(), 600);
        let mut c = TurnClient::new(server, &user, &pass).await;
        assert_eq!(c.allocate().await.0, Answer::Ok, "errors seen: {:?}", c.errors);
    });
    serve.stop();
}
