//! `serve --redis`: three nodes and a Debian `redis-server` started here on a loopback port.
//! A join through any node ends on the room's owner (redirect, audio through the owner, one
//! owner when two nodes place a room at once);
//! `load` over 12 rooms spreads them over every node; a node killed with SIGKILL loses its
//! room to another node on the next join; a draining node places nothing on itself; the
//! cluster refuses new rooms while Redis is gone and recovers when it is back.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::{Browser, page};
use crate::common::coturn::free_port;
use crate::common::{BIN, Finished, Serve, finish, join, join_with};

/// Debian's redis-server on a loopback port, nothing persisted; killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// `None` (with a message) when redis-server is not installed: `scripts/deps.sh` installs it.
    fn start() -> Option<Self> {
        Self::start_on(free_port())
    }

    fn start_on(port: u16) -> Option<Self> {
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = spawned else {
            eprintln!("skipped: redis-server is not installed (scripts/deps.sh installs it)");
            return None;
        };
        let redis = Self { child, port };
        let until = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "redis-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster node on a free port, advertising its own ws:// URL.
fn node(redis: &Redis, extra: &[&str]) -> Serve {
    let listen = format!("127.0.0.1:{}", free_port());
    let advertise = format!("ws://{listen}/ws");
    let url = redis.url();
    let args = [&["--redis", &url, "--advertise-url", &advertise][..], extra].concat();
    Serve::start_at(&listen, &args, &[])
}

/// Waits until every node has published its record (the first refresh runs at start).
fn settled(nodes: &[Serve]) {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = nodes[0].stats_query("cluster=1")["cluster"]["nodes"].as_array().map_or(0, Vec::len);
        if seen == nodes.len() {
            return;
        }
        if Instant::now() > until {
            let views: Vec<Value> =
                nodes.iter().map(|n| n.stats_query("cluster=1")["cluster"].clone()).collect();
            panic!("only {seen} of {} nodes registered: {views:?}", nodes.len());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rooms(node: &Serve) -> u64 {
    node.stats()["rooms"].as_u64().unwrap_or(0)
}

/// `join ROOM --server URL --source tone --duration SECS --no-playback --json` (as the
/// acceptance check runs it: no audio expected from an empty room).
fn join_alone(url: &str, room: &str, secs: f64) -> Finished {
    let child = Command::new(BIN)
        .args(["join", room, "--server", url, "--source", "tone", "--duration", &secs.to_string()])
        .args(["--no-playback", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn join");
    finish(child)
}

/// The `url` of the last `signaling_connected`: the node a join ended on.
fn ended_on(events: &[Value]) -> String {
    let last = events.iter().rev().find(|e| e["event"] == "signaling_connected").expect("connected");
    last["url"].as_str().unwrap().to_owned()
}

#[test]
fn a_join_through_any_node_ends_on_the_rooms_owner() {
    let Some(redis) = Redis::start() else { return };
    let nodes: Vec<Serve> = (0..3).map(|_| node(&redis, &[])).collect();
    settled(&nodes);
    // Every node is idle: the room goes to the node the first peer asked (no redirect).
    let owner = join(&nodes[1].url, "r", 440, 4.0);
    std::thread::sleep(Duration::from_millis(1200));
    let guest = finish(join(&nodes[0].url, "r", 660, 2.0));
    let owner = finish(owner);
    assert_eq!(owner.code, 0, "{}", owner.stderr);
    assert!(owner.events_named("redirected").is_empty());
    assert_eq!(guest.code, 0, "{}", guest.stderr);
    let redirects = guest.events_named("redirected");
    assert_eq!(redirects.len(), 1, "{:?}", guest.events);
    assert_eq!(redirects[0]["from"], nodes[0].url.as_str());
    assert_eq!(redirects[0]["to"], nodes[1].url.as_str());
    assert_eq!(ended_on(&guest.events), nodes[1].url);
    assert!(guest.heard_freq(440.0) && owner.heard_freq(660.0), "media through the owner");

    // Two first joins of one room through two nodes at once: the room lock gives it one owner.
    let (a, b) = (join(&nodes[0].url, "s", 440, 1.5), join(&nodes[2].url, "s", 660, 1.5));
    let (a, b) = (finish(a), finish(b));
    assert_eq!((a.code, b.code), (0, 0), "{} {}", a.stderr, b.stderr);
    assert_eq!(ended_on(&a.events), ended_on(&b.events), "the room split over two nodes");
}

#[test]
fn load_spreads_12_rooms_over_every_node_and_a_killed_nodes_room_moves_on() {
    let Some(redis) = Redis::start() else { return };
    let mut nodes: Vec<Serve> = (0..3).map(|_| node(&redis, &[])).collect();
    settled(&nodes);
    let mut load = Command::new(BIN)
        .args(["load", &nodes[0].url, "--rooms", "12", "--peers", "2", "--duration", "5", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn load");
    let mut most = [0; 3];
    let until = Instant::now() + Duration::from_secs(20);
    while load.try_wait().unwrap().is_none() && Instant::now() < until {
        for (m, n) in most.iter_mut().zip(&nodes) {
            *m = (*m).max(rooms(n));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let out = load.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: Value = text.lines().rev().find_map(|l| serde_json::from_str(l).ok()).expect("summary");
    assert_eq!(summary["connected"].as_u64(), Some(24), "{summary}");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // load reports where its peers ended: every node, 24 peers in all.
    let per_node = summary["nodes"].as_object().expect("nodes in the summary");
    assert_eq!(per_node.len(), 3, "{summary}");
    assert_eq!(per_node.values().filter_map(Value::as_u64).sum::<u64>(), 24, "{summary}");
    assert!(most.iter().all(|&r| r > 0), "rooms per node at most {most:?}");
    let totals = &nodes[1].stats_query("cluster=1")["cluster"]["totals"];
    assert_eq!((totals["nodes"].as_u64(), totals["serving"].as_u64()), (Some(3), Some(3)), "{totals}");

    // The owner of "fo" dies with SIGKILL: within 10 s a join through another node gets it.
    let mut holder = join_with(&nodes[0].url, "fo", 440, 30.0, &[]);
    let until = Instant::now() + Duration::from_secs(10);
    let owner = loop {
        if let Some(i) = (0..3).find(|&i| rooms(&nodes[i]) > 0) {
            break i;
        }
        assert!(Instant::now() < until, "no node took room fo");
        std::thread::sleep(Duration::from_millis(100));
    };
    nodes.remove(owner).stop();
    let _ = holder.kill();
    let _ = holder.wait();
    let killed_at = Instant::now();
    let survivor = nodes[0].url.clone();
    let moved = loop {
        let j = join_alone(&survivor, "fo", 0.5);
        if j.code == 0 {
            break j;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(10), "fo not re-placed: {}", j.stderr);
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(nodes.iter().any(|n| n.url == ended_on(&moved.events)), "{:?}", moved.events);
}

#[test]
fn a_draining_node_places_nothing_and_redis_going_away_refuses_only_new_rooms() {
    let Some(redis) = Redis::start() else { return };
    let nodes = [node(&redis, &[]), node(&redis, &["--drain"])];
    settled(&nodes);
    let [serving, draining] = &nodes;
    let d = join_alone(&draining.url, "d", 0.5);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert_eq!(ended_on(&d.events), serving.url, "a draining node took a new room");

    // Redis goes away while "keep" is live on the serving node.
    let mut holder = join_with(&serving.url, "keep", 440, 20.0, &[]);
    let until = Instant::now() + Duration::from_secs(10);
    while rooms(serving) == 0 {
        assert!(Instant::now() < until, "holder never joined");
        std::thread::sleep(Duration::from_millis(100));
    }
    let port = redis.port;
    drop(redis);
    let refused = join_alone(&serving.url, "new", 0.5);
    assert_ne!(refused.code, 0);
    let said = format!("{}{:?}", refused.stderr, refused.events_named("server_error"));
    assert!(said.contains("cluster registry"), "{said}");
    let kept = join_alone(&serving.url, "keep", 0.5);
    assert_eq!(kept.code, 0, "an owned room needs no Redis: {}", kept.stderr);

    // Redis is back (empty): the nodes register again and new rooms are placed.
    let _redis = Redis::start_on(port).expect("redis again");
    let back = Instant::now();
    loop {
        let j = join_alone(&draining.url, "new", 0.5);
        if j.code == 0 {
            assert_eq!(ended_on(&j.events), serving.url);
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(8), "no recovery: {}", j.stderr);
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn bad_cluster_flags_are_usage_errors_and_the_redis_password_never_shows() {
    for args in [
        &["--redis", "nonsense", "--advertise-url", "ws://127.0.0.1:1/ws"][..],
        &["--redis", "redis://127.0.0.1:1", "--advertise-url", "http://127.0.0.1:1/ws"],
        &["--redis", "redis://127.0.0.1:1"],
        &["--advertise-url", "ws://127.0.0.1:1/ws"],
        &["--drain"],
    ] {
        let out = Command::new(BIN).args(["serve", "--listen", "127.0.0.1:0"]).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Nothing listens on this port: the node starts, and says why it cannot place rooms.
    let listen = format!("127.0.0.1:{}", free_port());
    let redis = format!("redis://:hunter2@127.0.0.1:{}", free_port());
    let advertise = format!("ws://{listen}/ws");
    let serve = Serve::start_at(&listen, &["--redis", &redis, "--advertise-url", &advertise], &[]);
    let j = join_alone(&serve.url, "r", 0.5);
    assert_eq!(j.code, 1, "{}", j.stderr);
    let logs = serve.stop();
    let all = format!("{}{:?}{logs}", j.stderr, j.events);
    assert!(all.contains("cluster registry") && all.contains("redis://***@127.0.0.1"), "{all}");
    assert!(!all.contains("hunter2"), "the Redis password leaked: {all}");
}

#[test]
fn the_browser_page_follows_a_redirect_to_the_rooms_owner() {
    let Some(redis) = Redis::start() else { return };
    let nodes = [node(&redis, &[]), node(&redis, &[])];
    settled(&nodes);
    // A CLI peer places room "web" through node 0; the page is opened on whichever node does
    // not own it, so its join is redirected.
    let holder = join_with(&nodes[0].url, "web", 660, 14.0, &["--no-playback"]);
    let until = Instant::now() + Duration::from_secs(10);
    let owner = loop {
        if let Some(i) = (0..2).find(|&i| rooms(&nodes[i]) > 0) {
            break i;
        }
        assert!(Instant::now() < until, "no node took room web");
        std::thread::sleep(Duration::from_millis(100));
    };
    let other = &nodes[1 - owner];
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let browser = Browser::start().await;
        browser.client.goto(&page(other, "web")).await.expect("open page");
        let log = browser.log_contains("connection connected", Duration::from_secs(15)).await;
        assert!(log.contains("redirected to ws://"), "{log}");
        assert!(log.contains(&format!("signaling connected to {}", nodes[owner].url)), "{log}");
        assert!(log.contains("connection connected"), "{log}");
        browser.stop().await;
    });
    let holder = finish(holder);
    assert_eq!(holder.code, 0, "{}", holder.stderr);
}
