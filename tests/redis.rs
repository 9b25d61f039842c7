//! Scale-out through the Redis backplane, against a real `redis-server`
//! started by each test on a free port. Without `redis-server` installed the
//! tests print one line and pass, except under CI (`CI` set), where they fail.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::redis::{prefix, RedisServer};
use common::{connect, recv_text, send, user_of, within, Client, User};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wirehub::backplane::Redis;
use wirehub::prelude::*;
use wirehub::Server;

/// Relays texts to the `{room}`; `id` answers the connection id; `to:<id>:<text>`
/// sends to a connection id.
#[ws_route("/r/room/{room}", broadcast = "{room}", queue = 32768)]
async fn room(conn: Conn, text: String) -> Option<String> {
    if text == "id" {
        let _ = conn.send(conn.id().to_string()).await;
        return None;
    }
    if let Some(rest) = text.strip_prefix("to:") {
        let (id, body) = rest.split_once(':')?;
        let _ = conn.send_to(id.parse::<ConnId>().ok()?, body.to_owned());
        return None;
    }
    Some(text)
}

/// Greets each connection once its room is joined (and, with a backplane,
/// subscribed).
#[ws_route("/r/welcome/{room}", broadcast = "w:{room}", on_open = welcome)]
async fn welcome_room(text: String) -> String {
    text
}

async fn welcome(conn: Conn) {
    let _ = conn.send("welcome").await;
}

/// A route whose identity is `?user=`, for presence and sends to an identity.
#[ws_route("/r/user/{room}", auth = user_of, broadcast = "u:{room}")]
async fn user_route(_user: Auth<User>, _text: String) {}

async fn instance(url: &str, prefix: &str) -> Server {
    let backplane = Redis::connect(url).prefix(prefix).presence_ttl(Duration::from_millis(600));
    let app = App::new().routes(|p| p.starts_with("/r/")).backplane(backplane).config(|c| c.heartbeat = None);
    common::spawn(app).await
}

async fn id_of(ws: &mut Client) -> u64 {
    send(ws, "id").await;
    recv_text(ws).await.parse().expect("an id")
}

