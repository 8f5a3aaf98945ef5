//! Room tokens and the Origin allow-list against the real binary: what `serve --token-secret`
//! refuses before the upgrade (401), the room claim at `join_room` (`unauthorized`), tokens
//! minted by `rtc-assist token` working for `join --token`, `--allow-origin` (403/101/101), and
//! neither the secret nor a token in anyone's output.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::common::{BIN, Serve, finish, join_with};

const SECRET: &str = "integration-secret-0123456789";
const ENV: &str = "RTC_ASSIST_TOKEN_SECRET";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn serve_with_tokens(extra: &[&str]) -> Serve {
    Serve::start_with_env(extra, &[(ENV, SECRET)])
}

/// `rtc-assist token` with these arguments (and the secret in the environment unless `env` is false).
fn token_cmd(args: &[&str], env: bool) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("token").args(args).env_remove(ENV);
    if env {
        cmd.env(ENV, SECRET);
    }
    cmd.output().unwrap()
}

fn mint(room: &str) -> String {
    let out = token_cmd(&["--room", room, "--ttl", "300"], true);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A JWT with this header and claims, its HMAC computed with `alg` and `secret`.
fn forge(header: Value, claims: Value, alg: ring::hmac::Algorithm, secret: &str) -> String {
    let msg = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let tag = ring::hmac::sign(&ring::hmac::Key::new(alg, secret.as_bytes()), msg.as_bytes());
    format!("{msg}.{}", B64.encode(tag))
}

fn hs256(claims: Value) -> String {
    forge(json!({"alg": "HS256", "typ": "JWT"}), claims, ring::hmac::HMAC_SHA256, SECRET)
}

/// The HTTP status of a WebSocket upgrade to `url` with these headers (101 when it upgraded).
fn upgrade_status(url: &str, headers: &[(&'static str, String)]) -> u16 {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        match tokio_tungstenite::connect_async(request).await {
            Ok((mut ws, response)) => {
                let _ = ws.close(None).await;
                response.status().as_u16()
            }
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(e) => panic!("upgrade to {url}: {e}"),
        }
    })
}

