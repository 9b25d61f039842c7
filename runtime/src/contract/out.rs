//! [`Out<O>`]: the typed sending side of a route with `sends = O`.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::spec::short;
use crate::connection::{Conn, SendError};
use crate::correlation::RequestError;
use crate::extract::Json;
use crate::extract::{CallCx, CheckCx, CheckError, Extract, FromConn, Rejection};
use crate::hub::Position;

/// The connection, sending only `O`: the route's `sends` type. A handler or
/// hook takes it as `out: Out<ChatOut>`; another `O` than the route's is a
/// compile error (and, behind a type alias, an error when the app starts).
/// [`Out::conn`] is the untyped connection, for saying so.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use wirehub::contract::Out;
/// use wirehub::prelude::*;
///
/// #[derive(Deserialize)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// enum In { Say { text: String } }
///
/// #[derive(Serialize)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// enum Event { Said { text: String }, Welcome { you: ConnId } }
///
/// #[ws_route("/room/{name}", broadcast = "room:{name}", receives = In, sends = Event, on_open = hello)]
/// async fn room(out: Out<Event>, msg: In) {
///     let In::Say { text } = msg;
///     out.to_room(Event::Said { text }); // the route's room, typed
/// }
///
/// async fn hello(out: Out<Event>) {
///     let _ = out.send(Event::Welcome { you: out.conn().id() }).await;
/// }
/// ```
pub struct Out<O> {
    conn: Conn,
    _sends: PhantomData<fn(O)>,
}

impl<O> Clone for Out<O> {
    fn clone(&self) -> Self {
        Out { conn: self.conn.clone(), _sends: PhantomData }
    }
}

impl<O> std::fmt::Debug for Out<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Out").field("conn", &self.conn.id()).field("sends", &short(std::any::type_name::<O>())).finish()
    }
}

impl<O: Serialize + 'static> FromConn for Out<O> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        let wanted = short(std::any::type_name::<O>());
        match cx.sends.map(|spec| spec()) {
            Some(spec) if spec.type_id == std::any::TypeId::of::<O>() => Ok(()),
            Some(spec) => Err(CheckError::other(format!(
                "it takes `Out<{wanted}>` but the route sends `{}`: take `Out<{}>`",
                spec.short_name(),
                spec.short_name()
            ))),
            None => Err(CheckError::other(format!(
                "it takes `Out<{wanted}>` but the route declares no `sends` type: add `sends = {wanted}` to `#[ws_route]`"
            ))),
        }
    }

    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        Ok(Out { conn: conn.clone(), _sends: PhantomData })
    }
}

impl<O: Serialize + 'static> Extract for Out<O> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        <Self as FromConn>::check(cx)
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        <Self as FromConn>::from_conn(cx.conn())
    }
}

impl<O: Serialize> Out<O> {
    /// The connection, untyped: its sends take any message.
    ///
    /// ```no_run
    /// # fn f(out: wirehub::contract::Out<u8>) {
    /// println!("connection {}", out.conn().id());
    /// # }
    /// ```
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// Sends `message` to this connection, waiting while its queue is full
    /// (as [`Conn::send`]).
    ///
    /// ```no_run
    /// # async fn f(out: wirehub::contract::Out<String>) -> Result<(), wirehub::SendError> {
    /// out.send("hello".to_owned()).await?; // a JSON string: the route sends `String`
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Conn::send`].
    pub async fn send(&self, message: impl Borrow<O>) -> Result<(), SendError> {
        self.conn.send(Json(message.borrow())).await
    }

    /// Queues `message` without waiting (as [`Conn::try_send`]).
    ///
    /// ```no_run
    /// # fn f(out: wirehub::contract::Out<String>) {
    /// let _ = out.try_send("tick".to_owned());
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Conn::try_send`].
    pub fn try_send(&self, message: impl Borrow<O>) -> Result<(), SendError> {
        self.conn.try_send(Json(message.borrow()))
    }

    /// Sends `message` to every member of the route's room (the sender
    /// included) and returns how many queued it; 0 on a route without
    /// `broadcast`.
    ///
    /// ```no_run
    /// # fn f(out: wirehub::contract::Out<String>) {
    /// let reached = out.to_room("hi all".to_owned());
    /// # let _ = reached;
    /// # }
    /// ```
    pub fn to_room(&self, message: impl Borrow<O>) -> usize {
        self.conn.room().map_or(0, |room| self.conn.hub().broadcast(room, Json(message.borrow())))
    }

    /// Sends to the route's room the message `make` builds from its
    /// position, and returns that position (as [`Hub::publish`](crate::Hub::publish),
    /// whose rules apply); `None` on a route without `broadcast` (`make`
    /// does not run) or without `history`.
    ///
    /// ```no_run
    /// # fn f(out: wirehub::contract::Out<(String, Option<wirehub::Position>)>) {
    /// let pos = out.publish(|pos| ("hi".to_owned(), pos));
    /// # let _ = pos;
    /// # }
    /// ```
    pub fn publish(&self, make: impl FnOnce(Option<Position>) -> O) -> Option<Position> {
        let room = self.conn.room()?;
        self.conn.hub().publish(room, |pos| Json(make(pos)))
    }

    /// Sends `message` as a request and awaits the client's answer (as
    /// [`Conn::request`]).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// #[derive(serde::Deserialize)]
    /// struct Answer { ok: bool }
    /// # async fn f(out: wirehub::contract::Out<serde_json::Value>) -> Result<(), wirehub::contract::RequestError> {
    /// let answer: Answer = out.request(serde_json::json!({"type": "confirm"}), Duration::from_secs(5)).await?;
    /// # let _ = answer.ok;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Conn::request`].
    pub async fn request<R: DeserializeOwned>(
        &self,
        message: impl Borrow<O>,
        timeout: Duration,
    ) -> Result<R, RequestError> {
        self.conn.request(message.borrow(), timeout).await
    }
}
