// Backoff and jitter: the pure function, then the delays the client really
// waits between failed attempts (fake sockets, mocked timers).

import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, DEFAULTS, WirehubClient } from "../wirehub.js";
import { FakeSocket } from "./fake-socket.mjs";

describe("backoffDelay", () => {
  it("doubles from initialDelay up to maxDelay without jitter", () => {
    const options = { initialDelay: 100, maxDelay: 1000, jitter: 0 };
    const delays = [0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, options));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it("stays within [base * (1 - jitter), base] for any random number", () => {
    for (const jitter of [0, 0.25, 0.5, 1]) {
      for (let attempt = 0; attempt < 40; attempt++) {
        const base = Math.min(DEFAULTS.reconnect.maxDelay, DEFAULTS.reconnect.initialDelay * 2 ** attempt);
        for (const r of [0, 0.5, 0.999999, Math.random()]) {
          const d = backoffDelay(attempt, { jitter }, () => r);
          assert.ok(d >= base * (1 - jitter) && d <= base, `attempt ${attempt} jitter ${jitter} random ${r}: ${d} vs base ${base}`);
        }
      }
    }
  });

  it("spreads retries: 1000 draws with jitter 0.5 cover the lower and the upper half", () => {
    const draws = Array.from({ length: 1000 }, () => backoffDelay(2, { initialDelay: 100, jitter: 0.5 }));
    assert.ok(draws.some((d) => d < 300) && draws.some((d) => d > 300), "both halves of [200, 400]");
    assert.ok(draws.every((d) => d >= 200 && d <= 400));
  });

  it("is finite and capped for huge attempts and zero for a zero initial delay", () => {
    assert.equal(backoffDelay(10_000, { jitter: 0 }), DEFAULTS.reconnect.maxDelay);
    assert.equal(backoffDelay(10_000, { initialDelay: 0, jitter: 0 }), 0);
    assert.equal(backoffDelay(3, { factor: 1, initialDelay: 70, jitter: 0 }), 70);
  });

  it("rejects impossible options when a client is built", () => {
    const make = (reconnect) => () => new WirehubClient("ws://x/", { WebSocket: FakeSocket, reconnect });
    assert.throws(make({ jitter: 1.5 }), RangeError);
    assert.throws(make({ factor: 0.5 }), RangeError);
    assert.throws(make({ initialDelay: 500, maxDelay: 100 }), RangeError);
    assert.throws(make({ initialDelay: -1 }), RangeError);
    assert.throws(() => new WirehubClient("ws://x/", { WebSocket: FakeSocket, ping: { interval: 0 } }), RangeError);
    assert.throws(() => new WirehubClient("ws://x/", {}), /WebSocket/, "no WebSocket in Node 20 without the option");
  });
});

describe("the client's retries", () => {
  beforeEach(() => {
    FakeSocket.reset();
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
  });
  afterEach(() => mock.timers.reset());

  const reconnect = { initialDelay: 100, maxDelay: 1000, jitter: 0.5, stableAfter: 5000 };

  function failingClient(random) {
    const client = new WirehubClient("ws://127.0.0.1:9/room", { WebSocket: FakeSocket, reconnect, ping: false, random });
    const waits = [];
    client.on("reconnecting", (d) => waits.push(d));
    return { client, waits };
  }

  it("waits backoffDelay(n) before attempt n+1, then connects again", () => {
    const randoms = [0.9, 0.1, 0.5, 0, 0.99, 0.3];
    let i = 0;
    const { client, waits } = failingClient(() => randoms[i++ % randoms.length]);
    client.connect();
    for (let n = 0; n < 6; n++) {
      assert.equal(FakeSocket.all.length, n + 1);
      FakeSocket.last.drop(1006); // connection refused
      const expected = backoffDelay(n, reconnect, () => randoms[n]);
      assert.deepEqual(waits.at(-1), { attempt: n + 1, delay: expected, code: 1006, reason: "" });
      mock.timers.tick(expected - 1);
      assert.equal(FakeSocket.all.length, n + 1, `no attempt before ${expected} ms`);
      mock.timers.tick(1);
      assert.equal(FakeSocket.all.length, n + 2, `attempt ${n + 2} after ${expected} ms`);
    }
    assert.ok(waits.every((w, n) => w.delay <= Math.min(1000, 100 * 2 ** n) && w.delay >= Math.min(1000, 100 * 2 ** n) / 2));
    client.close();
  });

  it("starts over from initialDelay only after a connection stayed open stableAfter ms", () => {
    const { client, waits } = failingClient(() => 0);
    client.connect();
    FakeSocket.last.drop();
    mock.timers.tick(waits.at(-1).delay);
    FakeSocket.last.drop();
    mock.timers.tick(waits.at(-1).delay);
    assert.deepEqual(waits.map((w) => w.delay), [100, 200]);
    FakeSocket.last.open();
    mock.timers.tick(4999);
    FakeSocket.last.drop(1001); // short-lived: the backoff keeps growing
    assert.equal(waits.at(-1).delay, 400);
    mock.timers.tick(400);
    FakeSocket.last.open();
    mock.timers.tick(5000);
    FakeSocket.last.drop(1001); // stable: back to the first delay
    assert.equal(waits.at(-1).delay, 100);
    assert.equal(waits.at(-1).attempt, 1);
    client.close();
  });

  it("gives up after maxAttempts: state closed, close event, pending rejected", async () => {
    const client = new WirehubClient("ws://127.0.0.1:9/room", { WebSocket: FakeSocket, reconnect: { ...reconnect, maxAttempts: 2 }, ping: false });
    const closes = [];
    client.on("close", (d) => closes.push(d));
    const connected = client.connect();
    const ack = client.request({ type: "message", text: "never" });
    FakeSocket.last.drop();
    mock.timers.tick(1000);
    FakeSocket.last.drop();
    mock.timers.tick(1000);
    FakeSocket.last.drop();
    assert.equal(FakeSocket.all.length, 3);
    assert.equal(client.state, "closed");
    assert.deepEqual(closes, [{ code: 1006, reason: "", wasClean: false, wasOpen: false, willReconnect: false }]);
    await assert.rejects(ack, { kind: "closed" });
    await assert.rejects(connected, { kind: "closed" });
    assert.equal(client.pending, 0);
    mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 3, "no attempt after giving up");
  });

  it("retries after an error event that no close event follows", () => {
    const { client, waits } = failingClient(() => 0);
    client.connect();
    FakeSocket.last.fail();
    assert.deepEqual(waits, [{ attempt: 1, delay: 100, code: 1006, reason: "error" }]);
    assert.deepEqual(FakeSocket.all[0].closedWith, { code: 4000, reason: "error" });
    mock.timers.tick(100);
    assert.equal(FakeSocket.all.length, 2);
    client.close();
  });

  it("does not reconnect when reconnect is false", () => {
    const client = new WirehubClient("ws://127.0.0.1:9/room", { WebSocket: FakeSocket, reconnect: false, ping: false });
    client.connect();
    FakeSocket.last.open();
    FakeSocket.last.drop(1001);
    assert.equal(client.state, "closed");
    mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 1);
  });
});
