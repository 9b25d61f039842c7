#!/usr/bin/env bash
# Real-browser end-to-end test of examples/gaps_demo: installs what is
# missing (Debian's chromium, the npm packages of e2e/), builds the example,
# and runs e2e/gaps.test.mjs with node's test runner. The screenshot lands in
# e2e/artifacts/gaps-demo.png.
set -euo pipefail
cd "$(dirname "$0")"
E2E_DIR="$PWD"
ROOT="$(cd .. && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian package)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null || true

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "e2e/run.sh: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi

echo "== npm ci (e2e/)"
npm ci --no-audit --no-fund --loglevel=error

echo "== cargo build --example gaps_demo"
(cd "$ROOT" && cargo build --example gaps_demo)

echo "== node --test (headless Chromium)"
mkdir -p "$E2E_DIR/artifacts"
node --test --test-reporter=spec gaps.test.mjs
