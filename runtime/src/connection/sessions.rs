//! A connection's own values, by type (taken by handlers and hooks as
//! [`Session<T>`](crate::extract::Session)), and the plan of which types a
//! route's connections hold ([`SessionPlan`], built once from what the
//! macro saw).
//!
//! Invariants: a value is in the slots or lent to exactly one `Session<T>`
//! (one handler call at a time per connection, so no lock is held while user
//! code runs); the slots lock only to take or return a value; when the
//! connection ends, [`Sessions::end`] hands back every value to drop once,
//! and a value returned after that is dropped at once instead of kept.

use std::any::{Any, TypeId};
use std::sync::Mutex;

use crate::sync::lock;

/// A boxed session value.
pub(crate) type Value = Box<dyn Any + Send>;

/// The values of one connection.
#[derive(Debug, Default)]
pub(crate) struct Sessions(Mutex<Slots>);

#[derive(Debug, Default)]
struct Slots {
    values: Vec<Value>,
    ended: bool,
}

impl Sessions {
    /// Stores `value`, replacing one of its type.
    pub(crate) fn insert(&self, value: Value) {
        self.store(value, true);
    }

    /// Lends the value of type `T` out (`None`: none, or lent already).
    pub(crate) fn take<T: Send + 'static>(&self) -> Option<Box<T>> {
        let mut slots = lock(&self.0);
        let i = slots.values.iter().position(|v| v.is::<T>())?;
        slots.values.swap_remove(i).downcast::<T>().ok()
    }

    /// Gives a lent value back; dropped at once if the connection ended.
    pub(crate) fn give_back(&self, value: Value) {
        self.store(value, false);
    }

    /// Ends the slots: every value held, for the caller to drop (outside the lock).
    pub(crate) fn end(&self) -> Vec<Value> {
        let mut slots = lock(&self.0);
        slots.ended = true;
        std::mem::take(&mut slots.values)
    }

    /// Stores `value` (in place of one of its type when `replace`). What
    /// leaves (`value` after the end, or the value it replaces) is dropped
    /// after the lock: its `Drop` may be user code.
    fn store(&self, value: Value, replace: bool) {
        let mut slots = lock(&self.0);
        let leaving = match slots.ended {
            true => Some(value),
            false => {
                let id = (*value).type_id();
                match slots.values.iter().position(|v| replace && (**v).type_id() == id) {
                    Some(i) => Some(std::mem::replace(&mut slots.values[i], value)),
                    None => {
                        slots.values.push(value);
                        None
                    }
                }
            }
        };
        drop(slots);
        drop(leaving);
    }
}

/// Which session types a route's connections hold, and how each is made:
/// `T::default()` when the connection opens (for each `Session<T>` its
/// handler takes with `T: Default`), or the `on_open` hook's return value.
#[derive(Debug, Default)]
pub(crate) struct SessionPlan {
    entries: Vec<Planned>,
}

#[derive(Debug)]
struct Planned {
    id: TypeId,
    name: &'static str,
    /// `Some`: made with `Default` before `on_open`; `None`: `on_open` returns it.
    make: Option<fn() -> Value>,
}

impl SessionPlan {
    /// Plans `T::default()` for every connection, made before `on_open`.
    pub(crate) fn by_default<T: Default + Send + 'static>(&mut self) {
        if !self.has_id(TypeId::of::<T>(), true) {
            self.entries.retain(|p| p.id != TypeId::of::<T>());
            self.entries.push(Planned {
                id: TypeId::of::<T>(),
                name: std::any::type_name::<T>(),
                make: Some(|| Box::new(T::default())),
            });
        }
    }

    /// Plans the `on_open` hook's value of type `T` (nothing for `()`).
    pub(crate) fn by_on_open<T: Send + 'static>(&mut self) {
        if TypeId::of::<T>() != TypeId::of::<()>() && !self.has_id(TypeId::of::<T>(), false) {
            self.entries.push(Planned { id: TypeId::of::<T>(), name: std::any::type_name::<T>(), make: None });
        }
    }

    /// Whether connections hold a `T`: before `on_open` returns only
    /// the defaults, afterwards the hook's value too.
    pub(crate) fn has<T: 'static>(&self, before_open: bool) -> bool {
        self.has_id(TypeId::of::<T>(), before_open)
    }

    fn has_id(&self, id: TypeId, before_open: bool) -> bool {
        self.entries.iter().any(|p| p.id == id && (p.make.is_some() || !before_open))
    }

    /// The names of the planned types, for error messages.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|p| p.name).collect()
    }

    /// Stores the defaults in a new connection's slots.
    pub(crate) fn make_defaults(&self, sessions: &Sessions) {
        for make in self.entries.iter().filter_map(|p| p.make) {
            sessions.insert(make());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_value_is_lent_once_and_dropped_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let sessions = Sessions::default();
        sessions.insert(Box::new(Counted(drops.clone())));
        let lent = sessions.take::<Counted>().expect("held");
        assert!(sessions.take::<Counted>().is_none(), "lent already");
        sessions.give_back(lent);
        let ended = sessions.end();
        assert_eq!(ended.len(), 1);
        drop(ended);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // Given back after the end: dropped at once, not kept.
        sessions.give_back(Box::new(Counted(drops.clone())));
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(sessions.end().is_empty());
    }

    #[test]
    fn insert_replaces_a_value_of_the_same_type() {
        let sessions = Sessions::default();
        sessions.insert(Box::new(1_u32));
        sessions.insert(Box::new(2_u32));
        sessions.insert(Box::new("x"));
        assert_eq!(sessions.take::<u32>().map(|v| *v), Some(2));
        assert_eq!(sessions.end().len(), 1);
    }

    #[test]
    fn the_plan_tells_what_exists_before_and_after_on_open() {
        let mut plan = SessionPlan::default();
        plan.by_default::<u32>();
        plan.by_on_open::<String>();
        plan.by_on_open::<()>();
        assert!(plan.has::<u32>(true) && plan.has::<u32>(false));
        assert!(!plan.has::<String>(true) && plan.has::<String>(false));
        assert!(!plan.has::<()>(false));
        let sessions = Sessions::default();
        plan.make_defaults(&sessions);
        assert_eq!(sessions.take::<u32>().map(|v| *v), Some(0));
    }
}
