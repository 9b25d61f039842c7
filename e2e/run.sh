#!/usr/bin/env bash
# Real-browser end-to-end tests: installs what is missing (Debian's
# chromium, the npm packages of e2e/), builds the examples, and runs with
# node's test runner: the unit tests of clients/js, e2e/gaps.test.mjs
# (examples/gaps_demo), e2e/chat.test.mjs (the chat page on clients/js, with
# a server restart) and e2e/client.test.mjs (clients/js in Node against the
# chat). Screenshots land in e2e/artifacts/.
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

echo "== cargo build --example gaps_demo --example chat"
(cd "$ROOT" && cargo build --example gaps_demo --example chat)

# Node 20 has a WebSocket only behind a flag (22 has it by default).
WS_FLAG=""
node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' || WS_FLAG="--experimental-websocket"

echo "== node --test (clients/js unit tests)"
(cd "$ROOT/clients/js" && node --test --test-reporter=spec test/*.test.mjs)

echo "== node --test (headless Chromium; clients/js over real sockets)"
mkdir -p "$E2E_DIR/artifacts"
node $WS_FLAG --test --test-concurrency=1 --test-reporter=spec gaps.test.mjs chat.test.mjs client.test.mjs
