//! Extractors are recognised by type, not by name: aliases and renamed
//! imports of wirehub's `Path` are checked like `Path`, and a user's own
//! types named `Path` or `Auth` are just extractors.

use std::collections::HashMap;

use wirehub::prelude::*;
use wirehub::Path as Params;

mod mine {
    use wirehub::extract::{CallCx, Extract, Rejection};

    /// Not wirehub's `Path`: any number of values, from anywhere.
    pub struct Path<T>(pub T);

    impl Extract for Path<(u32, u32, u32)> {
        fn extract(_cx: &CallCx<'_>) -> Result<Self, Rejection> {
            Ok(Path((1, 2, 3)))
        }
    }

    /// Not wirehub's `Auth`: needs no validator.
    pub struct Auth<T>(pub T);

    impl Extract for Auth<String> {
        fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
            Ok(Auth(cx.conn().id().to_string()))
        }
    }
}

type RoomAndId = (String, u32);

#[ws_route("/types/alias/{room}/{id}")]
async fn alias(Path((room, id)): Path<RoomAndId>) {
    let _ = (room, id);
}

#[ws_route("/types/renamed/{room}/{id}")]
async fn renamed(Params((room, id)): Params<(String, u32)>) {
    let _ = (room, id);
}

#[ws_route("/types/array/{x}/{y}")]
async fn array(Path([x, y]): Path<[u32; 2]>) {
    let _ = x + y;
}

#[ws_route("/types/own-path/{one}")]
async fn own_path(mine::Path((a, b, c)): mine::Path<(u32, u32, u32)>) {
    let _ = a + b + c;
}

#[ws_route("/types/own-auth")]
async fn own_auth(mine::Auth(who): mine::Auth<String>) {
    let _ = who;
}

#[ws_route("/types/query-map")]
async fn query_map(Query(query): Query<HashMap<String, String>>) {
    let _ = query.len();
}

#[ws_route("/types/query-pairs")]
async fn query_pairs(Query(pairs): Query<Vec<(String, String)>>) {
    let _ = pairs.len();
}

// A raw identifier as the handler's name.
#[ws_route("/types/raw-name")]
async fn r#type(text: String) -> String {
    text
}

fn main() {}
