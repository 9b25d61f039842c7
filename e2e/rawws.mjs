// A minimal WebSocket client over a raw `net` socket (RFC 6455), for the
// checks a browser cannot make: custom handshake headers (Authorization), the
// HTTP answer of a refused upgrade, messages of any size, and a peer that
// never answers protocol pings. Node 20 has no global WebSocket and e2e/ adds
// no npm dependency for it.
//
// Every wait takes a timeout; nothing here sleeps.

import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Resolves `promise`, or rejects after `ms` with `what` in the message. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Sends an upgrade request for `target` (path and query) to `base`
 * (http://host:port) and reads the answer's head. Resolves with
 * `{ status, headers, body, ws, socket, openedAt }`: `ws` is a RawWs when the
 * server switched protocols (101, Sec-WebSocket-Accept checked), else `body`
 * holds the HTTP answer's body (read up to Content-Length or EOF).
 */
export async function upgrade(base, target, { headers = {}, timeout = 5000, autoPong = true } = {}) {
  const { hostname, port } = new URL(base);
  const key = randomBytes(16).toString("base64");
  const socket = net.connect({ host: hostname, port: Number(port) });
  socket.setNoDelay(true);
  const lines = [
    `GET ${target} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(lines.join("\r\n") + "\r\n\r\n");

  const head = await within(
    timeout,
    new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const onData = (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        cleanup();
        socket.pause();
        resolve({ text: buf.subarray(0, end).toString("latin1"), rest: buf.subarray(end + 4) });
      };
      const onEnd = () => {
        cleanup();
        reject(new Error(`connection closed before the answer's head (${buf.length} bytes: ${buf.toString("latin1")})`));
      };
      const onError = (err) => {
        cleanup();
        reject(err);
      };
      const cleanup = () => {
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.off("error", onError);
      };
      socket.on("data", onData);
      socket.on("end", onEnd);
      socket.on("error", onError);
    }),
    `answer to the upgrade of ${target}`,
  ).catch((err) => {
    socket.destroy();
    throw err;
  });
  const openedAt = performance.now();

  const [statusLine, ...headerLines] = head.text.split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
  const answer = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) answer[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }

  if (status === 101) {
    const expected = createHash("sha1").update(key + GUID).digest("base64");
    if (answer["sec-websocket-accept"] !== expected) {
      socket.destroy();
      throw new Error(`bad Sec-WebSocket-Accept ${answer["sec-websocket-accept"]} (expected ${expected})`);
    }
    const ws = new RawWs(socket, head.rest, { autoPong });
    return { status, headers: answer, body: "", ws, socket, openedAt };
  }

  // Not upgraded: read the body (Content-Length, else until EOF), then hang up.
  const length = answer["content-length"] === undefined ? Infinity : Number(answer["content-length"]);
  let body = head.rest;
  if (body.length < length) {
    body = await within(
      timeout,
      new Promise((resolve) => {
        const onData = (chunk) => {
          body = Buffer.concat([body, chunk]);
          if (body.length >= length) done();
        };
        const done = () => {
          socket.off("data", onData);
          resolve(body);
        };
        socket.on("data", onData);
        socket.once("end", done);
        socket.once("close", done);
        socket.once("error", done);
        socket.resume();
      }),
      `body of the ${status} answer to ${target}`,
    );
  }
  socket.destroy();
  return { status, headers: answer, body: body.toString("utf8"), ws: null, socket: null, openedAt };
}

/**
 * The client end of an open WebSocket. Events (`next`) are, in arrival
 * order: `{ type: "text", data }`, `{ type: "binary", data }`,
 * `{ type: "close", code, reason }` and finally `{ type: "eof" }` (TCP
 * end, reset or close). Protocol pings are recorded in `pings` (arrival
 * times, performance.now()) and answered unless `autoPong` is false.
 */
