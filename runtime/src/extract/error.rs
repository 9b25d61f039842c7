//! Why an extractor does not fit its route ([`CheckError`], when the app
//! starts) or an upgrade request ([`AdmitError`], before the `101` answer).
//!
//! ```
//! use wirehub::extract::{AdmitError, CheckError};
//!
//! let e = CheckError::MissingState { type_name: "Db" };
//! assert!(e.to_string().contains("no `Db` was registered"));
//! let e = AdmitError::other("token too short");
//! assert_eq!(e.to_string(), "token too short");
//! ```
//!
//! Invariant: the `Display` text is what a person reads (in the startup
//! error, in the 400 body); the parse error an [`AdmitError`] wraps stays
//! reachable through `source()`.

use std::error::Error as StdError;

/// A boxed error from a parser (serde, a user's extractor).
type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a handler's extractor does not fit its route or app, found by
/// [`Extract::check`](super::Extract::check) when the app starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// `State<T>` with no `T` registered through `App::state`.
    #[error("it takes `State<{type_name}>` but no `{type_name}` was registered: call `App::state(value)` first")]
    MissingState {
        /// The name of `T`.
        type_name: &'static str,
    },
    /// A field of `Path<T>`'s struct that is not one of the route's `{param}`s.
    #[error(
        "`Path<{type_name}>` has a field `{field}` but the route's params are {params:?}: rename the field or add a \
         `{{{field}}}` segment"
    )]
    PathFieldNotParam {
        /// The name of `T`.
        type_name: &'static str,
        /// The field with no param of its name.
        field: &'static str,
        /// The route's params.
        params: &'static [&'static str],
    },
    /// `Path<T>` with a single value on a route with zero or several params.
    #[error("`Path<{type_name}>` takes one value but the route has {params} params: use a tuple or a struct")]
    PathNotSingle {
        /// The name of `T`.
        type_name: &'static str,
        /// How many params the route has.
        params: usize,
    },
    /// `Path<T>` of a tuple struct whose field count is not the route's.
    #[error(
        "`Path<{type_name}>` holds {values} values but the route has {params} params: write one field per \
         `{{param}}`, in order"
    )]
    PathArity {
        /// The name of `T`.
        type_name: &'static str,
        /// How many values `T` holds.
        values: usize,
        /// How many params the route has.
        params: usize,
    },
    /// `Query<T>` whose `T` is a single value or a tuple, which a query
    /// string of `key=value` pairs can never fill.
    #[error(
        "`Query<{type_name}>` cannot hold a query string, which is `key=value` pairs: use a struct with one field \
         per query parameter (with `#[derive(Deserialize)]`), or `HashMap<String, String>`"
    )]
    QueryNotMap {
        /// The name of `T`.
        type_name: &'static str,
    },
    /// `Auth<T>` on a route without `auth = validator`.
    #[error("it takes `Auth<T>` but the route has no `auth = validator`")]
    AuthWithoutValidator,
    /// `Session<T>` of a type the route's connections never hold.
    #[error(
        "it takes `Session<{type_name}>` but {}",
        session_fix(*before_open, made)
    )]
    SessionNotMade {
        /// The name of `T`.
        type_name: &'static str,
        /// Asked by an `on_open` hook, before its own value exists.
        before_open: bool,
        /// The session types the route's connections hold.
        made: Vec<&'static str>,
    },
    /// An extractor of a hook or validator does not fit.
    #[error("its `{hook}` function `{function}`: {error}")]
    Hook {
        /// `on_open`, `on_close` or `auth`.
        hook: &'static str,
        /// The function as written in the attribute.
        function: &'static str,
        /// What does not fit.
        #[source]
        error: Box<CheckError>,
    },
    /// A check of an extractor outside wirehub.
    #[error("{0}")]
    Other(BoxError),
}

/// The fix for [`CheckError::SessionNotMade`].
fn session_fix(before_open: bool, made: &[&'static str]) -> String {
    let held = match made {
        [] => "holds none".to_owned(),
        names => format!("holds only {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    };
    match before_open {
        true => format!(
            "the `on_open` hook runs before its own return value exists and the connection {held}: take it in the \
             handler, or derive `Default` for it and take it in the handler"
        ),
        false => format!(
            "the connection {held}: return it from the route's `on_open` hook, or take `Session<T>` of a type with \
             `Default` in the handler"
        ),
    }
}

impl CheckError {
    /// A failed check of your own extractor; its text goes into the startup error.
    pub fn other(error: impl Into<BoxError>) -> Self {
        CheckError::Other(error.into())
    }
}

/// Why an upgrade request does not fit a handler's extractor, found by
/// [`Extract::admit`](super::Extract::admit): the request is answered with
/// `400` and this text, and no connection opens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdmitError {
    /// The `{param}` segments do not deserialize into `Path<T>`.
    #[error("invalid path parameter: {0}")]
    Path(#[source] BoxError),
    /// The query string does not deserialize into `Query<T>`.
    #[error("invalid query: {0}")]
    Query(#[source] BoxError),
    /// A refusal of an extractor outside wirehub.
    #[error("{0}")]
    Other(BoxError),
}

impl AdmitError {
    /// A refusal by your own extractor; its text goes into the 400 body, so
    /// keep secrets out of it.
    pub fn other(error: impl Into<BoxError>) -> Self {
        AdmitError::Other(error.into())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn texts_name_the_problem_and_the_fix() {
        let cases: [(CheckError, &str); 4] = [
            (
                CheckError::MissingState { type_name: "app::Db" },
                "it takes `State<app::Db>` but no `app::Db` was registered: call `App::state(value)` first",
            ),
            (
                CheckError::PathFieldNotParam { type_name: "P", field: "id", params: &["room"] },
                "`Path<P>` has a field `id` but the route's params are [\"room\"]: rename the field or add a `{id}` \
                 segment",
            ),
            (
                CheckError::PathNotSingle { type_name: "u32", params: 2 },
                "`Path<u32>` takes one value but the route has 2 params: use a tuple or a struct",
            ),
            (CheckError::AuthWithoutValidator, "it takes `Auth<T>` but the route has no `auth = validator`"),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn admit_errors_keep_the_parse_error() {
        let parse = "abc".parse::<u32>().expect_err("not a number");
        let error = AdmitError::Path(Box::new(parse.clone()));
        assert_eq!(error.to_string(), format!("invalid path parameter: {parse}"));
        assert_eq!(error.source().map(ToString::to_string), Some(parse.to_string()));
        assert!(AdmitError::other("no").source().is_none());
    }
}
