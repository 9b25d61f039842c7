//! The option table's macro side: every key of `#[ws_route]` comes from
//! [`wirehub_options::route_options!`], which yields the custom keywords, the
//! [`Key`] enum, each key's [`Spec`] (how its value parses, what messages
//! say about it, when it does nothing) and the typed model [`Options`].
//! Nothing here names an option by hand.

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::{Ident, LitStr};

/// How an option's value is written (the table's kind column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `"1MiB"`
    Size,
    /// `"30s"`
    Duration,
    /// `"30s"` or `"off"`
    DurationOrOff,
    /// `"text"`
    Text,
    /// `"chat:{room}"`
    Room,
    /// `true`
    Flag,
    /// `1024`
    Count,
    /// `100`, at most `u32::MAX`
    Count32,
    /// `"close"` or `"drop"`
    OnFull,
    /// `path::to::function`
    Hook,
    /// `["a", "b"]`
    List,
    /// `"50/s"`
    Rate,
    /// `ChatIn`: a Rust type
    Type,
}

/// What the table says about one key.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// A value as written in the attribute.
    pub(crate) example: &'static str,
    /// What the value is, for "`key` takes ..." messages.
    pub(crate) takes: &'static str,
    /// When this option does nothing (the table's rules column).
    pub(crate) rules: &'static [Rule],
}

/// A rule of the option table: when writing an option is a mistake
/// because it would do nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// The other option must be written too, and not `"off"`.
    Requires(Key),
    /// With the other option `"off"`, this one does nothing.
    UnlessOff(Key),
    /// A count above the other option's never applies.
    AtMost(Key),
}

macro_rules! macro_side {
    ($($key:ident : $kind:ident {
        example: $example:literal,
        takes: $takes:literal,
        rules: [$($rule:ident($other:ident)),*]
    }),* $(,)?) => {
        mod kw {
            $(syn::custom_keyword!($key);)*
        }

        /// An option key. Variants are named as written in the attribute.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Key {
            $($key,)*
        }

        const SPECS: &[Spec] = &[$(Spec {
            name: stringify!($key),
            kind: Kind::$kind,
            example: $example,
            takes: $takes,
            rules: &[$(Rule::$rule(Key::$other)),*],
        }),*];

        impl Key {
            /// Every key, in documentation order.
            pub(crate) const ALL: &'static [Key] = &[$(Key::$key),*];

            /// Parses an option key, if the input starts with one.
            pub(crate) fn parse(input: ParseStream<'_>) -> syn::Result<Option<(Key, Ident)>> {
                let lookahead = input.lookahead1();
                $(
                    if lookahead.peek(kw::$key) {
                        let key: kw::$key = input.parse()?;
                        return Ok(Some((Key::$key, Ident::new(stringify!($key), key.span))));
                    }
                )*
                Ok(None)
            }
        }
    };
}

wirehub_options::route_options!(parse: macro_side);

impl Key {
    pub(crate) fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    /// The key named `name`.
    #[cfg(test)]
    pub(crate) fn named(name: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|k| k.spec().name == name)
    }

    /// The key closest to a misspelled one (edit distance at most 2).
    pub(crate) fn closest(unknown: &str) -> Option<Key> {
        Key::ALL
            .iter()
            .map(|k| (edit_distance(unknown, k.spec().name), *k as usize))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, i)| Key::ALL[i])
    }
}

/// The keys users can write, for "valid options are ..." messages.
pub(crate) fn valid_keys() -> String {
    let keys: Vec<String> = Key::ALL.iter().map(|k| format!("`{}`", k.spec().name)).collect();
    format!("{}, `crate`", keys.join(", "))
}

/// A parsed option value, typed by its [`Kind`].
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// Milliseconds; 0 is `"off"`.
    Millis(u64),
    Bytes(u64),
    Text(LitStr),
    Room(LitStr),
    Flag(bool),
    Count(u64),
    /// `true` for `"drop"`.
    OnFullDrop(bool),
    Hook(syn::Path),
    List(Vec<LitStr>),
    /// Messages per period in milliseconds.
    Rate(u32, u64),
    Type(Box<syn::Type>),
}

/// One option as written: its key and value, and where the value is.
#[derive(Debug, Clone)]
pub(crate) struct Set {
    pub(crate) key: Ident,
    pub(crate) value: Value,
    /// The value's first token (the whole list for a list).
    pub(crate) span: Span,
}

