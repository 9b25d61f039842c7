//! Path routing: a trie of path segments, built once when the app starts.
//!
//! Matching walks one trie level per path segment, preferring a static
//! segment over a `{param}` at the same level, so a lookup costs O(segments)
//! (it backtracks only when a static branch dead-ends, which needs two
//! overlapping patterns such as `/a/b/c` and `/a/{x}/d`). Parameter values are
//! percent-decoded and copied into owned strings: nothing of the request is
//! kept.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

use crate::route::RouteDef;
use crate::template::Segment;

/// The routes of an app, by path.
#[derive(Debug)]
pub(crate) struct Router<T> {
    root: Node<T>,
}

#[derive(Debug)]
struct Node<T> {
    statics: HashMap<&'static str, Node<T>>,
    param: Option<Box<Node<T>>>,
    value: Option<T>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node { statics: HashMap::new(), param: None, value: None }
    }
}

/// A route found for a path, with its parameter values in pattern order.
#[derive(Debug)]
pub(crate) struct Match<'r, T> {
    pub(crate) value: &'r T,
    pub(crate) params: Vec<Box<str>>,
}

impl<T> Router<T> {
    pub(crate) fn new() -> Self {
        Router { root: Node::default() }
    }

    /// Adds a route; on a pattern that is already taken, returns the value
    /// that holds it (patterns differing only in param names are the same).
    pub(crate) fn insert(&mut self, segments: &'static [Segment], value: T) -> Result<(), (&T, T)> {
        let mut node = &mut self.root;
        for seg in segments {
            node = match seg {
                Segment::Static(s) => node.statics.entry(s).or_default(),
                Segment::Param => node.param.get_or_insert_with(Default::default),
            };
        }
        match node.value {
            Some(ref existing) => Err((existing, value)),
            None => {
                node.value = Some(value);
                Ok(())
            }
        }
    }

    /// Finds the route for a request path (without its query string).
    pub(crate) fn find(&self, path: &str) -> Option<Match<'_, T>> {
        let rest = path.strip_prefix('/')?;
        let segments: Vec<&str> = if rest.is_empty() { Vec::new() } else { rest.split('/').collect() };
        let mut raw = Vec::new();
        let value = find_in(&self.root, &segments, &mut raw)?;
        let params = raw
            .into_iter()
            .map(|p| percent_decode_str(p).decode_utf8().map(|s| s.into_owned().into_boxed_str()))
            .collect::<Result<_, _>>()
            .ok()?;
        Some(Match { value, params })
    }
}

fn find_in<'r, 'p, T>(node: &'r Node<T>, segments: &[&'p str], params: &mut Vec<&'p str>) -> Option<&'r T> {
    let Some((first, rest)) = segments.split_first() else {
        return node.value.as_ref();
    };
    if let Some(child) = node.statics.get(*first) {
        if let Some(found) = find_in(child, rest, params) {
            return Some(found);
        }
    }
    let child = node.param.as_deref()?;
    if first.is_empty() {
        return None;
    }
    params.push(first);
    let found = find_in(child, rest, params);
    if found.is_none() {
        params.pop();
    }
    found
}

/// Builds the router of a set of routes, failing on the first duplicate.
pub(crate) fn build<T>(
    routes: impl IntoIterator<Item = (&'static RouteDef, T)>,
    def_of: impl Fn(&T) -> &'static RouteDef,
) -> crate::Result<Router<T>> {
    let mut router = Router::new();
    for (def, value) in routes {
        if let Err((existing, _)) = router.insert(def.segments, value) {
            let first = def_of(existing);
            return Err(crate::Error::DuplicateRoute {
                path: first.path,
                first: first.handler,
                first_at: first.location(),
                second: def.handler,
                second_at: def.location(),
            });
        }
    }
    Ok(router)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::{Param, Static};

    fn router(routes: &[(&'static [Segment], u32)]) -> Router<u32> {
        let mut r = Router::new();
        for (segs, v) in routes {
            assert!(r.insert(segs, *v).is_ok());
        }
        r
    }

    #[test]
    fn matches_static_and_param_segments() {
        let r = router(&[
            (&[Static("echo")], 1),
            (&[Static("chat"), Param], 2),
            (&[Static("a"), Static("b"), Static("c")], 3),
            (&[Static("a"), Param, Static("d")], 4),
            (&[], 5),
        ]);
        let cases: &[(&str, Option<u32>, &[&str])] = &[
            ("/echo", Some(1), &[]),
            ("/chat/lobby", Some(2), &["lobby"]),
            ("/chat/caf%C3%A9", Some(2), &["café"]),
            ("/chat/", None, &[]),
            ("/chat/a/b", None, &[]),
            ("/a/b/c", Some(3), &[]),
            ("/a/b/d", Some(4), &["b"]),
            ("/", Some(5), &[]),
            ("echo", None, &[]),
            ("/nope", None, &[]),
            ("/chat/%FF", None, &[]),
        ];
        for (path, want, params) in cases {
            let got = r.find(path);
            assert_eq!(got.as_ref().map(|m| *m.value), *want, "{path}");
            if let Some(m) = got {
                let got: Vec<&str> = m.params.iter().map(|p| &**p).collect();
                assert_eq!(&got, params, "{path}");
            }
        }
    }

    #[test]
    fn same_shape_is_a_duplicate() {
        let mut r = Router::new();
        assert!(r.insert(&[Static("chat"), Param], 1).is_ok());
        let err = r.insert(&[Static("chat"), Param], 2).err();
        assert_eq!(err.map(|(old, new)| (*old, new)), Some((1, 2)));
    }
}
