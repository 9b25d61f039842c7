#!/usr/bin/env bash
# AddressSanitizer (with LeakSanitizer) over the runtime's unit tests and the
# socket-level tests of the hub, the protocol conformance and the foundation.
#
# Needs a nightly toolchain (`cargo +nightly`) whose sysroot has the ASan
# runtime; without one it prints a single "skipped" line and exits 0.
# Builds into target/asan so that the ordinary debug build is left alone.
#
# ASan makes the heaviest tests 4-5 times slower (800 000 messages in
# concurrent_publishers_lose_and_duplicate_nothing: ~2 s plain, 8-12 s under
# ASan), so the tests' bound on each await is scaled by 6 here.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
    echo "== sanitizers: skipped ($1)"
    exit 0
}

# Never let rustup download a missing toolchain: without nightly, skip.
export RUSTUP_AUTO_INSTALL=0
cargo +nightly --version >/dev/null 2>&1 || skip "no nightly toolchain: cargo +nightly does not run"
host="$(rustc +nightly -vV 2>/dev/null | sed -n 's/^host: //p')"
[ -n "$host" ] || skip "rustc +nightly does not report its host"

# Probe: can this nightly link a program with the ASan runtime?
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
echo 'fn main() {}' >"$probe/p.rs"
if ! rustc +nightly -Zsanitizer=address --target "$host" -o "$probe/p" "$probe/p.rs" >/dev/null 2>&1 \
    || ! "$probe/p" >/dev/null 2>&1; then
    skip "$(rustc +nightly --version) cannot build with -Zsanitizer=address for $host"
fi

# registry_empties_after_10000_abrupt_disconnects needs fds for both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --target keeps RUSTFLAGS off build scripts and proc macros (wirehub-macros,
# serde_derive, ...), which must not be instrumented.
export RUSTFLAGS="-Zsanitizer=address"
export CARGO_TARGET_DIR="$PWD/target/asan"
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never
# Leaks fail the run (LSan's report makes the test binary exit 1); no
# suppressions are needed: none of our tests' dependencies leaks.
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1"
export RUST_BACKTRACE=1
export WIREHUB_TEST_TIME_SCALE=6

echo "== sanitizers: ASan + LSan, $(cargo +nightly --version), target $host"
start=$SECONDS

echo "== ASan: wirehub unit tests"
cargo +nightly test --target "$host" -p wirehub --lib

echo "== ASan: tests/hub.rs, tests/conformance.rs, tests/foundation.rs"
cargo +nightly test --target "$host" -p wirehub-suite --no-fail-fast \
    --test hub --test conformance --test foundation

echo "== sanitizers: passed in $((SECONDS - start)) s"
