//! `App::check`: every startup check of `App::build`, without building,
//! binding or a runtime, failing with the same error `build` gives.
//!
//! Every route of this file lives under `/check/`; apps list their routes
//! (`App::empty().route(..)`), so the duplicate pair below only meets in
//! the test about it.

use serde::Deserialize;
use wirehub::prelude::*;
use wirehub::{Error, RouteError};

#[ws_route("/check/dup/{a}")]
async fn dup_first(text: String) -> String {
    text
}

#[ws_route("/check/dup/{b}")]
async fn dup_second(text: String) -> String {
    text
}

struct Db;

#[ws_route("/check/state")]
async fn needs_db(_db: State<Db>, text: String) -> String {
    text
}

#[derive(Deserialize)]
struct Item {
    #[allow(dead_code)]
    shop: String,
    #[allow(dead_code)]
    item: u32,
}

#[ws_route("/check/shops/{shop}/{id}")]
async fn item(Path(_item): Path<Item>, text: String) -> String {
    text
}

#[ws_route("/check/paged")]
async fn paged(text: String) -> String {
    text
}

/// `check`'s error, and that `build` fails with the same one.
async fn both_fail(app: impl Fn() -> App) -> Error {
    let checked = app().check().expect_err("check fails");
    let built = match tokio::time::timeout(std::time::Duration::from_secs(10), app().build()).await {
        Ok(Ok(_)) => panic!("build succeeded where check failed with: {checked}"),
        Ok(Err(e)) => e,
        Err(_) => panic!("build did not finish"),
    };
    assert_eq!(checked.to_string(), built.to_string());
    checked
}

#[test]
fn a_valid_app_passes_without_a_runtime() {
    let app = App::empty().route("/check/state").state(Db).route("/check/paged").page("/check/other", "text/plain", "");
    app.check().expect("valid");
    // Checking changes nothing: the same app still builds (see the tests below) and checks again.
    app.check().expect("still valid");
}

#[tokio::test]
async fn an_unknown_route() {
    let err = both_fail(|| App::empty().route("/check/nope")).await;
    assert!(
        matches!(&err, Error::UnknownRoute { path, linked } if path == "/check/nope" && linked.contains(&"/check/paged"))
    );
}

#[tokio::test]
async fn two_handlers_on_one_pattern() {
    let err = both_fail(|| App::empty().route("/check/dup/{a}").route("/check/dup/{b}")).await;
    match &err {
        Error::DuplicateRoute { first, second, first_at, second_at, .. } => {
            let mut names = [*first, *second];
            names.sort_unstable();
            assert_eq!(names, ["dup_first", "dup_second"]);
            assert!(first_at.contains("app_check.rs:") && second_at.contains("app_check.rs:"), "{err}");
        }
        other => panic!("expected DuplicateRoute, got {other}"),
    }
}

#[tokio::test]
async fn a_state_never_registered() {
    let err = both_fail(|| App::empty().route("/check/state")).await;
    assert!(matches!(&err, Error::Route { handler: "needs_db", reason: RouteError::Extractor(_), .. }), "{err}");
    assert!(err.to_string().contains("no `app_check::Db` was registered"), "{err}");
}

#[tokio::test]
async fn a_path_field_that_is_no_param() {
    let err = both_fail(|| App::empty().route("/check/shops/{shop}/{id}")).await;
    assert!(matches!(&err, Error::Route { handler: "item", .. }), "{err}");
    assert!(err.to_string().contains("has a field `item`"), "{err}");
}

#[tokio::test]
async fn a_page_on_a_route_path() {
    let err = both_fail(|| App::empty().route("/check/paged").page("/check/paged", "text/plain", "hi")).await;
    assert!(matches!(&err, Error::Route { reason: RouteError::HiddenByPage { .. }, .. }), "{err}");
}

#[tokio::test]
async fn a_builtin_page_on_a_route_path() {
    let health = || App::empty().route("/check/paged").config(|c| c.health_path = Some("/check/paged".into()));
    assert!(both_fail(health).await.to_string().contains("would hide"));
    let metrics = || App::empty().route("/check/paged").config(|c| c.metrics_path = Some("/check/paged".into()));
    assert!(both_fail(metrics).await.to_string().contains("would hide"));
    // Without metrics, there is no metrics page to hide the route.
    let app = App::empty().route("/check/paged").config(|c| {
        c.metrics_path = Some("/check/paged".into());
        c.metrics = false;
    });
    app.check().expect("no metrics page");
}

#[tokio::test]
async fn builtin_pages_on_their_own_address_hide_nothing_and_check_binds_nothing() {
    // TEST-NET-1: no local interface has it, so binding fails.
    let app = || {
        App::empty().route("/check/paged").config(|c| {
            c.health_path = Some("/check/paged".into());
            c.metrics_addr = Some("192.0.2.1:9".into());
        })
    };
    app().check().expect("the pages are on the metrics address; check binds nothing");
    let built = tokio::time::timeout(std::time::Duration::from_secs(10), app().build()).await.expect("finishes");
    assert!(matches!(built, Err(Error::Bind { .. })), "build binds the metrics address: {built:?}");
}
