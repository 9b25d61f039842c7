// Real-browser end-to-end test of examples/gaps_demo: starts the demo server
// on a free port, drives headless Chromium (Debian's /usr/bin/chromium)
// through playwright-core, and checks each panel of the page against the
// live server. Run with `bash e2e/run.sh` (builds the example first).
//
// Every wait is bounded; the server is killed at the end, also on failure.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, "target");
const BINARY = process.env.GAPS_DEMO_BIN ?? path.join(TARGET, "debug", "examples", "gaps_demo");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(HERE, "artifacts");
const SCREENSHOT = path.join(ARTIFACTS, "gaps-demo.png");

const STEP = 15_000; // bound of any single wait in a page
const TEST = 60_000; // bound of one test
// waitForFunction polls on a timer: requestAnimationFrame (the default) is
// throttled in pages that are not in front.
const WAIT = { timeout: STEP, polling: 50 };

// A token that only this run knows: proves WIREHUB_DEMO_TOKEN is honoured.
const TOKEN = "e2e-" + randomBytes(6).toString("hex");

let server = null;
let serverLog = "";
let base = "";
let browser = null;
let context = null;
let main = null; // the page whose panels are all exercised (and photographed)
const pageErrors = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls GET /healthz until 200, at most `attempts` times. */
async function waitHealthy(attempts = 150, every = 100) {
  let last = "no answer";
  for (let i = 0; i < attempts; i++) {
    if (server.exitCode !== null) throw new Error(`gaps_demo exited with ${server.exitCode}:\n${serverLog}`);
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = String(err.cause?.code ?? err.message);
    }
    await sleep(every);
  }
  throw new Error(`gaps_demo not healthy after ${(attempts * every) / 1000} s (${last}):\n${serverLog}`);
}

function killServer() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
}
process.on("exit", killServer);

async function openPage(query = "") {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  await page.goto(`${base}/${query}`, { timeout: STEP });
  return page;
}

/** The numeric `data-value` of a metric card. */
async function metric(page, name) {
  return Number(await page.getByTestId(`metric-${name}`).getAttribute("data-value"));
}

async function waitMetric(page, name, atLeast) {
  await page.waitForFunction(
    ([n, min]) => Number(document.querySelector(`[data-metric="${n}"]`)?.dataset.value ?? -1) >= min,
    [name, atLeast],
    WAIT,
  );
  return metric(page, name);
}

/** The value of the sample of `name` with exactly these labels in a Prometheus text exposition. */
function sample(text, name, labels) {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
    const keys = Object.keys(labels);
    if (keys.length === Object.keys(got).length && keys.every((k) => got[k] === labels[k])) return Number(m[3]);
  }
  return undefined;
}

/** The chat messages a page has received, as {from, room, content}. */
function chatMessages(page) {
  return page.$$eval("#chat-log .msg", (divs) =>
    divs.map((d) => ({ from: d.dataset.from, room: d.dataset.room, content: d.dataset.content })),
  );
}

async function waitChatContent(page, content) {
  await page.waitForFunction(
    (c) => [...document.querySelectorAll("#chat-log .msg")].some((d) => d.dataset.content === c),
    content,
    WAIT,
  );
}

async function joinedAs(page, room) {
  await page.waitForFunction(
    (r) => document.getElementById("chat-status").textContent === `in ${r}` && document.getElementById("chat-status").dataset.me,
    room,
    WAIT,
  );
  return page.getByTestId("chat-status").getAttribute("data-me");
}

async function say(page, text) {
  await page.bringToFront(); // actions wait for animation frames, which background tabs get rarely
  await page.getByTestId("chat-text").fill(text);
  await page.getByTestId("chat-send").click();
}

const HOOK = 90_000; // bound of starting (server, browser) and of cleaning up

