//! A handler's errors: what each one asks for ([`HandlerError::on_error`]:
//! close, or answer the sender and stay open), the ready error types
//! ([`ErrorReply`], [`Close`]), and the JSON body error answers carry
//! ([`ErrorInfo`], formatted once per app by `App::error_body`).
//!
//! Invariant: every error answer a peer gets, from a handler's `Err` or an
//! extractor's refusal (`Json<T>` that does not parse), goes through the one
//! formatter the app holds (`ErrorBody`, in the connection's `Env`).

use std::borrow::Cow;
use std::error::Error as StdError;
use std::sync::Arc;

use crate::close::CloseCode;
use crate::message::{IntoMessage, Message};

/// What becomes of a handler's error: the answer of
/// [`HandlerError::on_error`], and the app-wide default for errors that do
/// not say ([`Config::on_error`](crate::Config::on_error)).
///
/// ```
/// use wirehub::reply::OnError;
/// use wirehub::CloseCode;
///
/// let app = wirehub::App::new().config(|c| c.on_error = OnError::reply());
/// assert_eq!(OnError::default(), OnError::Close(CloseCode::Error));
/// # drop(app);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnError {
    /// Close the connection with this code; the error's text is the reason
    /// (cut to 123 bytes). Counted as `action="close"`.
    Close(CloseCode),
    /// Answer the sender only with the app's error body (the error's text,
    /// and this machine-readable code if any) and keep the connection open.
    /// Counted as `action="reply"`.
    Reply {
        /// The `code` the error body carries (see [`ErrorInfo::code`]).
        code: Option<Cow<'static, str>>,
    },
}

impl OnError {
    /// Answer the sender with the error and stay open, without a code.
    ///
    /// ```
    /// assert_eq!(wirehub::reply::OnError::reply(), wirehub::reply::OnError::Reply { code: None });
    /// ```
    pub const fn reply() -> Self {
        OnError::Reply { code: None }
    }
}

impl Default for OnError {
    /// Close with 1011 (internal error), as wirehub always did.
    fn default() -> Self {
        OnError::Close(CloseCode::Error)
    }
}

/// An error a handler can return in `Err`.
///
/// Implement it for your error type: an empty `impl` follows the app's
/// [`Config::on_error`](crate::Config::on_error) (close with 1011 and the
/// error's `Display` text as the reason, unless the app changed it); override
/// [`on_error`](HandlerError::on_error) to decide per error.
///
/// ```
/// use wirehub::reply::OnError;
/// use wirehub::{CloseCode, HandlerError};
///
/// #[derive(Debug)]
/// enum ChatError { BadCommand, Banned }
///
/// impl std::fmt::Display for ChatError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str(match self { ChatError::BadCommand => "unknown command", ChatError::Banned => "banned" })
///     }
/// }
///
/// impl HandlerError for ChatError {
///     fn on_error(&self) -> Option<OnError> {
///         Some(match self {
///             ChatError::BadCommand => OnError::Reply { code: Some("bad_command".into()) },
///             ChatError::Banned => OnError::Close(CloseCode::Policy),
///         })
///     }
/// }
/// assert_eq!(ChatError::Banned.on_error(), Some(OnError::Close(CloseCode::Policy)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's error type",
    label = "does not implement `wirehub::HandlerError`",
    note = "add `impl wirehub::HandlerError for {Self} {{}}` (it needs `Display`), or return `wirehub::ErrorReply` \
            (answers the sender, stays open) or `wirehub::Close` (closes)"
)]
pub trait HandlerError: std::fmt::Display {
    /// What to do with this error. `None`, the default: the app's
    /// [`Config::on_error`](crate::Config::on_error).
    fn on_error(&self) -> Option<OnError> {
        None
    }
}

impl HandlerError for String {}
impl HandlerError for &'static str {}
impl HandlerError for std::io::Error {}
impl HandlerError for serde_json::Error {}
impl HandlerError for std::fmt::Error {}

/// A boxed error keeps the choice of the [`ErrorReply`] or [`Close`] it holds
/// (so `Err(ErrorReply::new(..))?` works in a handler returning this type).
impl HandlerError for Box<dyn StdError + Send + Sync> {
    fn on_error(&self) -> Option<OnError> {
        chosen(&**self)
    }
}