#[test]
fn upgrades_without_a_valid_token_get_401_and_valid_ones_upgrade() {
    let serve = serve_with_tokens(&[]);
    let url = serve.url.clone();
    let exp = now() + 300;
    let good = mint("r");
    let bearer = |t: &str| vec![("authorization", format!("Bearer {t}"))];
    assert_eq!(upgrade_status(&url, &[]), 401, "no token");
    assert_eq!(upgrade_status(&format!("{url}?token={good}"), &[]), 101, "?token=");
    assert_eq!(upgrade_status(&url, &bearer(&good)), 101, "Bearer");
    let claims = json!({"room": "r", "exp": exp});
    let refused = [
        (
            "another secret",
            forge(json!({"alg": "HS256"}), claims.clone(), ring::hmac::HMAC_SHA256, "other-secret-987654321"),
        ),
        (
            "alg none",
            format!("{}.{}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#), B64.encode(claims.to_string())),
        ),
        ("HS384", forge(json!({"alg": "HS384"}), claims.clone(), ring::hmac::HMAC_SHA384, SECRET)),
        ("HS512", forge(json!({"alg": "HS512"}), claims.clone(), ring::hmac::HMAC_SHA512, SECRET)),
        (
            "HS384 claimed, HS256 signed",
            forge(json!({"alg": "HS384"}), claims.clone(), ring::hmac::HMAC_SHA256, SECRET),
        ),
        ("expired", hs256(json!({"room": "r", "exp": now() - 3600}))),
        ("no exp", hs256(json!({"room": "r"}))),
        ("string exp", hs256(json!({"room": "r", "exp": (exp).to_string()}))),
        ("no room", hs256(json!({"exp": exp}))),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in &refused {
        assert_eq!(upgrade_status(&url, &bearer(token)), 401, "{what} (Bearer)");
        assert_eq!(upgrade_status(&format!("{url}?token={token}"), &[]), 401, "{what} (?token=)");
    }
    assert_eq!(upgrade_status(&url, &bearer(&hs256(claims))), 101, "a hand-made HS256 token");
    let logs = serve.stop();
    assert!(!logs.contains(SECRET) && !logs.contains(&good), "{logs}");
    for (what, token) in &refused {
        assert!(!logs.contains(token.as_str()), "{what} in logs: {logs}");
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The reply to `join_room` for `room` on a socket upgraded with `token`, and the socket.
async fn join_socket(url: &str, token: &str, room: &str, join_token: Option<&str>) -> (Value, Socket) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}?token={token}")).await.unwrap();
    let mut data = json!({"room_name": room});
    if let Some(t) = join_token {
        data["token"] = json!(t);
    }
    ws.send(Message::text(json!({"type": "join_room", "data": data}).to_string())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(3), ws.next()).await.expect("a reply");
    let text = reply.unwrap().unwrap().into_text().unwrap();
    (serde_json::from_str(text.as_str()).unwrap(), ws)
}

async fn join_reply(url: &str, token: &str, room: &str, join_token: Option<&str>) -> Value {
    join_socket(url, token, room, join_token).await.0
}

#[test]
fn the_room_claim_decides_which_room_a_socket_joins() {
    let serve = serve_with_tokens(&[]);
    let (a, any) = (mint("a"), mint("*"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (r, _refused) = join_socket(&serve.url, &a, "b", None).await;
        assert_eq!(
            (r["type"].as_str(), r["data"]["code"].as_str()),
            (Some("error"), Some("unauthorized")),
            "{r}"
        );
        assert_eq!(join_reply(&serve.url, &a, "a", None).await["type"], "joined_room");
        // The refused socket (still open) is not in room b.
        let r = join_reply(&serve.url, &any, "b", None).await;
        assert_eq!(
            (r["type"].as_str(), r["data"]["peers"].as_array().map(Vec::len)),
            (Some("joined_room"), Some(0)),
            "{r}"
        );
        // A token in join_room must admit to the room as well.
        assert_eq!(join_reply(&serve.url, &any, "b", Some(&a)).await["data"]["code"], "unauthorized");
        assert_eq!(join_reply(&serve.url, &any, "a", Some(&a)).await["type"], "joined_room");
    });
    // The CLI peer with a token for another room: refused, exit 1, in plain words.
    let out = finish(join_with(&serve.url, "b", 440, 2.0, &["--token", &a, "--no-playback"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let printed = format!("{:?}{}", out.events, out.stderr);
    assert!(printed.contains("unauthorized"), "{printed}");
    assert!(!printed.contains(&a), "{printed}");
}

#[test]
fn peers_with_tokens_hear_each_other_and_nothing_secret_is_printed() {
    let serve = serve_with_tokens(&["-vvv"]);
    let (room, any) = (mint("call"), mint("*"));
    let a = join_with(&serve.url, "call", 440, 6.0, &["--token", &room, "--no-playback", "-vvv"]);
    std::thread::sleep(Duration::from_millis(500));
    let b = join_with(&serve.url, "call", 660, 6.0, &["--token", &any, "--no-playback", "-vvv"]);
    let (a, b) = (finish(a), finish(b));
    for (name, peer, heard) in [("a", &a, 660.0), ("b", &b, 440.0)] {
        assert_eq!(peer.code, 0, "{name}: {}", peer.stderr);
        assert!(peer.heard_freq(heard), "{name} heard {heard} Hz: {:?}", peer.heard());
        let printed = format!("{:?}{}", peer.events, peer.stderr);
        for secret in [SECRET, room.as_str(), any.as_str()] {
            assert!(!printed.contains(secret), "{name} printed a secret or token");
        }
    }
    // Without a token: refused with one plain line, exit 1 (join) and 2 (probe).
    let out = finish(join_with(&serve.url, "call", 440, 2.0, &["--no-playback"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let printed = format!("{:?}{}", out.events, out.stderr);
    assert!(printed.contains("401 Unauthorized (a room token is required: pass --token)"), "{printed}");
    let out = finish(join_with(&serve.url, "call", 440, 2.0, &["--no-playback", "--token", "x.y.z"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(format!("{:?}", out.events).contains("the room token was refused"), "{:?}", out.events);
    let probe =
        Command::new(BIN).args(["probe", &serve.url]).env_remove("RTC_ASSIST_TOKEN").output().unwrap();
    assert_eq!(probe.status.code(), Some(2), "{}", String::from_utf8_lossy(&probe.stderr));
    assert!(String::from_utf8_lossy(&probe.stderr).contains("401 Unauthorized"));
    let logs = serve.stop();
    assert!(logs.contains("upgrade refused"), "the refusal is logged");
    for secret in [SECRET, room.as_str(), any.as_str()] {
        assert!(!logs.contains(secret), "serve logged a secret or token");
    }
}

#[test]
fn the_token_command_prints_only_a_token_and_refuses_hostile_input() {
    let out = token_cmd(&["--room", "r", "--identity", "alice"], true);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let parts: Vec<&str> = stdout.trim().split('.').collect();
    assert_eq!(parts.len(), 3, "{stdout}");
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!((claims["room"].as_str(), claims["sub"].as_str()), (Some("r"), Some("alice")));
    let ttl = claims["exp"].as_u64().unwrap() - now();
    assert!((3590..=3600).contains(&ttl), "default ttl 3600, got {ttl}");
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert!(!stdout.contains(SECRET));

    let no_secret = token_cmd(&["--room", "r"], false);
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(no_secret.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&no_secret.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--token-secret") && stderr.contains(ENV), "{stderr}");
    for bad in [
        &["--room", ""][..],
        &["--room", "r", "--ttl", "0"],
        &["--room", "r", "--ttl", "604801"],
        &["--room", "r", "--ttl", "99999999999999999999999"],
        &["--room", "r", "--ttl", "-5"],
        &["--room", &"r".repeat(65)],
        &["--room", "r", "--identity", ""],
        &["--room", "r", "--identity", "a\u{7}b"],
        &["--room", "r", "--token-secret", "short"],
        &["--ttl", "60"],
    ] {
        let out = token_cmd(bad, true);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains(SECRET), "{bad:?}");
    }
    assert_eq!(token_cmd(&["--room", "r", "--ttl", "604800"], true).status.code(), Some(0));
    // --help never shows the values of the secret's or the token's variables.
    for sub in ["serve", "token", "join", "probe"] {
        let help = Command::new(BIN)
            .args([sub, "--help"])
            .env(ENV, SECRET)
            .env("RTC_ASSIST_TOKEN", "tok.en.value")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(!text.contains(SECRET) && !text.contains("tok.en.value"), "{sub}: {text}");
    }
}

#[test]
fn the_origin_allow_list_refuses_foreign_pages_only() {
    let serve = Serve::start(&[
        "--allow-origin",
        "https://App.example:443/",
        "--allow-origin",
        "http://localhost:8080",
    ]);
    let origin = |o: &str| vec![("origin", o.to_owned())];
    assert_eq!(upgrade_status(&serve.url, &origin("https://evil.example")), 403);
    assert_eq!(upgrade_status(&serve.url, &origin("null")), 403);
    assert_eq!(upgrade_status(&serve.url, &origin("http://app.example")), 403);
    assert_eq!(upgrade_status(&serve.url, &origin("https://app.example")), 101);
    assert_eq!(upgrade_status(&serve.url, &origin("http://LOCALHOST:8080")), 101);
    assert_eq!(upgrade_status(&serve.url, &[]), 101, "no Origin: a CLI client");
    drop(serve);
    let open = Serve::start(&[]);
    assert_eq!(upgrade_status(&open.url, &origin("https://evil.example")), 101, "no list, no check");
    let bad = Command::new(BIN).args(["serve", "--allow-origin", "https://a/path"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// WHIP sessions pass the same room tokens as WebSocket upgrades: none is 401, another room's
/// is 403, the right one publishes; the token never shows in the timeline.
#[test]
fn whip_sessions_need_a_room_token_like_websockets() {
    let serve = serve_with_tokens(&[]);
    let base = serve.url.replace("ws://", "http://").trim_end_matches("/ws").to_owned();
    let publish = |token: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["join", "--signal", "whip", "--server", &format!("{base}/whip/r")])
            .args(["--source", "tone:440", "--duration", "1", "--no-playback", "--json"])
            .env_remove("RTC_ASSIST_TOKEN");
        if let Some(t) = token {
            cmd.args(["--token", t]);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let post: Value = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| e["event"] == "http" && e["method"] == "POST")
            .unwrap_or_else(|| panic!("no POST in the timeline: {stdout}"));
        (out.status.code(), post["status"].as_u64(), stdout + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, status, _) = publish(None);
    assert_eq!((code, status), (Some(1), Some(401)));
    let other = mint("other");
    let (code, status, printed) = publish(Some(&other));
    assert_eq!((code, status), (Some(1), Some(403)), "{printed}");
    assert!(!printed.contains(&other), "the token was printed");
    let right = mint("r");
    let (code, status, printed) = publish(Some(&right));
    assert_eq!((code, status), (Some(0), Some(201)), "{printed}");
    assert!(!printed.contains(&right), "the token was printed");
}