async fn metrics_text(addr: SocketAddr) -> String {
    let mut tcp = within(TcpStream::connect(addr)).await.expect("connect");
    within(tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await.expect("write");
    let mut body = Vec::new();
    within(tcp.read_to_end(&mut body)).await.expect("read");
    String::from_utf8_lossy(&body).into_owned()
}

async fn backplane_up(addr: SocketAddr) -> bool {
    metrics_text(addr).await.lines().any(|l| l == "wirehub_backplane_up 1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_span_two_instances_and_stay_isolated() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let (a, b) = (instance(&redis.url(), &p).await, instance(&redis.url(), &p).await);
    let mut a1 = connect(a.local_addr(), "/r/room/x").await;
    let mut b1 = connect(b.local_addr(), "/r/room/x").await;
    let mut b2 = connect(b.local_addr(), "/r/room/y").await;
    redis.await_subscribers(&format!("{p}:r:x"), 2).await;
    redis.await_subscribers(&format!("{p}:r:y"), 1).await;

    send(&mut a1, "hello from a").await;
    assert_eq!(recv_text(&mut a1).await, "hello from a", "the sender gets it once, locally");
    assert_eq!(recv_text(&mut b1).await, "hello from a", "the other instance's member gets it");
    send(&mut b2, "marker").await;
    assert_eq!(recv_text(&mut b2).await, "marker", "room y never saw room x's message");
    send(&mut b1, "reply from b").await;
    assert_eq!(recv_text(&mut a1).await, "reply from b");
    assert_eq!(recv_text(&mut b1).await, "reply from b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_from_three_instances_arrive_exactly_once_in_order() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(instance(&redis.url(), &p).await);
    }
    // Two members per instance; the first member of each instance publishes.
    let mut members = Vec::new();
    for server in &servers {
        for _ in 0..2 {
            members.push(connect(server.local_addr(), "/r/room/bulk").await);
        }
    }
    redis.await_subscribers(&format!("{p}:r:bulk"), 3).await;
    let per_publisher = [3334usize, 3333, 3333];
    let total: usize = per_publisher.iter().sum();
    assert_eq!(total, 10_000);

    let mut readers = Vec::new();
    for (i, mut ws) in members.into_iter().enumerate() {
        let publisher = (i % 2 == 0).then_some(i / 2);
        readers.push(tokio::spawn(async move {
            // A publisher sends one message, then reads one: its own copy
            // always comes back, so it never waits on the others.
            let mut sent = 0;
            let mut next = [0usize; 3];
            let mut received = 0;
            while received < total {
                if let Some(me) = publisher {
                    if sent < per_publisher[me] {
                        send(&mut ws, format!("{me}:{sent}")).await;
                        sent += 1;
                    }
                }
                let text = recv_text(&mut ws).await;
                let (from, seq) = text.split_once(':').expect("from:seq");
                let (from, seq): (usize, usize) = (from.parse().expect("from"), seq.parse().expect("seq"));
                assert_eq!(seq, next[from], "publisher {from}: out of order, missing or duplicated");
                next[from] += 1;
                received += 1;
            }
            next
        }));
    }
    for reader in readers {
        let counts = within(reader).await.expect("reader");
        assert_eq!(counts.to_vec(), per_publisher.to_vec());
    }
    for server in &servers {
        let text = metrics_text(server.local_addr()).await;
        assert!(text.contains("wirehub_backplane_dropped_total 0"), "{text}");
    }
}

/// A publisher that never waits (20 000 messages written back to back) is
/// not throttled into drops while Redis is healthy: every message reaches
/// the other instance, once and in order, and nothing is counted as dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaced_burst_reaches_the_other_instance_without_drops() {
    const BURST: usize = 20_000;
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let (a, b) = (instance(&redis.url(), &p).await, instance(&redis.url(), &p).await);
    let sender = connect(a.local_addr(), "/r/room/burst").await;
    let mut receiver = connect(b.local_addr(), "/r/room/burst").await;
    redis.await_subscribers(&format!("{p}:r:burst"), 2).await;

    let (mut sink, mut stream) = sender.split();
    // The sender's own copies come back too: drain them so its socket never stalls.
    let drain = tokio::spawn(async move {
        let mut own = 0;
        while own < BURST {
            match within(stream.next()).await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_))) => own += 1,
                Some(Ok(_)) => {}
                other => panic!("sender's stream ended early: {other:?}"),
            }
        }
    });
    let write = async {
        for i in 0..BURST {
            sink.feed(tokio_tungstenite::tungstenite::Message::text(i.to_string())).await?;
        }
        sink.flush().await
    };
    within(write).await.expect("write the burst");
    for i in 0..BURST {
        assert_eq!(recv_text(&mut receiver).await, i.to_string(), "message {i} missing, duplicated or late");
    }
    within(drain).await.expect("sender drained");
    let metrics = metrics_text(a.local_addr()).await;
    assert!(metrics.lines().any(|l| l == "wirehub_backplane_dropped_total 0"), "no drops:\n{metrics}");
}