/// Feature `anyhow`. Like a boxed error, it keeps the choice of the
/// [`ErrorReply`] or [`Close`] it holds.
///
/// ```
/// use wirehub::prelude::*;
///
/// #[ws_route("/numbers")]
/// async fn numbers(text: String) -> anyhow::Result<String> {
///     let n: u32 = text.parse()?; // not a number: the app's `on_error` (close with 1011 by default)
///     anyhow::ensure!(n > 0, wirehub::ErrorReply::new("zero")); // answered, the connection stays open
///     Ok((n * 2).to_string())
/// }
/// ```
#[cfg(feature = "anyhow")]
impl HandlerError for anyhow::Error {
    fn on_error(&self) -> Option<OnError> {
        chosen(self.as_ref())
    }
}

/// The choice of an [`ErrorReply`] or [`Close`] behind a type-erased error.
fn chosen(error: &(dyn StdError + 'static)) -> Option<OnError> {
    if let Some(reply) = error.downcast_ref::<ErrorReply>() {
        return reply.on_error();
    }
    error.downcast_ref::<Close>().and_then(Close::on_error)
}

/// An error answered to the sender only; the connection stays open. Its
/// text (and code, if any) go into the app's error body
/// (`{"type":"error","error":"<text>"}` by default, `"code"` added when set).
///
/// ```
/// use wirehub::prelude::*;
/// use wirehub::ErrorReply;
///
/// #[ws_route("/rooms/{room}", broadcast = "room:{room}")]
/// async fn say(text: String) -> Result<String, ErrorReply> {
///     if text.trim().is_empty() {
///         // Only the sender reads this; the room hears nothing.
///         return Err(ErrorReply::new("empty message").with_code("empty"));
///     }
///     Ok(text)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    message: String,
    code: Option<Cow<'static, str>>,
}

impl ErrorReply {
    /// An error answer with this text.
    ///
    /// ```
    /// assert_eq!(wirehub::ErrorReply::new("no such room").message(), "no such room");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        ErrorReply { message: message.into(), code: None }
    }

    /// Adds a machine-readable code (`"not_found"`), for clients that branch on it.
    ///
    /// ```
    /// let e = wirehub::ErrorReply::new("no such room").with_code("not_found");
    /// assert_eq!(e.code(), Some("not_found"));
    /// ```
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The text.
    ///
    /// ```
    /// assert_eq!(wirehub::ErrorReply::new("x").to_string(), "x");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The code, if one was set.
    ///
    /// ```
    /// assert_eq!(wirehub::ErrorReply::new("x").code(), None);
    /// ```
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

impl std::fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for ErrorReply {}

impl HandlerError for ErrorReply {
    fn on_error(&self) -> Option<OnError> {
        Some(OnError::Reply { code: self.code.clone() })
    }
}

/// An error that closes the connection with a chosen code and reason.
///
/// ```
/// use wirehub::{Close, CloseCode};
///
/// let e = Close::new(CloseCode::Policy, "banned");
/// assert_eq!((e.code, e.reason.as_str()), (CloseCode::Policy, "banned"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The close code.
    pub code: CloseCode,
    /// The reason (cut to 123 bytes on the wire).
    pub reason: String,
}

impl Close {
    /// A close with this code and reason.
    ///
    /// ```
    /// let e = wirehub::Close::new(wirehub::CloseCode::Other(4001), "go away");
    /// assert_eq!(e.to_string(), "go away");
    /// ```
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        Close { code, reason: reason.into() }
    }
}

impl std::fmt::Display for Close {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl StdError for Close {}

impl HandlerError for Close {
    fn on_error(&self) -> Option<OnError> {
        Some(OnError::Close(self.code))
    }
}

/// An error about to be answered to a peer, as the app's error body
/// formatter ([`App::error_body`](crate::App::error_body)) sees it.
///
/// ```
/// use wirehub::reply::ErrorInfo;
///
/// let app = wirehub::App::new().error_body(|e: &ErrorInfo<'_>| {
///     wirehub::Json(serde_json::json!({ "event": "error", "reason": e.message, "code": e.code }))
/// });
/// # drop(app);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorInfo<'a> {
    /// The error's text (its `Display`).
    pub message: &'a str,
    /// Its machine-readable code, if it has one ([`ErrorReply::with_code`],
    /// [`OnError::Reply`]).
    pub code: Option<&'a str>,
    /// Who answers: a handler's `Err`, or an extractor refusing the message.
    pub source: ErrorSource,
}

