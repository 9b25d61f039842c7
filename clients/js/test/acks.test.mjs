// Acknowledgements (ids, success, error replies, timeouts, disconnects, the
// queue) and cleanup on close, against fake sockets with mocked timers.

import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { WirehubClient } from "../wirehub.js";
import { FakeSocket } from "./fake-socket.mjs";

const URL_ = "ws://127.0.0.1:9/chat/lobby";

function openClient(options = {}) {
  const client = new WirehubClient(URL_, { WebSocket: FakeSocket, ping: false, reconnect: { initialDelay: 100, jitter: 0 }, ...options });
  client.connect();
  FakeSocket.last.open();
  return client;
}

/** Whether `promise` has settled, after the microtasks queued so far ran. */
async function settled(promise) {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe("acknowledgements", () => {
  beforeEach(() => {
    FakeSocket.reset();
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
  });
  afterEach(() => mock.timers.reset());

  it("resolve with the ack that echoes the generated id, once", async () => {
    const client = openClient();
    const messages = [];
    client.on("message", (m) => messages.push(m));
    const one = client.send({ type: "message", text: "hi" }, { ack: true });
    const two = client.request({ type: "message", text: "again" });
    const [first, second] = FakeSocket.last.sentJson;
    assert.deepEqual(first, { type: "message", text: "hi", id: first.id });
    assert.equal(typeof first.id, "string");
    assert.notEqual(first.id, second.id);
    assert.equal(client.pending, 2);
    FakeSocket.last.receive({ type: "message", room: "lobby", text: "again", pos: "1-2" });
    FakeSocket.last.receive({ type: "ack", id: second.id, pos: "1-2" });
    FakeSocket.last.receive({ type: "ack", id: first.id, pos: "1-1" });
    assert.deepEqual(await two, { type: "ack", id: second.id, pos: "1-2" });
    assert.deepEqual(await one, { type: "ack", id: first.id, pos: "1-1" });
    assert.equal(client.pending, 0);
    // A second ack of the same id is no longer awaited: an ordinary message.
    FakeSocket.last.receive({ type: "ack", id: first.id });
    assert.deepEqual(messages.map((m) => m.type), ["message", "ack"]);
    client.close();
  });

  it("keep a string id the message already has, and refuse one already awaited", async () => {
    const client = openClient();
    const ack = client.request({ type: "message", text: "x", id: "mine-1" });
    assert.equal(FakeSocket.last.sentJson[0].id, "mine-1");
    await assert.rejects(client.request({ type: "message", id: "mine-1" }), TypeError);
    await assert.rejects(client.request("plain text"), TypeError);
    FakeSocket.last.receive({ type: "ack", id: "mine-1" });
    assert.equal((await ack).id, "mine-1");
    client.close();
  });

  it("reject with the server's error reply (kind rejected, its code)", async () => {
    const client = openClient();
    const ack = client.request({ type: "nonsense" });
    const { id } = FakeSocket.last.sentJson[0];
    FakeSocket.last.receive({ type: "error", id, error: "unknown message type `nonsense`", code: "bad_message" });
    const err = await ack.catch((e) => e);
    assert.equal(err.kind, "rejected");
    assert.equal(err.code, "bad_message");
    assert.equal(err.message, "unknown message type `nonsense`");
    assert.equal(err.reply.id, id);
    assert.equal(client.pending, 0);
    client.close();
  });

  it("time out after exactly `timeout` ms, and a late ack changes nothing", async () => {
    const client = openClient({ ackTimeout: 5000 });
    const own = client.request({ type: "message", text: "a" }, { timeout: 300 });
    const dflt = client.request({ type: "message", text: "b" });
    mock.timers.tick(299);
    assert.equal(await settled(own), false);
    mock.timers.tick(1);
    await assert.rejects(own, { kind: "timeout" });
    mock.timers.tick(4699);
    assert.equal(await settled(dflt), false);
    mock.timers.tick(1);
    await assert.rejects(dflt, { kind: "timeout" });
    assert.equal(client.pending, 0);
    FakeSocket.last.receive({ type: "ack", id: FakeSocket.last.sentJson[0].id });
    assert.equal(client.pending, 0);
    client.close();
  });

  it("reject those sent on a lost connection with `disconnected`; queued ones go out on the next", async () => {
    const client = openClient();
    const sent = client.request({ type: "message", text: "in flight" });
    const first = FakeSocket.last;
    first.drop(1006);
    await assert.rejects(sent, { kind: "disconnected" });
    assert.equal(client.state, "reconnecting");
    const queued = client.request({ type: "message", text: "while away" });
    assert.equal(client.send("plain while away"), true);
    assert.equal(client.queued, 2);
    mock.timers.tick(100);
    const second = FakeSocket.last;
    assert.notEqual(second, first);
    assert.deepEqual(second.sent, [], "nothing is written before the socket opens");
    second.open();
    assert.equal(client.queued, 0);
    const [msg, plain] = second.sent;
    assert.equal(JSON.parse(msg).text, "while away");
    assert.equal(plain, "plain while away");
    second.receive({ type: "ack", id: JSON.parse(msg).id });
    assert.equal((await queued).type, "ack");
    client.close();
  });

  it("that time out while queued are never sent", async () => {
    const client = new WirehubClient(URL_, { WebSocket: FakeSocket, ping: false });
    const stale = client.request({ type: "message", text: "stale" }, { timeout: 50 }); // connects
    assert.equal(client.state, "connecting");
    mock.timers.tick(50);
    await assert.rejects(stale, { kind: "timeout" });
    assert.equal(client.queued, 0);
    FakeSocket.last.open();
    assert.deepEqual(FakeSocket.last.sent, []);
    client.close();
  });

  it("reject with queue_full beyond the queue bound; plain sends return false", async () => {
    const client = new WirehubClient(URL_, { WebSocket: FakeSocket, ping: false, queue: 2 });
    assert.equal(client.send("one"), true);
    const two = client.request({ type: "message", text: "two" });
    assert.equal(client.send("three"), false);
    await assert.rejects(client.request({ type: "message", text: "four" }), { kind: "queue_full" });
    assert.equal(client.queued, 2);
    assert.equal(client.pending, 1);
    client.close();
    await assert.rejects(two, { kind: "closed" });
  });

  it("close(): every pending ack rejects with `closed`, nothing is left to fire", async () => {
    const client = openClient({ ping: { interval: 1000, timeout: 500 } });
    const events = [];
    for (const t of ["open", "close", "reconnecting", "message"]) client.on(t, () => events.push(t));
    const acks = [1, 2, 3].map((n) => client.request({ type: "message", text: String(n) }));
    const socket = FakeSocket.last;
    client.close(1000, "bye");
    assert.deepEqual(socket.closedWith, { code: 1000, reason: "bye" });
    for (const ack of acks) await assert.rejects(ack, { kind: "closed" });
    assert.equal(client.pending, 0);
    assert.equal(client.queued, 0);
    assert.equal(client.state, "closed");
    assert.deepEqual(events, ["close"]);
    // No timer survives: ack timeouts, the ping, a retry would all act here.
    mock.timers.tick(3_600_000);
    socket.receive({ type: "message", text: "after close" }); // detached: ignored
    assert.deepEqual(events, ["close"]);
    assert.deepEqual(socket.sent.filter((s) => s === "ping"), [], "no ping after close");
    assert.equal(FakeSocket.all.length, 1, "no reconnect after close");
    assert.equal(client.send("late"), false);
    await assert.rejects(client.request({ type: "message" }), { kind: "closed" });
  });

  it("a close() from a close listener stops the reconnection", () => {
    const client = openClient();
    client.on("close", () => client.close());
    let retried = false;
    client.on("reconnecting", () => (retried = true));
    FakeSocket.last.drop(1001);
    mock.timers.tick(60_000);
    assert.equal(retried, false);
    assert.equal(FakeSocket.all.length, 1);
    assert.equal(client.state, "closed");
  });
});
