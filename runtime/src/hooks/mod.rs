//! `on_open` / `on_close` hooks and `auth` validators: functions whose
//! arguments are extractors, like a handler's.
//!
//! A hook takes what exists without a message ([`FromConn`](crate::extract::FromConn)
//! extractors: `Conn`, `State<T>`, `Path<T>`, `Query<T>`, `Headers`,
//! `Auth<T>`, `Session<T>`; `on_close` also the `CloseReason`); a validator
//! takes `&Handshake` (optional) then what exists before the connection
//! ([`FromHandshake`](crate::extract::FromHandshake): `State<T>`, `Path<T>`,
//! `Query<T>`, `Headers`). The types are checked at compile time by the
//! traits [`OnOpen`], [`OnClose`] and [`Validator`], implemented for every
//! function of extractors; that each `State<T>` is registered and each
//! `Session<T>` made is checked when the app starts, and an error names the
//! hook and the route's file and line.
//!
//! Invariant: an argument that cannot be extracted (it passed the startup
//! check, so this is a bug or a `Session` kept past its call) means the
//! hook is not called, the connection closes with 1011, and an error is
//! logged; a validator's refusal answers the upgrade with its status.

#[doc(hidden)]
pub mod glue;
#[doc(hidden)]
pub mod session;
mod traits;

pub(crate) use glue::Plan;
pub use traits::{OnClose, OnOpen, Validator};

/// What the generated code uses (`wirehub::__private::hooks`).
#[doc(hidden)]
pub mod private {
    pub use super::glue::{
        refuse, validate, AuthGlue, CloseArgsByValue, ConnByValue, FnRef1, FnRef2Both, FnRef2Conn, FnRef2Reason,
        HookGlue, HookProbe, OnCloseBorrowsBoth, OnCloseBorrowsConn, OnCloseBorrowsReason, OnCloseHook,
        OnOpenBorrowsConn, OnOpenHook, Plan,
    };
    pub use super::session::{
        made, MadeByDefault, MadeByOnOpen, MadeProbe, NoSessionDefault, NotASession, NotSessionArg, NothingAsked,
        SessionArg, SessionByDefault, SessionMade,
    };
    pub use super::traits::{FromClose, HandshakeArgs, OnClose, OnOpen, Validator, WithHandshake, WithoutHandshake};
}
