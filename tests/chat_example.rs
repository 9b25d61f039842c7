//! Runs the tests `examples/chat.rs` carries (written with `wirehub::testing`)
//! against the example's own handlers, compiled in here: the example stays a
//! plain binary, which `tests/examples.rs` runs as a process.

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;
