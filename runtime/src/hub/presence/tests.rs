//! The presence state's bookkeeping: identities deduplicated across
//! connections and instances, batches, the limit, leases.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::state::Batch;
use super::{Presence, PresenceDelta, Tracking};
use crate::hub::id::ConnId;

fn presence(limit: usize) -> Presence {
    Presence::new(Tracking { interval: Duration::from_millis(10), limit })
}

fn id(n: u64) -> ConnId {
    ConnId::from_u64(n)
}

fn key(k: &str) -> Arc<str> {
    Arc::from(k)
}

/// A batch where every member is open.
fn batch(p: &mut Presence) -> Batch {
    p.batch("r", |_| Some(false))
}

fn parsed(message: &Option<tokio_tungstenite::tungstenite::Message>) -> Value {
    let text = message.as_ref().and_then(|m| m.to_text().ok()).unwrap_or("null");
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[test]
fn two_connections_of_one_identity_join_once_and_leave_with_the_last() {
    let mut p = presence(100);
    assert!(p.admit(id(1), key("ada"), false), "the first change schedules a batch");
    batch(&mut p);
    assert!(p.admit(id(2), key("ada"), false));
    let second = batch(&mut p);
    assert_eq!(second.diff, None, "a second tab is no join");
    assert_eq!(second.fresh, vec![id(2)], "but it gets the state");
    assert_eq!(
        parsed(&second.state),
        json!({"type": "presence_state", "room": "r", "count": 1, "members": {"ada": null}})
    );
    p.remove(id(1));
    assert_eq!(batch(&mut p).diff, None, "one tab left: still present");
    p.remove(id(2));
    let last = batch(&mut p);
    assert_eq!(
        parsed(&last.diff),
        json!({"type": "presence_diff", "room": "r", "count": 0, "joins": {}, "leaves": {"ada": null}, "updates": {}})
    );
    assert_eq!(p.identities(), 0);
}

#[test]
fn a_batch_holds_every_change_and_cancels_what_came_and_went() {
    let mut p = presence(100);
    p.admit(id(1), key("ada"), false);
    batch(&mut p);
    for n in 2..=5 {
        p.admit(id(n), key(&format!("u{n}")), false);
    }
    p.admit(id(9), key("ghost"), false);
    p.remove(id(9));
    p.set_meta(id(1), Arc::from(r#"{"away":true}"#));
    let b = batch(&mut p);
    let diff = parsed(&b.diff);
    assert_eq!(diff["joins"], json!({"u2": null, "u3": null, "u4": null, "u5": null}), "{diff}");
    assert_eq!((&diff["leaves"], &diff["updates"]), (&json!({}), &json!({"ada": {"away": true}})), "{diff}");
    assert_eq!(diff["count"], 5);
    assert_eq!(b.fresh, vec![id(2), id(3), id(4), id(5)], "the one that came and went gets nothing");
}

#[test]
fn a_member_is_listed_once_its_on_open_returned_with_the_meta_it_set_there() {
    let mut p = presence(100);
    p.admit(id(1), key("ada"), true);
    p.set_meta(id(1), Arc::from(r#"{"name":"Ada"}"#));
    let b = p.batch("r", |_| Some(true));
    assert!(b.again && b.diff.is_none() && b.state.is_none() && p.identities() == 0, "still opening: {b:?}");
    let b = batch(&mut p);
    assert_eq!(parsed(&b.diff)["joins"], json!({"ada": {"name": "Ada"}}));
    assert_eq!(parsed(&b.state)["members"], json!({"ada": {"name": "Ada"}}));
    assert!(!b.again);
    p.admit(id(2), key("bob"), true);
    let b = p.batch("r", |_| None);
    assert!(b.diff.is_none() && !b.again && p.identities() == 1, "gone before it opened: never listed");
}

#[test]
fn above_the_limit_messages_carry_the_count_only_and_a_state_when_back_under() {
    let mut p = presence(2);
    for n in 1..=3 {
        p.admit(id(n), key(&format!("u{n}")), false);
    }
    let b = batch(&mut p);
    assert_eq!(parsed(&b.state), json!({"type": "presence_state", "room": "r", "count": 3}));
    p.set_meta(id(1), Arc::from("1"));
    assert_eq!(batch(&mut p).diff, None, "unlisted and the count did not change");
    p.admit(id(4), key("u4"), false);
    let b = batch(&mut p);
    assert_eq!(parsed(&b.diff), json!({"type": "presence_diff", "room": "r", "count": 4}));
    p.remove(id(4));
    p.remove(id(3));
    let b = batch(&mut p);
    assert!(b.state_to_all && b.diff.is_none());
    assert_eq!(parsed(&b.state)["members"], json!({"u1": 1, "u2": null}));
}

#[test]
fn identities_span_instances_and_a_silent_instance_expires() {
    let mut p = presence(100);
    let t0 = Instant::now();
    p.admit(id(1), key("ada"), false);
    let b = batch(&mut p);
    assert_eq!(b.outgoing, Some(PresenceDelta { joins: vec![(key("ada"), None)], ..PresenceDelta::default() }));
    let remote = PresenceDelta { joins: vec![(key("ada"), None), (key("bob"), None)], ..PresenceDelta::default() };
    assert!(p.apply_remote(7, remote, t0));
    let diff = parsed(&batch(&mut p).diff);
    assert_eq!((&diff["joins"], &diff["count"]), (&json!({"bob": null}), &json!(2)), "ada was here already");
    p.remove(id(1));
    let b = batch(&mut p);
    assert_eq!(b.diff, None, "ada is still on instance 7");
    assert_eq!(b.outgoing, Some(PresenceDelta { leaves: vec![key("ada")], ..PresenceDelta::default() }));
    let sync = PresenceDelta { sync: true, joins: vec![(key("bob"), None)], ..PresenceDelta::default() };
    p.apply_remote(7, sync, t0);
    assert_eq!(parsed(&batch(&mut p).diff)["leaves"], json!({"ada": null}), "a whole set replaces what was known");
    assert!(!p.expire(t0 + Duration::from_millis(50), Duration::from_millis(100)), "heard lately");
    assert!(p.expire(t0 + Duration::from_millis(150), Duration::from_millis(100)));
    assert_eq!(parsed(&batch(&mut p).diff)["leaves"], json!({"bob": null}), "no ghost");
    assert_eq!(p.identities(), 0);
}

#[test]
fn the_local_sync_lists_local_identities_only() {
    let mut p = presence(100);
    p.admit(id(1), key("ada"), false);
    p.apply_remote(3, PresenceDelta { joins: vec![(key("bob"), None)], ..PresenceDelta::default() }, Instant::now());
    let sync = p.local_sync(true);
    assert!(sync.sync && sync.ask);
    assert_eq!(sync.joins, vec![(key("ada"), None)]);
}
