// Real-browser end-to-end test of examples/gaps_demo: starts the demo server
// on a free port, drives headless Chromium (Debian's /usr/bin/chromium)
// through playwright-core, and checks each panel of the page against the
// live server. What a browser cannot do (an Authorization header, reading
// the HTTP answer of a refused upgrade, never answering protocol pings) is
// done by the raw-socket client of rawws.mjs against the demo's own routes.
// A second demo server without WIREHUB_DEMO_TOKEN checks the default token.
// Run with `bash e2e/run.sh` (builds the example first).
//
// Every wait is bounded; the servers are killed at the end, also on failure.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { freePort } from "./lib/chat-server.mjs";
import { upgrade, within } from "./rawws.mjs";

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

let server = null; // the demo with WIREHUB_DEMO_TOKEN=TOKEN, which the browser uses
let base = "";
let plain = null; // the demo as `cargo run --example gaps_demo` starts it (token demo-token)
let browser = null;
let context = null;
let main = null; // the page whose panels are all exercised (and photographed)
const pageErrors = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts gaps_demo on a free port with `env` added to (or, where a value is
 * undefined, removed from) this process's environment, and waits until
 * /healthz answers. Resolves with { proc, base, log() }.
 */
async function startDemo(env) {
  const port = await freePort();
  const merged = { ...process.env, PORT: String(port), RUST_LOG: process.env.RUST_LOG ?? "warn", ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const proc = spawn(BINARY, [], { env: merged, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk).slice(-20_000);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const demo = { proc, base: `http://127.0.0.1:${port}`, log: () => log };
  demos.push(demo);
  await waitHealthy(demo);
  return demo;
}
const demos = [];

/** Polls GET /healthz until 200, at most `attempts` times. */
async function waitHealthy(demo, attempts = 150, every = 100) {
  let last = "no answer";
  for (let i = 0; i < attempts; i++) {
    if (demo.proc.exitCode !== null) throw new Error(`gaps_demo exited with ${demo.proc.exitCode}:\n${demo.log()}`);
    try {
      const res = await fetch(`${demo.base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = String(err.cause?.code ?? err.message);
    }
    await sleep(every);
  }
  throw new Error(`gaps_demo not healthy after ${(attempts * every) / 1000} s (${last}):\n${demo.log()}`);
}

const running = (proc) => proc.exitCode === null && proc.signalCode === null;

function killServers() {
  for (const { proc } of demos) if (running(proc)) proc.kill("SIGKILL");
}
process.on("exit", killServers);

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

/** Asserts an upgrade of `target` on `demo` was refused with 401 and a Bearer challenge, and never switched protocols. */
async function refused(demo, target, headers, why) {
  const res = await upgrade(demo.base, target, { headers });
  res.ws?.destroy();
  assert.equal(res.status, 401, `${why}: status`);
  assert.match(res.headers["www-authenticate"] ?? "", /^Bearer\b/, `${why}: WWW-Authenticate`);
  assert.equal(res.headers["sec-websocket-accept"], undefined, `${why}: no Sec-WebSocket-Accept`);
  assert.notEqual(res.headers.upgrade?.toLowerCase(), "websocket", `${why}: no Upgrade`);
  return res;
}

/** Asserts an upgrade of `target` on `demo` switched protocols and the connection answers as user `demo`. */
async function accepted(demo, target, headers, why) {
  const res = await upgrade(demo.base, target, { headers });
  assert.equal(res.status, 101, `${why}: status (body ${JSON.stringify(res.body)})`);
  try {
    await res.ws.sendText(why);
    const reply = await res.ws.until((ev) => ev.type === "text", STEP, `reply on ${target}`);
    assert.deepEqual(JSON.parse(reply.data), { type: "response", user: "demo", content: why });
  } finally {
    await res.ws.close();
  }
}

const MiB16 = 16 * 1024 * 1024;

const HOOK = 90_000; // bound of starting (server, browser) and of cleaning up

before(async () => {
  assert.ok(existsSync(BINARY), `${BINARY} is missing: run \`cargo build --example gaps_demo\` (e2e/run.sh does)`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (e2e/run.sh does)`);
  [server, plain] = await Promise.all([startDemo({ WIREHUB_DEMO_TOKEN: TOKEN }), startDemo({ WIREHUB_DEMO_TOKEN: undefined })]);
  base = server.base;

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
    const alive = demos.map((d) => d.proc).filter(running);
    killServers();
    await within(5000, Promise.all(alive.map((p) => new Promise((r) => p.once("exit", r)))), "demo servers to exit").catch(
      (err) => console.error(String(err)),
    );
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

  it("gap 7: /ws/auth refuses with 401 + WWW-Authenticate before any upgrade; demo-token by Bearer header or ?token= gets 101", { timeout: TEST }, async () => {
    // The demo as started by hand: the token is demo-token.
    const noToken = await refused(plain, "/ws/auth", {}, "no token");
    assert.match(noToken.body, /token required/);
    await refused(plain, "/ws/auth", { Authorization: "Bearer wrong-token" }, "wrong Bearer token");
    await refused(plain, "/ws/auth?token=wrong-token", {}, "wrong ?token=");
    await refused(plain, "/ws/auth?token=", {}, "empty ?token=");
    await accepted(plain, "/ws/auth", { Authorization: "Bearer demo-token" }, "Bearer demo-token");
    await accepted(plain, "/ws/auth?token=demo-token", {}, "?token=demo-token");
    // WIREHUB_DEMO_TOKEN replaces demo-token instead of adding to it.
    await refused(server, "/ws/auth", { Authorization: "Bearer demo-token" }, "demo-token when WIREHUB_DEMO_TOKEN is set");
    await accepted(server, "/ws/auth", { Authorization: `Bearer ${TOKEN}` }, "Bearer WIREHUB_DEMO_TOKEN");
    const metrics = await (await fetch(`${plain.base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const rejected = metrics
      .split("\n")
      .filter((l) => l.startsWith("wirehub_handshakes_rejected_total{") && l.includes('route="/ws/auth"'))
      .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
    assert.equal(rejected, 4, "refusals counted on /ws/auth of the plain demo");
  });

  it("/stats answers the hub's counters as JSON", { timeout: TEST }, async () => {
    await joinedAs(main, "blue");
    await main.getByTestId("hb-status").filter({ hasText: /^connected$/ }).waitFor({ timeout: STEP });
    const res = await fetch(`${base}/stats`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^application\/json/);
    const stats = JSON.parse(await res.text());
    assert.deepEqual(Object.keys(stats).sort(), ["connections", "dropped", "rooms"]);
    for (const [k, v] of Object.entries(stats)) assert.ok(Number.isInteger(v) && v >= 0, `${k}: ${v}`);
    // The main page holds its chat (room blue) and heartbeat sockets open.
    assert.ok(stats.connections >= 2, `connections ${stats.connections}`);
    assert.ok(stats.rooms >= 1, `rooms ${stats.rooms}`);
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

  it("gap 2: the text `ping` in a chat room reaches the other member as a chat message, not a pong", { timeout: TEST }, async () => {
    const peer = await openPage("?room=blue");
    try {
      const a = await joinedAs(main, "blue");
      const b = await joinedAs(peer, "blue");
      // Record every frame both chat sockets receive from now on, unparsed:
      // the page's log shows chat messages only and would hide a pong.
      const record = () => {
        window.__chatFrames = [];
        chat.ws.addEventListener("message", (e) => window.__chatFrames.push(e.data));
      };
      await main.evaluate(record);
      await peer.evaluate(record);

      await say(peer, "ping");
      await waitChatContent(main, "ping");
      await waitChatContent(peer, "ping");
      // Frames of one socket arrive in order: once the marker is back, a pong
      // answering the ping would have arrived before it.
      await say(peer, "after ping");
      await waitChatContent(peer, "after ping");
      await waitChatContent(main, "after ping");

      // Presence diffs (a member joining or leaving) may come at any time: only room messages count here.
      const frames = async (page) =>
        (await page.evaluate(() => window.__chatFrames)).map((f) => JSON.parse(f)).filter((m) => !m.type.startsWith("presence_"));
      const seenByA = await frames(main);
      const seenByB = await frames(peer);
      const expected = [
        { type: "message", room: "blue", from: b, content: "ping" },
        { type: "message", room: "blue", from: b, content: "after ping" },
      ];
      assert.deepEqual(seenByA, expected, "the other member");
      assert.deepEqual(seenByB, expected, "the sender");
      assert.notEqual(a, b);
      const shown = (await chatMessages(main)).filter((m) => m.content === "ping");
      assert.deepEqual(shown, [{ from: b, room: "blue", content: "ping" }]);
    } finally {
      await peer.close();
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

  it("gap 1: /ws/binary echoes a 16 MiB message byte-exact; 16 MiB + 1 byte closes with 1009 (raw client)", { timeout: TEST }, async () => {
    const exact = randomBytes(MiB16);
    const echo = await upgrade(base, "/ws/binary");
    assert.equal(echo.status, 101);
    try {
      assert.equal(await echo.ws.sendBinary(exact), null);
      const ev = await echo.ws.until((e) => e.type !== "text", STEP, "echo of 16 MiB");
      assert.equal(ev.type, "binary", `got ${ev.type} ${ev.code ?? ""} ${ev.reason ?? ""}`);
      assert.equal(ev.data.length, MiB16);
      assert.ok(ev.data.equals(exact), "16 MiB echo differs");
    } finally {
      await echo.ws.close();
    }

    // Sent by a client that listens while it sends (as Chromium does): the
    // server refuses on the frame's announced length, from its head.
    const tooBig = await upgrade(base, "/ws/binary");
    assert.equal(tooBig.status, 101);
    try {
      const over = Buffer.concat([exact, Buffer.from([0x5a])]);
      const wrote = await tooBig.ws.streamBinary(over);
      const ev = await tooBig.ws.until((e) => e.type === "close" || e.type === "eof", STEP, "close after 16 MiB + 1");
      assert.equal(ev.type, "close", `no Close frame (wrote ${wrote} bytes, socket error ${tooBig.ws.error?.code})`);
      assert.equal(ev.code, 1009, `close ${ev.code} ${ev.reason}`);
      await tooBig.ws.until((e) => e.type === "eof", STEP, "server's end of the connection after 1009");
    } finally {
      tooBig.ws.destroy();
    }
  });

  it("gap 1: Chromium sending 16 MiB + 1 byte on /ws/binary gets close code 1009; 16 MiB echoes", { timeout: TEST }, async () => {
    const result = await main.evaluate(async (size) => {
      const url = location.origin.replace(/^http/, "ws") + "/ws/binary";
      const random = (n) => {
        const buf = new Uint8Array(n);
        for (let at = 0; at < n; at += 65536) crypto.getRandomValues(buf.subarray(at, at + 65536));
        return buf;
      };
      const once = (data) =>
        new Promise((resolve) => {
          const ws = new WebSocket(url);
          ws.binaryType = "arraybuffer";
          const timer = setTimeout(() => resolve({ timeout: true }), 15000);
          ws.onopen = () => ws.send(data);
          ws.onmessage = (e) => {
            clearTimeout(timer);
            const got = new Uint8Array(e.data);
            resolve({ length: got.length, same: got.length === data.length && got.every((b, i) => b === data[i]) });
            ws.close(1000);
          };
          ws.onclose = (e) => {
            clearTimeout(timer);
            resolve({ code: e.code, reason: e.reason });
          };
        });
      return { exact: await once(random(size)), over: await once(random(size + 1)) };
    }, MiB16);
    assert.deepEqual(result.exact, { length: MiB16, same: true });
    assert.equal(result.over.code, 1009, JSON.stringify(result.over));
  });

  it("gap 1: a peer that writes all of 16 MiB + 1 before reading also learns 1009 (the server lingers instead of resetting)", {
    timeout: TEST,
  }, async () => {
    const over = randomBytes(MiB16 + 1);
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      const res = await upgrade(base, "/ws/binary");
      try {
        await res.ws.sendBinary(over); // one write, as a blocking client would
        const ev = await res.ws.until((e) => e.type === "close" || e.type === "eof", STEP, "close after 16 MiB + 1");
        outcomes.push(ev.type === "close" ? ev.code : `eof (${res.ws.error?.code ?? "no error"})`);
      } finally {
        res.ws.destroy();
      }
    }
    assert.deepEqual(outcomes, [1009, 1009, 1009]);
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

  it("gap 4: the text `ping` on /ws/heartbeat is answered {\"type\":\"pong\"}", { timeout: TEST }, async () => {
    const res = await upgrade(base, "/ws/heartbeat");
    assert.equal(res.status, 101);
    try {
      await res.ws.sendText("ping");
      const reply = await res.ws.until((e) => e.type !== "binary", STEP, "answer to ping");
      assert.deepEqual(reply, { type: "text", data: '{"type":"pong"}' });
    } finally {
      await res.ws.close();
    }
  });

  it("gap 4/8: a peer that never answers protocol pings is dropped 5 s after the upgrade and counted as heartbeat_timeout", { timeout: TEST }, async () => {
    const labels = { reason: "heartbeat_timeout", route: "/ws/heartbeat" };
    const counted = async () =>
      sample(await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text(), "wirehub_connections_closed_total", labels);
    const before = (await counted()) ?? 0;

    const res = await upgrade(base, "/ws/heartbeat", { autoPong: false });
    assert.equal(res.status, 101);
    try {
      const seen = [];
      await res.ws.until((e) => (seen.push(e), e.type === "eof"), 10_000, "the server to drop a silent peer");
      const after = res.ws.eofAt - res.openedAt;
      const pings = res.ws.pings.map((t) => Math.round(t - res.openedAt));
      assert.ok(after >= 4500 && after <= 7000, `dropped ${Math.round(after)} ms after the upgrade (pings at ${pings} ms)`);
      assert.ok(pings.length >= 1, "the server pinged before dropping");
      assert.ok(pings.every((t) => t < after), `pings at ${pings} ms`);
      assert.ok(seen.every((e) => e.type === "close" || e.type === "eof"), `only a Close before the end: ${JSON.stringify(seen)}`);
    } finally {
      res.ws.destroy();
    }
    // The connection task counts the close right after it dropped the socket,
    // so the first scrape may just miss it: scrape again, for at most 2 s.
    const deadline = performance.now() + 2000;
    let now = await counted();
    while (!(now >= before + 1) && performance.now() < deadline) now = await counted();
    assert.ok(now >= 1 && now >= before + 1, `wirehub_connections_closed_total${JSON.stringify(labels)} = ${now} (was ${before})`);
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
