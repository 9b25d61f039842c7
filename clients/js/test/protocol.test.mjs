// Server requests, the application ping, resuming with ?since=, and the
// events, against fake sockets with mocked timers.

import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { WirehubClient } from "../wirehub.js";
import { FakeSocket } from "./fake-socket.mjs";

const URL_ = "ws://127.0.0.1:9/chat/lobby";
const client = (options = {}) =>
  new WirehubClient(URL_, { WebSocket: FakeSocket, ping: false, reconnect: { initialDelay: 100, jitter: 0 }, ...options });

/** Lets the microtasks queued so far (async handlers) run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  FakeSocket.reset();
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
});
afterEach(() => mock.timers.reset());

describe("server requests", () => {
  it("are answered once with the handler's fields as an ack echoing the id", async () => {
    const c = client();
    c.connect();
    FakeSocket.last.open();
    const seen = [];
    c.onRequest("confirm", async (m) => (seen.push(m), { ok: true, type: "not mine", id: "not mine" }));
    const messages = [];
    c.on("message", (m) => messages.push(m));
    FakeSocket.last.receive({ type: "confirm", id: 7, question: "sure?" });
    await flush();
    assert.deepEqual(seen, [{ type: "confirm", id: 7, question: "sure?" }]);
    assert.deepEqual(FakeSocket.last.sentJson, [{ ok: true, type: "ack", id: 7 }]);
    assert.deepEqual(messages, [], "a request is not a message");
    c.close();
  });

  it("whose handler throws are answered with an error carrying its message and code", async () => {
    const c = client();
    c.connect();
    FakeSocket.last.open();
    c.onRequest("confirm", () => {
      throw Object.assign(new Error("user said no"), { code: "refused" });
    });
    FakeSocket.last.receive({ type: "confirm", id: "s1" });
    await flush();
    assert.deepEqual(FakeSocket.last.sentJson, [{ type: "error", id: "s1", error: "user said no", code: "refused" }]);
    c.close();
  });

  it("are not answered on a later connection, and an unregistered type with an id is a message", async () => {
    const c = client();
    c.connect();
    FakeSocket.last.open();
    let release;
    const unregister = c.onRequest("confirm", () => new Promise((r) => (release = r)));
    const messages = [];
    c.on("message", (m) => messages.push(m));
    FakeSocket.last.receive({ type: "welcome", id: 42 });
    assert.deepEqual(messages, [{ type: "welcome", id: 42 }]);
    FakeSocket.last.receive({ type: "confirm", id: "s2" });
    await flush();
    const first = FakeSocket.last;
    first.drop(1006);
    mock.timers.tick(100);
    FakeSocket.last.open();
    release({ ok: true });
    await flush();
    assert.deepEqual(first.sent, []);
    assert.deepEqual(FakeSocket.last.sent, []);
    unregister();
    FakeSocket.last.receive({ type: "confirm", id: "s3" });
    assert.equal(messages.at(-1).id, "s3", "without its handler, a request is a message");
    c.close();
  });
});

describe("application ping", () => {
  it("sends `ping` every interval and swallows the pong", () => {
    const c = client({ ping: { interval: 1000, timeout: 400 } });
    const messages = [];
    c.on("message", (m) => messages.push(m));
    c.connect();
    FakeSocket.last.open();
    mock.timers.tick(999);
    assert.deepEqual(FakeSocket.last.sent, []);
    mock.timers.tick(1);
    assert.deepEqual(FakeSocket.last.sent, ["ping"]);
    FakeSocket.last.receive('{"type":"pong"}');
    mock.timers.tick(1000);
    assert.deepEqual(FakeSocket.last.sent, ["ping", "ping"]);
    FakeSocket.last.receive('{"type":"pong"}');
    assert.deepEqual(messages, []);
    assert.equal(c.state, "open");
    c.close();
  });

  it("drops a link that answers nothing within the timeout (4000) and reconnects", () => {
    const c = client({ ping: { interval: 1000, timeout: 400 } });
    const events = [];
    c.on("close", (d) => events.push(["close", d.code, d.reason, d.willReconnect]));
    c.on("reconnecting", (d) => events.push(["reconnecting", d.attempt]));
    c.connect();
    const dead = FakeSocket.last;
    dead.open();
    mock.timers.tick(1000); // the ping goes out (mocked timers: one tick per timer that schedules another)
    assert.deepEqual(dead.sent, ["ping"]);
    mock.timers.tick(399);
    assert.equal(c.state, "open");
    mock.timers.tick(1);
    assert.deepEqual(dead.closedWith, { code: 4000, reason: "ping timeout" });
    assert.deepEqual(events, [["close", 4000, "ping timeout", true], ["reconnecting", 1]]);
    mock.timers.tick(100);
    assert.equal(FakeSocket.all.length, 2);
    c.close();
  });

  it("counts any frame as an answer", () => {
    const c = client({ ping: { interval: 1000, timeout: 400 } });
    c.connect();
    FakeSocket.last.open();
    mock.timers.tick(1000);
    mock.timers.tick(300);
    FakeSocket.last.receive({ type: "message", text: "busy room" });
    mock.timers.tick(700);
    assert.equal(c.state, "open");
    assert.equal(FakeSocket.all.length, 1);
    c.close();
  });

  it("gives up on a socket that does not open within connectTimeout", () => {
    const c = client({ connectTimeout: 2000 });
    c.connect();
    mock.timers.tick(1999);
    assert.equal(c.state, "connecting");
    mock.timers.tick(1);
    assert.deepEqual(FakeSocket.all[0].closedWith, { code: 4000, reason: "connect timeout" });
    assert.equal(c.state, "reconnecting");
    c.close();
  });
});

describe("resuming with ?since=", () => {
  it("reconnects with the last position received, recovered is an event", () => {
    const c = client();
    const events = [];
    c.on("open", (d) => events.push(["open", d.reconnected]));
    c.on("recovered", (d) => events.push(["recovered", d.ok, d.missed]));
    c.connect();
    assert.equal(FakeSocket.last.url, URL_);
    FakeSocket.last.open();
    FakeSocket.last.receive({ type: "message", text: "a", pos: "5-1" });
    FakeSocket.last.receive({ type: "join", id: 3, pos: "5-2" });
    FakeSocket.last.receive({ type: "welcome", id: 3 });
    assert.equal(c.position, "5-2");
    FakeSocket.last.drop(1001);
    mock.timers.tick(100);
    assert.equal(FakeSocket.last.url, `${URL_}?since=5-2`);
    FakeSocket.last.open();
    FakeSocket.last.receive({ type: "recovered", ok: true, missed: 0 });
    assert.deepEqual(events, [["open", false], ["open", true], ["recovered", true, 0]]);
    c.close();
  });

  it("takes a since= given in the URL, keeps other parameters, and shares positions through a map", () => {
    const positions = new Map();
    const a = new WirehubClient("http://127.0.0.1:9/chat/blue?x=1&since=9-9", { WebSocket: FakeSocket, ping: false, positions });
    assert.equal(a.url, "ws://127.0.0.1:9/chat/blue?x=1");
    a.connect();
    assert.equal(FakeSocket.last.url, "ws://127.0.0.1:9/chat/blue?x=1&since=9-9");
    FakeSocket.last.open();
    FakeSocket.last.receive({ type: "message", pos: "9-10" });
    a.close();
    const b = new WirehubClient("ws://127.0.0.1:9/chat/blue?x=1", { WebSocket: FakeSocket, ping: false, positions });
    b.connect();
    assert.equal(FakeSocket.last.url, "ws://127.0.0.1:9/chat/blue?x=1&since=9-10");
    b.close();
  });

  it("sends no since= when resumeParam is false", () => {
    const c = client({ resumeParam: false });
    c.connect();
    FakeSocket.last.open();
    FakeSocket.last.receive({ type: "message", pos: "1-1" });
    FakeSocket.last.drop();
    mock.timers.tick(100);
    assert.equal(FakeSocket.last.url, URL_);
    c.close();
  });
});

describe("frames", () => {
  it("non-JSON text is a text event, binary a binary event, JSON objects messages", () => {
    const c = client();
    const got = [];
    for (const t of ["message", "text", "binary"]) c.on(t, (d) => got.push([t, d]));
    c.connect();
    FakeSocket.last.open();
    assert.equal(FakeSocket.last.binaryType, "arraybuffer");
    FakeSocket.last.receive("hello");
    FakeSocket.last.receive("[1,2]");
    const bytes = new ArrayBuffer(2);
    FakeSocket.last.onmessage({ data: bytes });
    FakeSocket.last.receive({ type: "message", text: "x" });
    assert.deepEqual(got, [["text", "hello"], ["text", "[1,2]"], ["binary", bytes], ["message", { type: "message", text: "x" }]]);
    c.close();
  });
});