before(async () => {
  assert.ok(existsSync(BINARY), `${BINARY} is missing: run \`cargo build --example gaps_demo\` (e2e/run.sh does)`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (e2e/run.sh does)`);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BINARY, [], {
    env: { ...process.env, PORT: String(port), WIREHUB_DEMO_TOKEN: TOKEN, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk) => {
    serverLog = (serverLog + chunk).slice(-20_000);
  };
  server.stdout.on("data", keep);
  server.stderr.on("data", keep);
  await waitHealthy();

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  main = await openPage("?room=blue");
}, { timeout: HOOK });

after(async () => {
  try {
    if (main) {
      mkdirSync(ARTIFACTS, { recursive: true });
      // Let the metrics panel catch up with the last actions (one poll).
      const stamp = await main.getByTestId("metrics-updated").textContent({ timeout: STEP }).catch(() => "");
      await main
        .waitForFunction((s) => document.getElementById("metrics-updated").textContent !== s, stamp, { timeout: 3000, polling: 50 })
        .catch(() => {});
      await main.screenshot({ path: SCREENSHOT, fullPage: true, timeout: STEP }).catch((e) => console.error("screenshot failed:", e));
    }
    await browser?.close().catch(() => {});
  } finally {
    killServer();
    if (server && server.exitCode === null && server.signalCode === null) {
      await Promise.race([new Promise((r) => server.once("exit", r)), sleep(5000)]);
    }
  }
}, { timeout: HOOK });

describe("gaps demo in headless Chromium", () => {
  it("serves the page, /healthz and /metrics over plain HTTP", { timeout: TEST }, async () => {
    const page = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.equal(await health.text(), "ok\n");
    const metrics = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const route of ["/ws/basic", "/ws/chat/{room}", "/ws/binary", "/ws/heartbeat", "/ws/auth"]) {
      assert.equal(typeof sample(metrics, "wirehub_connections_opened_total", { route }), "number", route);
    }
    const upgradeRequired = await fetch(`${base}/ws/basic`, { signal: AbortSignal.timeout(5000) });
    assert.equal(upgradeRequired.status, 426);
    assert.equal((await fetch(`${base}/nope`, { signal: AbortSignal.timeout(5000) })).status, 404);
  });

  it("gap 2: two pages chat in one room; a page in another room receives nothing", { timeout: TEST }, async () => {
    const peer = await openPage("?room=blue");
    const other = await openPage("?room=green");
    try {
      const a = await joinedAs(main, "blue");
      const b = await joinedAs(peer, "blue");
      await joinedAs(other, "green");
      assert.notEqual(a, b);

      await say(main, "hello from A");
      await waitChatContent(main, "hello from A"); // the sender is included
      await waitChatContent(peer, "hello from A");
      await say(peer, "hi from B");
      await waitChatContent(peer, "hi from B");
      await waitChatContent(main, "hi from B");

      // Marker: once the other room's page sees its own message, anything
      // broadcast to blue before it would have had the time to arrive too.
      await say(other, "marker in green");
      await waitChatContent(other, "marker in green");

      const seenByA = await chatMessages(main);
      const seenByB = await chatMessages(peer);
      const seenByOther = await chatMessages(other);
      const expected = [
        { from: a, room: "blue", content: "hello from A" },
        { from: b, room: "blue", content: "hi from B" },
      ];
      assert.deepEqual(seenByA, expected);
      assert.deepEqual(seenByB, expected);
      assert.deepEqual(seenByOther.map((m) => m.content), ["marker in green"]);
      assert.equal(seenByOther[0].room, "green");
    } finally {
      await peer.close();
      await other.close();
      await main.bringToFront();
    }
  });

  it("gap 1: a 1 MiB binary upload comes back byte-exact (SHA-256 match)", { timeout: TEST }, async () => {
    const file = randomBytes(1 << 20);
    const sha = createHash("sha256").update(file).digest("hex");
    await main.getByTestId("bin-file").setInputFiles({ name: "random.bin", mimeType: "application/octet-stream", buffer: file });
    await main.getByTestId("bin-result").filter({ hasText: /^(match|MISMATCH)$/ }).waitFor({ timeout: STEP });
    assert.equal(await main.getByTestId("bin-result").textContent(), "match");
    assert.equal(await main.getByTestId("bin-sent-size").textContent(), String(file.length));
    assert.equal(await main.getByTestId("bin-recv-size").textContent(), String(file.length));
    assert.equal(await main.getByTestId("bin-sent-sha").textContent(), sha);
    assert.equal(await main.getByTestId("bin-recv-sha").textContent(), sha);
  });

  it("gap 5: a text message on the binary-only route closes with 1003", { timeout: TEST }, async () => {
    await main.getByTestId("bin-text").click();
    await main.waitForFunction(() => document.getElementById("bin-status").dataset.code, null, WAIT);
    assert.equal(await main.getByTestId("bin-status").getAttribute("data-code"), "1003");
  });

  it("gap 7: a wrong token is refused, the right one is accepted (?token= and subprotocol)", { timeout: TEST }, async () => {
    const status = main.getByTestId("auth-status");
    const attempt = async (token, mode, outcome) => {
      const before = Number((await status.getAttribute("data-attempt")) ?? 0);
      await main.getByTestId("auth-token").fill(token);
      await main.getByTestId("auth-mode").selectOption(mode);
      await main.getByTestId("auth-connect").click();
      await main.waitForFunction(
        ([n]) => {
          const s = document.getElementById("auth-status");
          return Number(s.dataset.attempt) === n && (s.textContent === "accepted" || s.textContent === "refused");
        },
        [before + 1],
        WAIT,
      );
      assert.equal(await status.textContent(), outcome, `${mode} with ${token === TOKEN ? "the right" : "a wrong"} token`);
    };

    await attempt("wrong-token", "query", "refused");
    await attempt("wrong-token", "protocol", "refused");
    await attempt(TOKEN, "protocol", "accepted");
    await main.getByTestId("auth-log").getByText('server selected "bearer"').waitFor({ timeout: STEP });
    await attempt(TOKEN, "query", "accepted");
    await main.getByTestId("auth-text").fill("hello authed");
    await main.getByTestId("auth-send").click();
    const reply = main.locator('#auth-log .reply[data-content="hello authed"]');
    await reply.waitFor({ timeout: STEP });
    assert.equal(await reply.getAttribute("data-user"), "demo");
    assert.equal(await reply.textContent(), '< {"type":"response","user":"demo","content":"hello authed"}');

    // The refusals were HTTP answers before any WebSocket: counted as such.
    await main.waitForFunction(() => Number(document.getElementById("auth-rejected").textContent) >= 2, null, WAIT);
  });

  it("gap 4: heartbeat panel shows app-level and protocol round-trip times", { timeout: TEST }, async () => {
    await main.waitForFunction(() => Number(document.getElementById("hb-pongs").textContent) >= 2, null, WAIT);
    const appRtt = Number(await main.getByTestId("hb-app-rtt").textContent());
    assert.ok(appRtt >= 0 && appRtt < 5000, `app rtt ${appRtt}`);
    // The server pings every 2 s; its measurement shows after the first one.
    await main.waitForFunction(() => /^\d+\.\d+$/.test(document.getElementById("hb-server-rtt").textContent), null, WAIT);
    const serverRtt = Number(await main.getByTestId("hb-server-rtt").textContent());
    assert.ok(serverRtt >= 0 && serverRtt < 5000, `server rtt ${serverRtt}`);
    assert.equal(await main.getByTestId("hb-status").textContent(), "connected");
  });

  it("baseline: /ws/basic echoes with an RFC 3339 timestamp", { timeout: TEST }, async () => {
    await main.getByTestId("basic-text").fill("Hello World");
    await main.getByTestId("basic-send").click();
    const reply = main.getByTestId("basic-log").getByText('< {"type":"response","content":"Echo: Hello World"');
    await reply.waitFor({ timeout: STEP });
    const json = JSON.parse((await reply.textContent()).slice(2));
    assert.match(json.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.ok(Math.abs(Date.parse(json.timestamp) - Date.now()) < 60_000, `timestamp ${json.timestamp}`);
  });

  it("gap 6: the metrics panel shows the traffic as non-zero counters", { timeout: TEST }, async () => {
    assert.ok((await waitMetric(main, "wirehub_connections_opened_total", 5)) >= 5);
    assert.ok((await waitMetric(main, "wirehub_connections_open", 1)) >= 1);
    assert.ok((await waitMetric(main, "wirehub_messages_received_total", 1)) > 0);
    assert.ok((await waitMetric(main, "wirehub_messages_sent_total", 1)) > 0);
    assert.ok((await waitMetric(main, "wirehub_received_bytes_total", 1 << 20)) >= 1 << 20);
    assert.ok((await waitMetric(main, "wirehub_sent_bytes_total", 1 << 20)) >= 1 << 20);
    assert.ok((await waitMetric(main, "wirehub_handshakes_rejected_total", 2)) >= 2);
    assert.ok((await waitMetric(main, "wirehub_connections_closed_total", 1)) > 0);
    assert.ok((await waitMetric(main, "wirehub_rooms_open", 1)) >= 1);
    assert.ok((await waitMetric(main, "wirehub_heartbeat_rtt_seconds_count", 1)) > 0);
    // The page's numbers are the server's: every route counted its replies.
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const [route, kind] of [["/ws/basic", "text"], ["/ws/binary", "binary"], ["/ws/auth", "text"], ["/ws/chat/{room}", "text"]]) {
      const sent = sample(text, "wirehub_messages_sent_total", { route, kind });
      assert.ok(sent >= 1, `${route} sent ${kind}: ${sent}`);
    }
    const routes = await main.$$eval("#metrics-routes tr", (rows) => rows.map((r) => r.dataset.route));
    for (const r of ["/ws/auth", "/ws/basic", "/ws/binary", "/ws/chat/{room}", "/ws/heartbeat"]) {
      assert.ok(routes.includes(r), `route ${r} in ${routes}`);
    }
    assert.equal(await main.getByTestId("health").textContent(), "healthz: ok");
  });

  it("the page raised no script errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
