//! Two handlers claiming the same path pattern (differing only in the param
//! name) stop the app from starting, with an error naming both.
//!
//! Every route of this file lives under `/dup/`.

mod common;

use wirehub::prelude::*;

#[ws_route("/dup/{a}")]
async fn dup_first_handler(text: String) -> String {
    text
}

#[ws_route("/dup/{b}")]
async fn dup_second_handler(text: String) -> String {
    text
}

/// The 1-based line of the first line of this file containing `needle`.
fn line_of(needle: &str) -> usize {
    let source = include_str!("duplicate_route.rs");
    source.lines().position(|l| l.contains(needle)).map(|i| i + 1).expect("needle in source")
}

#[tokio::test]
async fn same_pattern_twice_is_a_duplicate_route_error() {
    let started = common::within(App::new().routes(|p| p.starts_with("/dup/")).bind("127.0.0.1:0").start()).await;
    let err = match started {
        Ok(server) => panic!("the app started on {} despite two handlers for /dup/{{..}}", server.local_addr()),
        Err(e) => e,
    };
    let text = err.to_string();
    match &err {
        wirehub::Error::DuplicateRoute { path, first, first_at, second, second_at } => {
            assert!(*path == "/dup/{a}" || *path == "/dup/{b}", "path: {path}");
            let mut names = [*first, *second];
            names.sort_unstable();
            assert_eq!(names, ["dup_first_handler", "dup_second_handler"]);
            let at_of = |name: &str| if *first == name { first_at.clone() } else { second_at.clone() };
            let a_line = line_of(&["#[ws_route(\"/dup/", "{a}\")]"].concat());
            let b_line = line_of(&["#[ws_route(\"/dup/", "{b}\")]"].concat());
            let a_at = at_of("dup_first_handler");
            let b_at = at_of("dup_second_handler");
            assert!(a_at.ends_with(&format!("duplicate_route.rs:{a_line}")), "{a_at} (expected line {a_line})");
            assert!(b_at.ends_with(&format!("duplicate_route.rs:{b_line}")), "{b_at} (expected line {b_line})");
        }
        other => panic!("expected Error::DuplicateRoute, got {other:?}"),
    }
    for needle in ["dup_first_handler", "dup_second_handler"] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    assert_eq!(text.matches("duplicate_route.rs:").count(), 2, "two file:line locations in: {text}");
}

#[ws_route("/pagedup/healthz")]
async fn pagedup_health(text: String) -> String {
    text
}

/// A page (here the health endpoint, moved onto a route's path) answers
/// before the router, so it would hide the route: the app refuses to start
/// and names the handler.
#[tokio::test]
async fn a_page_on_a_route_path_is_refused() {
    let app = App::new()
        .routes(|p| p.starts_with("/pagedup/"))
        .bind("127.0.0.1:0")
        .config(|c| c.health_path = Some("/pagedup/healthz".to_owned()));
    let err = match common::within(app.start()).await {
        Ok(server) => panic!("started on {} with a page hiding a route", server.local_addr()),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(matches!(err, wirehub::Error::Route { path: "/pagedup/healthz", .. }), "{err:?}");
    assert!(text.contains("pagedup_health") && text.contains("would hide"), "{text}");
}

#[ws_route("/pagevar/{name}")]
async fn pagevar_named(text: String) -> String {
    text
}

/// A page on a path that a `{param}` route also matches hides only that one
/// value of the param, not the route: the app starts, and serves both.
#[tokio::test]
async fn a_page_under_a_param_route_is_allowed() {
    let app = App::new()
        .routes(|p| p.starts_with("/pagevar/"))
        .bind("127.0.0.1:0")
        .config(|c| c.health_path = Some("/pagevar/healthz".to_owned()));
    let server = common::within(app.start()).await.expect("starts");
    let addr = server.local_addr();
    assert_eq!(common::http_status(addr, &common::get("/pagevar/healthz")).await, 200);
    let mut ws = common::connect(addr, "/pagevar/ann").await;
    common::send(&mut ws, "hi").await;
    assert_eq!(common::recv_text(&mut ws).await, "hi");
}
