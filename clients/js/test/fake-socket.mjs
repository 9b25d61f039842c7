// A WebSocket stand-in the test drives by hand: it records what the client
// sends and opens, answers or closes only when told. Every instance created
// lands in `FakeSocket.all` (the last one is the client's current socket).

export class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  /** @type {FakeSocket[]} */
  static all = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    this.binaryType = "blob";
    this.sent = [];
    this.closedWith = null;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeSocket.all.push(this);
  }

  static reset() {
    FakeSocket.all = [];
  }

  static get last() {
    return FakeSocket.all.at(-1);
  }

  send(data) {
    if (this.readyState !== FakeSocket.OPEN) throw new Error(`send in state ${this.readyState}`);
    this.sent.push(data);
  }

  close(code = 1000, reason = "") {
    this.closedWith = { code, reason };
    this.readyState = FakeSocket.CLOSED;
  }

  // What the server side does:

  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.({});
  }

  receive(data) {
    this.onmessage?.({ data: typeof data === "string" ? data : JSON.stringify(data) });
  }

  /** The server (or the network) ends the connection. */
  drop(code = 1006, reason = "") {
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }

  /** A failure without a close event (undici's failed connects in Node 20). */
  fail() {
    this.onerror?.({});
  }

  /** The JSON objects sent so far (the pings, plain text, left out). */
  get sentJson() {
    return this.sent.filter((s) => s.startsWith("{")).map((s) => JSON.parse(s));
  }
}