/// Where an error answer comes from.
///
/// ```
/// use wirehub::reply::{ErrorInfo, ErrorSource};
///
/// fn body(e: &ErrorInfo<'_>) -> String {
///     match e.source {
///         ErrorSource::Extractor => format!("bad request: {}", e.message),
///         _ => e.message.to_owned(),
///     }
/// }
/// # let _ = body;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorSource {
    /// The handler returned `Err` and its error answers (see [`OnError::Reply`]).
    Handler,
    /// An argument refused the message before the handler ran (a
    /// `Json<T>` that does not parse).
    Extractor,
}

impl ErrorInfo<'_> {
    /// wirehub's own body: `{"type":"error","error":"<message>"}`, with
    /// `"code":"<code>"` added when there is one.
    ///
    /// ```
    /// # fn f(e: &wirehub::reply::ErrorInfo<'_>) {
    /// let body = e.default_body(); // a fallback for a custom formatter
    /// # drop(body);
    /// # }
    /// ```
    pub fn default_body(&self) -> Message {
        let body = match self.code {
            Some(code) => serde_json::json!({ "type": "error", "error": self.message, "code": code }),
            None => serde_json::json!({ "type": "error", "error": self.message }),
        };
        Message::text(body.to_string())
    }
}

type Format = dyn Fn(&ErrorInfo<'_>) -> Message + Send + Sync;

/// The app's error body formatter, set once (`App::error_body`) and held by
/// every connection's `Env`.
#[derive(Clone)]
pub(crate) struct ErrorBody(Option<Arc<Format>>);

impl ErrorBody {
    /// A formatter of the app's own. A body that fails to serialize is
    /// logged, and the default body goes instead.
    pub(crate) fn custom<M: IntoMessage>(format: impl Fn(&ErrorInfo<'_>) -> M + Send + Sync + 'static) -> Self {
        ErrorBody(Some(Arc::new(move |info: &ErrorInfo<'_>| {
            format(info).into_message().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the app's error body does not serialize; sending the default body");
                info.default_body()
            })
        })))
    }

    /// The body answering this error.
    pub(crate) fn render(&self, info: &ErrorInfo<'_>) -> Message {
        match &self.0 {
            Some(format) => format(info),
            None => info.default_body(),
        }
    }
}

impl Default for ErrorBody {
    /// `{"type":"error","error":...}` ([`ErrorInfo::default_body`]).
    fn default() -> Self {
        ErrorBody(None)
    }
}

impl std::fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "ErrorBody(custom)" } else { "ErrorBody(default)" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(message: &str, code: Option<&'static str>) -> serde_json::Value {
        let info = ErrorInfo { message, code, source: ErrorSource::Handler };
        let text = ErrorBody::default().render(&info).as_text().map(str::to_owned).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    #[test]
    fn the_default_body_is_unchanged_and_gains_a_code_only_when_set() {
        use serde_json::json;
        assert_eq!(body("bad \"input\"", None), json!({"type": "error", "error": "bad \"input\""}));
        assert_eq!(body("gone", Some("not_found")), json!({"type": "error", "error": "gone", "code": "not_found"}));
    }

    #[test]
    fn boxed_errors_keep_the_choice_of_what_they_hold() {
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(ErrorReply::new("no").with_code("c"));
        assert_eq!(boxed.on_error(), Some(OnError::Reply { code: Some("c".into()) }));
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(Close::new(CloseCode::Policy, "out"));
        assert_eq!(boxed.on_error(), Some(OnError::Close(CloseCode::Policy)));
        let boxed: Box<dyn StdError + Send + Sync> = "plain".into();
        assert_eq!(boxed.on_error(), None);
    }
}