impl Set {
    /// `"off"`, for an option that takes it.
    pub(crate) fn is_off(&self) -> bool {
        matches!(self.value, Value::Millis(0))
    }
}

/// The options written in one attribute, at most one value per key, and
/// the keys written with a value that was refused (an error was reported,
/// so nothing else is said about them).
#[derive(Debug)]
pub(crate) struct Options {
    sets: Vec<Option<Set>>,
    refused: Vec<bool>,
    /// Keys an unknown option was probably meant to be (`rte` for `rate`).
    misspelled: Vec<bool>,
}

impl Default for Options {
    fn default() -> Self {
        let none = vec![false; Key::ALL.len()];
        Options { sets: vec![None; Key::ALL.len()], refused: none.clone(), misspelled: none }
    }
}

impl Options {
    pub(crate) fn get(&self, key: Key) -> Option<&Set> {
        self.sets[key as usize].as_ref()
    }

    pub(crate) fn has(&self, key: Key) -> bool {
        self.get(key).is_some()
    }

    /// Whether `key` was written, with a valid value or not.
    pub(crate) fn written(&self, key: Key) -> bool {
        self.has(key) || self.refused[key as usize]
    }

    /// Stores `set`; `false` (nothing stored) when the key was already written.
    pub(crate) fn insert(&mut self, key: Key, set: Set) -> bool {
        let slot = &mut self.sets[key as usize];
        slot.is_none() && slot.replace(set).is_none()
    }

    /// Records that `key` was written with a value that was refused.
    pub(crate) fn refuse(&mut self, key: Key) {
        self.refused[key as usize] = true;
    }

    /// Records that an unknown option was probably `key`, misspelled.
    pub(crate) fn misspelled(&mut self, key: Key) {
        self.misspelled[key as usize] = true;
    }

    /// Whether `key` was written, or an unknown option probably meant it:
    /// either way it has an error, and nothing else is said about it.
    pub(crate) fn meant(&self, key: Key) -> bool {
        self.written(key) || self.misspelled[key as usize]
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<Set> {
        self.sets[key as usize].take()
    }

    /// The written options, in table order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &Set)> {
        Key::ALL.iter().zip(&self.sets).filter_map(|(key, set)| set.as_ref().map(|set| (*key, set)))
    }

    /// The type of a type option (`receives`, `sends`).
    pub(crate) fn ty(&self, key: Key) -> Option<&syn::Type> {
        match self.get(key).map(|set| &set.value) {
            Some(Value::Type(ty)) => Some(ty),
            _ => None,
        }
    }

    /// The path of a hook option (`on_open`, `on_close`, `auth`).
    pub(crate) fn hook(&self, key: Key) -> Option<&syn::Path> {
        match self.get(key).map(|set| &set.value) {
            Some(Value::Hook(path)) => Some(path),
            _ => None,
        }
    }
}

/// Where a "needs" error goes: on the value of a text option (what the
/// user reads first there), on the key otherwise.
pub(crate) fn span_of(set: &Set) -> Span {
    match &set.value {
        Value::Text(lit) => lit.span(),
        _ => set.key.span(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_its_own_spec_in_table_order() {
        for (i, key) in Key::ALL.iter().enumerate() {
            assert_eq!(*key as usize, i);
            assert_eq!(Key::named(key.spec().name), Some(*key));
        }
    }

    #[test]
    fn misspelled_keys_find_the_closest() {
        assert_eq!(Key::closest("heartbeet"), Some(Key::heartbeat));
        assert_eq!(Key::closest("max_mesage"), Some(Key::max_message));
        assert_eq!(Key::closest("completely_else"), None);
    }

    #[test]
    fn rules_name_other_keys() {
        for key in Key::ALL {
            for rule in key.spec().rules {
                let (Rule::Requires(other) | Rule::UnlessOff(other) | Rule::AtMost(other)) = rule;
                assert_ne!(other, key, "{} has a rule about itself", key.spec().name);
            }
        }
        assert_eq!(Key::burst.spec().rules, &[Rule::Requires(Key::rate)]);
        assert_eq!(Key::heartbeat_timeout.spec().rules, &[Rule::UnlessOff(Key::heartbeat)]);
    }
}
