#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (seconds, default 30) when a
# nightly toolchain is present; otherwise prints one line and skips.
# Uses cargo-fuzz when installed, else builds with the same instrumentation
# flags cargo-fuzz passes (libFuzzer comes with the libfuzzer-sys crate).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped (no nightly toolchain; proptest covers the same entry points on stable)"
    exit 0
fi
targets=(upgrade_request frame_reader backplane_codec)
if cargo +nightly fuzz --version >/dev/null 2>&1; then
    for t in "${targets[@]}"; do
        cargo +nightly fuzz run "$t" -- -max_total_time="$seconds"
    done
    exit 0
fi
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros.
host="$(rustc +nightly -vV | sed -n 's/^host: //p')"
cargo +nightly build --release --bins --target "$host"
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "fuzz: $t for ${seconds}s"
    "$CARGO_TARGET_DIR/$host/release/$t" -max_total_time="$seconds" "corpus/$t" 2>&1 | tail -n 3
done