export class RawWs {
  constructor(socket, rest, { autoPong = true } = {}) {
    this.socket = socket;
    this.autoPong = autoPong;
    this.pings = [];
    this.closeFrame = null;
    this.eofAt = null;
    this.error = null;
    this.chunks = [];
    this.buffered = 0;
    this.fragments = null; // { opcode, parts } of a message in pieces
    this.queue = [];
    this.waiters = [];
    this.watchers = new Set();
    socket.on("data", (chunk) => this.#feed(chunk));
    socket.on("error", (err) => {
      this.error = err;
      for (const check of this.watchers) check();
    });
    const eof = () => {
      if (this.eofAt !== null) return;
      this.eofAt = performance.now();
      this.#push({ type: "eof" });
    };
    socket.on("end", eof);
    socket.on("close", eof);
    if (rest.length) this.#feed(rest);
    socket.resume();
  }

  /** The next event, waiting at most `timeout` ms. */
  next(timeout = 5000, what = "next WebSocket event") {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    let waiter;
    return within(
      timeout,
      new Promise((resolve) => this.waiters.push((waiter = resolve))),
      what,
    ).catch((err) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  /** The next event that is not a text/binary message matching nothing: skips events until `pred` holds. */
  async until(pred, timeout = 5000, what = "matching WebSocket event") {
    const deadline = performance.now() + timeout;
    const seen = [];
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeout} ms: ${what}; saw ${JSON.stringify(seen.map(brief))}`);
      let ev;
      try {
        ev = await this.next(left, what);
      } catch (err) {
        throw new Error(`${err.message}; saw ${JSON.stringify(seen.map(brief))}`);
      }
      if (pred(ev)) return ev;
      seen.push(ev);
      if (ev.type === "eof") throw new Error(`connection ended before ${what}; saw ${JSON.stringify(seen.map(brief))}`);
    }
  }

  sendText(text) {
    return this.#send(0x1, Buffer.from(text, "utf8"));
  }

  sendBinary(bytes) {
    return this.#send(0x2, bytes);
  }

  /**
   * Sends a binary message as one frame, like a client that listens while it
   * sends: first the frame's head and `piece` bytes of payload, then it gives
   * the server up to `refuseWithin` ms to refuse the message (a Close frame or
   * the end of the connection), and only then the rest, `piece` bytes at a
   * time, stopping once the server has closed. Resolves with the number of
   * payload bytes written.
   *
   * Why: a server that closes with part of the message unread makes the
   * kernel answer the next write with a reset; Node then destroys the socket
   * without reading the Close frame already received.
   */
  async streamBinary(bytes, { piece = 64 * 1024, refuseWithin = 2000 } = {}) {
    const frame = this.#frameOf(0x2, bytes);
    const head = frame.length - bytes.length;
    const over = () => this.closeFrame !== null || this.eofAt !== null || this.error !== null;
    for (let at = 0; at < frame.length; at += at === 0 ? head + piece : piece) {
      if (over()) return Math.max(0, at - head);
      const end = at === 0 ? head + piece : at + piece;
      const err = await new Promise((resolve) => this.socket.write(frame.subarray(at, end), (e) => resolve(e ?? null)));
      if (err) return Math.max(0, Math.min(end, frame.length) - head);
      if (at === 0) await this.#whenever(over, refuseWithin).catch(() => {}); // no refusal: send the rest
    }
    return bytes.length;
  }

  /** Resolves once `pred()` holds (checked after each event), rejects after `timeout` ms. */
  #whenever(pred, timeout) {
    if (pred()) return Promise.resolve();
    let check;
    return within(
      timeout,
      new Promise((resolve) => {
        check = () => pred() && resolve();
        this.watchers.add(check);
      }),
      "server's refusal",
    ).finally(() => this.watchers.delete(check));
  }

  /** Sends a close frame and waits (bounded) for the server's end of the connection. */
  async close(code = 1000, timeout = 5000) {
    if (this.eofAt === null) {
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      await this.#send(0x8, payload).catch(() => {});
      await this.until((ev) => ev.type === "eof", timeout, "end of the connection after our close").catch(() => {});
    }
    this.socket.destroy();
  }

  destroy() {
    this.socket.destroy();
  }

  #send(opcode, payload) {
    const frame = this.#frameOf(opcode, payload);
    // Resolves once the bytes are handed to the kernel; a server that hangs up
    // mid-message makes it resolve with the error instead of throwing.
    return new Promise((resolve) => this.socket.write(frame, (err) => resolve(err ?? null)));
  }

  /** One final, masked frame. */
  #frameOf(opcode, payload) {
    const len = payload.length;
    const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
    const frame = Buffer.allocUnsafe(2 + extra + 4 + len);
    frame[0] = 0x80 | opcode;
    if (extra === 0) frame[1] = 0x80 | len;
    else if (extra === 2) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    const maskAt = 2 + extra;
    randomBytes(4).copy(frame, maskAt);
    const m0 = frame[maskAt], m1 = frame[maskAt + 1], m2 = frame[maskAt + 2], m3 = frame[maskAt + 3];
    const start = maskAt + 4;
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      frame[start + i] = payload[i] ^ m0;
      frame[start + i + 1] = payload[i + 1] ^ m1;
      frame[start + i + 2] = payload[i + 2] ^ m2;
      frame[start + i + 3] = payload[i + 3] ^ m3;
    }
    const mask = [m0, m1, m2, m3];
    for (; i < len; i++) frame[start + i] = payload[i] ^ mask[i & 3];
    return frame;
  }

  #push(ev) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(ev);
    else this.queue.push(ev);
    for (const check of this.watchers) check();
  }

  #take(n) {
    // Takes n bytes off the front of the buffered chunks (n <= this.buffered).
    const joined = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const out = joined.subarray(0, n);
    const left = joined.subarray(n);
    this.chunks = left.length ? [left] : [];
    this.buffered = left.length;
    return out;
  }

  #peek(n) {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  #feed(chunk) {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 2) return;
      const h = this.#peek(Math.min(this.buffered, 14));
      const fin = (h[0] & 0x80) !== 0;
      const opcode = h[0] & 0x0f;
      const masked = (h[1] & 0x80) !== 0;
      let len = h[1] & 0x7f;
      let headLen = 2;
      if (len === 126) {
        if (h.length < 4) return;
        len = h.readUInt16BE(2);
        headLen = 4;
      } else if (len === 127) {
        if (h.length < 10) return;
        len = Number(h.readBigUInt64BE(2));
        headLen = 10;
      }
      if (masked) headLen += 4; // servers must not mask; tolerated but unmasked below
      if (this.buffered < headLen + len) return;
      const frame = this.#take(headLen + len);
      let payload = frame.subarray(headLen);
      if (masked) {
        const key = frame.subarray(headLen - 4, headLen);
        payload = Buffer.from(payload.map((b, i) => b ^ key[i & 3]));
      }
      this.#frame(fin, opcode, payload, masked);
    }
  }

  #frame(fin, opcode, payload, masked) {
    if (masked) this.#push({ type: "protocol-error", reason: "server frame is masked" });
    switch (opcode) {
      case 0x9: // ping
        this.pings.push(performance.now());
        if (this.autoPong) this.#send(0xa, payload);
        return;
      case 0xa: // pong
        return;
      case 0x8: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
        const reason = payload.length > 2 ? payload.subarray(2).toString("utf8") : "";
        this.closeFrame = { code, reason };
        this.#push({ type: "close", code, reason });
        return;
      }
      case 0x0:
        if (!this.fragments) return this.#push({ type: "protocol-error", reason: "continuation without a start" });
        this.fragments.parts.push(payload);
        break;
      case 0x1:
      case 0x2:
        this.fragments = { opcode, parts: [payload] };
        break;
      default:
        return this.#push({ type: "protocol-error", reason: `opcode ${opcode}` });
    }
    if (!fin) return;
    const { opcode: first, parts } = this.fragments;
    this.fragments = null;
    const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.#push(first === 0x1 ? { type: "text", data: data.toString("utf8") } : { type: "binary", data });
  }
}

function brief(ev) {
  if (ev.type === "binary") return { type: "binary", length: ev.data.length };
  if (ev.type === "text") return { type: "text", data: ev.data.length > 200 ? ev.data.slice(0, 200) + "…" : ev.data };
  return ev;
}