/// A room's first member on an instance gets everything other instances
/// publish from the moment its `on_open` runs: the room's subscription is
/// confirmed by Redis before that (no test-side polling of Redis here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_room_member_misses_nothing_sent_after_it_opened() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let (a, b) = (instance(&redis.url(), &p).await, instance(&redis.url(), &p).await);
    for round in 0..20 {
        let path = format!("/r/welcome/fresh{round}");
        let mut a1 = connect(a.local_addr(), &path).await;
        assert_eq!(recv_text(&mut a1).await, "welcome");
        let mut b1 = connect(b.local_addr(), &path).await;
        assert_eq!(recv_text(&mut b1).await, "welcome");
        for i in 0..20 {
            send(&mut a1, format!("m{i}")).await;
        }
        for i in 0..20 {
            assert_eq!(recv_text(&mut b1).await, format!("m{i}"), "round {round}: b1 missed a message");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_to_an_id_and_to_an_identity_reach_other_instances() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let (a, b) = (instance(&redis.url(), &p).await, instance(&redis.url(), &p).await);
    let mut on_a = connect(a.local_addr(), "/r/room/ids").await;
    let mut on_b = connect(b.local_addr(), "/r/room/other").await;
    let id_a = id_of(&mut on_a).await;
    let id_b = id_of(&mut on_b).await;
    assert_ne!(id_a >> 32, id_b >> 32, "ids carry distinct instance numbers");
    redis.await_subscribers(&format!("{p}:c:{}", id_a >> 32), 1).await;
    send(&mut on_b, format!("to:{id_a}:direct")).await;
    assert_eq!(recv_text(&mut on_a).await, "direct");

    // Two tabs of one user on two instances, another user elsewhere.
    let mut tab1 = connect(a.local_addr(), "/r/user/lobby?user=ada").await;
    let mut tab2 = connect(b.local_addr(), "/r/user/lobby?user=ada").await;
    let mut grace = connect(b.local_addr(), "/r/user/lobby?user=grace").await;
    redis.await_subscribers(&format!("{p}:p"), 2).await;
    assert_eq!(a.hub().send_to_principal("ada", "for ada"), 1, "one local tab");
    assert_eq!(recv_text(&mut tab1).await, "for ada");
    assert_eq!(recv_text(&mut tab2).await, "for ada");
    b.hub().send_to_principal("grace", "for grace");
    assert_eq!(recv_text(&mut grace).await, "for grace");
    a.hub().send_to_principal("grace", "again");
    assert_eq!(recv_text(&mut grace).await, "again", "ada's tabs got nothing meant for grace");
}

/// An instance that shuts down cleanly takes its members out of presence at
/// once (long before their entries would expire), and its presence keys
/// carry an expiry, so Redis keeps nothing of a room nobody refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_instance_leaves_presence_at_once_and_keys_expire() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let long_ttl = |url: &str| {
        let backplane = Redis::connect(url).prefix(&p).presence_ttl(Duration::from_secs(60));
        App::new().routes(|path| path.starts_with("/r/")).backplane(backplane).config(|c| c.heartbeat = None)
    };
    let a = common::spawn(long_ttl(&redis.url())).await;
    let b = common::spawn(long_ttl(&redis.url())).await;
    let _ada = connect(a.local_addr(), "/r/user/gone?user=ada").await;
    let _bob = connect(b.local_addr(), "/r/user/gone?user=bob").await;
    let hub = a.hub().clone();
    eventually_async(|| {
        let hub = hub.clone();
        async move { hub.presence_all("u:gone").await.len() == 2 }
    })
    .await;
    let key = format!("{p}:presence:u:gone");
    let ttl: i64 = redis.command(&["PTTL", &key]).await.trim().trim_start_matches(':').parse().expect("PTTL reply");
    assert!(ttl > 60_000 && ttl <= 120_000, "presence key expires two TTLs after its last refresh: {ttl} ms");

    within(b.shutdown()).await.expect("b stops");
    // Once `shutdown` returned, its presence removals are in Redis.
    let members = hub.presence_all("u:gone").await;
    assert_eq!(members.len(), 1, "bob left presence when b stopped, not after the 60 s TTL: {members:?}");
    assert_eq!(members[0].principal.as_deref(), Some("ada"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_spans_instances_and_a_killed_instance_expires() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let a = instance(&redis.url(), &p).await;
    let _ada = connect(a.local_addr(), "/r/user/pres?user=ada").await;

    // The other instance is a separate process, so it can be killed outright.
    let port = common::free_port();
    let mut other = Command::new(common::example_binary("chat"))
        .env("PORT", port.to_string())
        .env("WIREHUB_REDIS_URL", redis.url())
        .env("WIREHUB_REDIS_PREFIX", &p)
        .env("WIREHUB_REDIS_PRESENCE_TTL_MS", "600")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the chat example");
    let other_addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    within(async {
        while TcpStream::connect(other_addr).await.is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let _bob = connect(other_addr, "/chat/pres").await; // the chat example's room is `chat:{room}`
    let key = "chat:pres";
    let hub = a.hub().clone();
    eventually_async(|| {
        let hub = hub.clone();
        async move { hub.presence_all(key).await.len() == 1 }
    })
    .await;
    let members = hub.presence_all("u:pres").await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].principal.as_deref(), Some("ada"));

    let _ = other.kill();
    let _ = other.wait();
    // Its member was never removed, but its refreshes stopped: it expires.
    let started = tokio::time::Instant::now();
    eventually_async(|| {
        let hub = hub.clone();
        async move { hub.presence_all(key).await.is_empty() }
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(3), "expired within the TTL bound");
    assert_eq!(hub.presence_all("u:pres").await.len(), 1, "the live instance's member stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_keeps_local_delivery_and_resumes_without_duplicates() {
    let Some(mut redis) = RedisServer::start_restartable().await else { return };
    let port = redis.port();
    let p = prefix();
    let (a, b) = (instance(&redis.url(), &p).await, instance(&redis.url(), &p).await);
    let mut a1 = connect(a.local_addr(), "/r/room/r").await;
    let mut a2 = connect(a.local_addr(), "/r/room/r").await;
    let mut b1 = connect(b.local_addr(), "/r/room/r").await;
    redis.await_subscribers(&format!("{p}:r:r"), 2).await;
    send(&mut a1, "before").await;
    for ws in [&mut a1, &mut a2, &mut b1] {
        assert_eq!(recv_text(ws).await, "before");
    }

    redis.kill();
    eventually_async(|| async { !backplane_up(a.local_addr()).await }).await;
    // Redis is down: members on the same instance still talk.
    send(&mut a1, "local only").await;
    assert_eq!(recv_text(&mut a1).await, "local only");
    assert_eq!(recv_text(&mut a2).await, "local only");

    let redis = RedisServer::start_on(port).await.expect("restart redis");
    eventually_async(|| async { backplane_up(a.local_addr()).await && backplane_up(b.local_addr()).await }).await;
    redis.await_subscribers(&format!("{p}:r:r"), 2).await;
    let reconnects = metrics_text(a.local_addr()).await;
    assert!(reconnects.lines().any(|l| l.starts_with("wirehub_backplane_reconnects_total") && !l.ends_with(" 0")));

    for i in 0..20 {
        send(&mut a1, format!("after {i}")).await;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    // b1 may or may not have received "local only" (it was published while
    // Redis was down: dropped, and counted); it must get every "after" once.
    let mut got_after = 0;
    while got_after < 20 {
        let text = recv_text(&mut b1).await;
        if text.starts_with("after") {
            got_after += 1;
        }
        *seen.entry(text).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "nothing twice: {seen:?}");
    for i in 0..20 {
        assert_eq!(recv_text(&mut a2).await, format!("after {i}"));
    }
    drop(redis);
}

/// Like `common::eventually`, for an async condition.
async fn eventually_async<F, Fut>(mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    within(async {
        while !cond().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

// ---------------------------------------------------------------- security

async fn sealed_instance(url: &str, prefix: &str, key: &str) -> Server {
    let backplane = Redis::connect(url).prefix(prefix).shared_key(key).presence_ttl(Duration::from_millis(600));
    let app = App::new().routes(|p| p.starts_with("/r/")).backplane(backplane).config(|c| c.heartbeat = None);
    common::spawn(app).await
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// With a shared key, an envelope published straight to Redis by someone
/// without it (well-formed, but not authenticated) is dropped and counted;
/// the instances' own sealed envelopes still flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_envelope_is_ignored_and_counted() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let key = "a shared key of at least thirty-two bytes";
    let (a, b) = (sealed_instance(&redis.url(), &p, key).await, sealed_instance(&redis.url(), &p, key).await);
    let mut on_a = connect(a.local_addr(), "/r/room/sealed").await;
    let mut on_b = connect(b.local_addr(), "/r/room/sealed").await;
    redis.await_subscribers(&format!("{p}:r:sealed"), 2).await;

    // Version 1, origin "AAAA", no exception, text, no key, then the payload.
    let forged = "\u{1}AAAA\0\0\0\0\0\0\0\0\u{1}\0\0forged";
    let reply = redis.command(&["PUBLISH", &format!("{p}:r:sealed"), forged]).await;
    assert_eq!(reply.trim(), ":2", "both instances received the forgery");
    send(&mut on_a, "legit").await;
    assert_eq!(recv_text(&mut on_a).await, "legit");
    assert_eq!(recv_text(&mut on_b).await, "legit", "the forgery was not delivered before it");
    eventually_async(|| async {
        let (ta, tb) = (metrics_text(a.local_addr()).await, metrics_text(b.local_addr()).await);
        metric(&ta, "wirehub_backplane_rejected_total") == Some(1.0)
            && metric(&tb, "wirehub_backplane_rejected_total") == Some(1.0)
    })
    .await;
}

/// An ACL user is used for both connections, and each instance holds a
/// claim on its number in Redis (a key with an expiry) while it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_connects_and_each_instance_claims_its_number() {
    let Some(redis) = RedisServer::start().await else { return };
    let p = prefix();
    let user = format!("wh-{}", prefix());
    let acl = redis.command(&["ACL", "SETUSER", &user, "on", ">s3cret-pw", "~*", "&*", "+@all"]).await;
    assert!(acl.starts_with("+OK"), "{acl}");
    let url = redis.url();
    let instance = |p: String, user: String| {
        let backplane = Redis::connect(url.clone()).prefix(p).credentials(user, "s3cret-pw");
        common::spawn(App::new().routes(|r| r.starts_with("/r/")).backplane(backplane))
    };
    let (a, b) = (instance(p.clone(), user.clone()).await, instance(p.clone(), user.clone()).await);
    let mut on_a = connect(a.local_addr(), "/r/room/acl").await;
    let mut on_b = connect(b.local_addr(), "/r/room/acl").await;
    redis.await_subscribers(&format!("{p}:r:acl"), 2).await;
    send(&mut on_a, "as an acl user").await;
    assert_eq!(recv_text(&mut on_a).await, "as an acl user");
    assert_eq!(recv_text(&mut on_b).await, "as an acl user");
    let clients = redis.command(&["CLIENT", "LIST"]).await;
    assert!(clients.matches(&format!("user={user} ")).count() >= 4, "{clients}");

    let (id_a, id_b) = (id_of(&mut on_a).await >> 32, id_of(&mut on_b).await >> 32);
    for id in [id_a, id_b] {
        let ttl = redis.command(&["PTTL", &format!("{p}:instance:{id}")]).await;
        let ttl: i64 = ttl.trim().trim_start_matches(':').parse().expect("a number");
        assert!(ttl > 0, "instance {id} holds an expiring claim: PTTL {ttl}");
    }
    drop((on_a, on_b));
    a.shutdown().await.expect("shutdown");
    let gone = redis.command(&["EXISTS", &format!("{p}:instance:{id_a}")]).await;
    assert_eq!(gone.trim(), ":0", "a clean shutdown gives the number back");
    let debug =
        format!("{:?}", Redis::connect("redis://u:url-pw@h:1").credentials("u", "acl-pw").shared_key("k3y-k3y"));
    assert!(!debug.contains("url-pw") && !debug.contains("acl-pw") && !debug.contains("k3y-k3y"), "{debug}");
}
