// wirehub browser client: one reconnecting WebSocket to one wirehub route URL.
// Plain ESM, no dependencies, no build step; also runs in Node 20+ (pass the
// WebSocket constructor). Types: wirehub.d.ts. Protocol: README.md.
//
// Invariants: at most one socket per client; every frame of an old socket is
// ignored (a generation counter); every pending acknowledgement is settled
// exactly once (ack, error, timeout, disconnect or close) and its timer
// cleared; close() leaves no timer and no pending entry behind.

/** The defaults of every option (milliseconds for durations). */
export const DEFAULTS = Object.freeze({
  reconnect: Object.freeze({ initialDelay: 250, maxDelay: 10_000, factor: 2, jitter: 0.5, stableAfter: 5_000, maxAttempts: Infinity }),
  ping: Object.freeze({ interval: 20_000, timeout: 10_000, message: "ping", pong: '{"type":"pong"}' }),
  ackTimeout: 10_000,
  connectTimeout: 10_000,
  queue: 100,
  resumeParam: "since",
});

const OPEN = 1; // WebSocket.OPEN, the same in every implementation
const DEAD = 4000; // close code of a link this client gave up on (ping or connect timeout)

/**
 * The wait before reconnect attempt `attempt` (0 for the first): exponential
 * (`initialDelay * factor ** attempt`), capped at `maxDelay`, then shortened
 * by up to `jitter` of itself at random, so the result lies in
 * `[base * (1 - jitter), base]`.
 *
 * @param {number} attempt
 * @param {Partial<typeof DEFAULTS.reconnect>} [options]
 * @param {() => number} [random] uniform in [0, 1)
 * @returns {number}
 * @example backoffDelay(3, { initialDelay: 100, jitter: 0 }) // 800
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { initialDelay, maxDelay, factor, jitter } = { ...DEFAULTS.reconnect, ...options };
  const grown = initialDelay * factor ** Math.min(attempt, 64);
  const base = Math.min(maxDelay, Number.isFinite(grown) ? grown : maxDelay);
  return base * (1 - jitter * random());
}

/**
 * Why a send or request failed. `kind` is one of `timeout`, `disconnected`
 * (the connection it went out on was lost before the answer), `closed`
 * (the client was closed), `queue_full`, `rejected` (the server answered
 * `{"type":"error"}`: `code` and `reply` hold its fields).
 */
export class WirehubError extends Error {
  /**
   * @param {"timeout"|"disconnected"|"closed"|"queue_full"|"rejected"} kind
   * @param {string} message
   * @param {{code?: string, reply?: object}} [extra]
   */
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = "WirehubError";
    this.kind = kind;
    this.code = extra.code;
    this.reply = extra.reply;
  }
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function checkOptions(reconnect, ping) {
  const bad = (what) => {
    throw new RangeError(`wirehub: ${what}`);
  };
  if (reconnect) {
    const { initialDelay, maxDelay, factor, jitter, stableAfter, maxAttempts } = reconnect;
    if (!(initialDelay >= 0 && maxDelay >= initialDelay)) bad("reconnect delays need 0 <= initialDelay <= maxDelay");
    if (!(factor >= 1)) bad("reconnect.factor must be at least 1");
    if (!(jitter >= 0 && jitter <= 1)) bad("reconnect.jitter must lie in [0, 1]");
    if (!(stableAfter >= 0 && maxAttempts >= 0)) bad("reconnect.stableAfter and maxAttempts must not be negative");
  }
  if (ping && !(ping.interval > 0 && ping.timeout > 0)) bad("ping.interval and ping.timeout must be positive");
}

/** Resolves a relative URL against the page and turns http(s) into ws(s). */
function socketUrl(url) {
  const u = new URL(url, globalThis.location?.href);
  if (u.protocol === "http:" || u.protocol === "https:") u.protocol = u.protocol === "http:" ? "ws:" : "wss:";
  return u;
}

/**
 * A reconnecting client of one wirehub route URL (for a room route, one room).
 * Typed by what it sends (`Send`, the route's inbound messages) and what it
 * receives (`Recv`, the route's outbound messages).
 *
 * @template {object} [Send=object]
 * @template {object} [Recv=object]
 * @example
 * const chat = new WirehubClient("/chat/lobby");
 * chat.on("message", (m) => console.log(m));
 * await chat.connect();
 * const ack = await chat.send({ type: "message", text: "hi" }, { ack: true });
 */
export class WirehubClient extends EventTarget {
  #url; // URL without the resume parameter
  #key; // the positions map's key
  #WebSocket;
  #reconnect;
  #ping;
  #ackTimeout;
  #connectTimeout;
  #queueMax;
  #resumeParam;
  #positions;
  #random;

  #state = "idle";
  #ws = null;
  #generation = 0; // of the current socket; frames of older ones are ignored
  #attempt = 0;
  #openedAt = 0;
  #everOpened = false;
  #timers = { retry: null, connect: null, pingEvery: null, pingDue: null };
  #pending = new Map(); // id -> { resolve, reject, timer, sentOn }
  #queue = []; // { text, id } written while not open, flushed on open
  #requests = new Map(); // type -> handler
  #nextId = 0;
  #connected = null; // { promise, resolve, reject } of connect()

  /**
   * @param {string | URL} url `ws(s)://`, `http(s)://` or relative to the page
   * @param {import("./wirehub.js").ClientOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WebSocketImpl !== "function") {
      throw new TypeError("wirehub: no WebSocket here (Node 20: pass options.WebSocket or run with --experimental-websocket)");
    }
    this.#WebSocket = WebSocketImpl;
    this.#reconnect = options.reconnect === false ? null : { ...DEFAULTS.reconnect, ...options.reconnect };
    this.#ping = options.ping === false ? null : { ...DEFAULTS.ping, ...options.ping };
    checkOptions(this.#reconnect, this.#ping);
    this.#ackTimeout = options.ackTimeout ?? DEFAULTS.ackTimeout;
    this.#connectTimeout = options.connectTimeout ?? DEFAULTS.connectTimeout;
    this.#queueMax = options.queue ?? DEFAULTS.queue;
    this.#resumeParam = options.resumeParam === false ? null : (options.resumeParam ?? DEFAULTS.resumeParam);
    this.#positions = options.positions ?? new Map();
    this.#random = options.random ?? Math.random;
    this.#url = socketUrl(url);
    const given = this.#resumeParam && this.#url.searchParams.get(this.#resumeParam);
    if (this.#resumeParam) this.#url.searchParams.delete(this.#resumeParam);
    this.#key = this.#url.href;
    if (given) this.#positions.set(this.#key, given);
  }

  /** The route URL, without the resume parameter. */
  get url() {
    return this.#key;
  }
  /** `idle`, `connecting`, `open`, `reconnecting` or `closed`. */
  get state() {
    return this.#state;
  }
  /** The last `pos` received on this URL (sent back as `?since=` on reconnect). */
  get position() {
    return this.#positions.get(this.#key);
  }
  /** How many acknowledgements are awaited. */
  get pending() {
    return this.#pending.size;
  }
  /** How many messages wait for the connection to open. */
  get queued() {
    return this.#queue.length;
  }

  /**
   * Starts connecting (once; later calls return the same promise). Resolves
   * when the first connection opens; rejects if the client is closed first.
   * @returns {Promise<void>}
   */
  connect() {
    if (!this.#connected) {
      let resolve, reject;
      const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {}); // a caller that never awaits is not an unhandled rejection
      this.#connected = { promise, resolve, reject };
      if (this.#state === "idle") this.#open();
      else if (this.#state === "closed") reject(new WirehubError("closed", "the client is closed"));
    }
    return this.#connected.promise;
  }

  /**
   * Sends `message` (an object is sent as JSON, a string as is). Without
   * `{ack: true}` returns whether it was written or queued; with it, returns
   * a promise of the server's `{"type":"ack"}` (see `request`).
   */
  send(message, options = {}) {
    if (options.ack) return this.request(message, options);
    if (this.#state === "closed") return false;
    return this.#write(typeof message === "string" ? message : JSON.stringify(message), null);
  }

  /**
   * Sends `message` with an `id` (its own if it has a string one, else a
   * fresh one) and resolves with the acknowledgement carrying that id, or
   * rejects with a WirehubError: `rejected` (the server's error reply),
   * `timeout` (after `timeout` ms, default `ackTimeout`), `disconnected`,
   * `closed` or `queue_full`. Sent while not connected, it waits in the queue.
   *
   * @param {Send} message
   * @param {{timeout?: number}} [options]
   * @returns {Promise<object>}
   */
  request(message, { timeout = this.#ackTimeout } = {}) {
    if (this.#state === "closed") return Promise.reject(new WirehubError("closed", "the client is closed"));
    if (!isObject(message)) return Promise.reject(new TypeError("wirehub: an acknowledged message is a JSON object"));
    const id = typeof message.id === "string" ? message.id : `c${++this.#nextId}`;
    if (this.#pending.has(id)) return Promise.reject(new TypeError(`wirehub: id ${JSON.stringify(id)} is already awaited`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, null, new WirehubError("timeout", `no acknowledgement for ${id} in ${timeout} ms`)), timeout);
      this.#pending.set(id, { resolve, reject, timer, sentOn: 0 });
      if (!this.#write(JSON.stringify({ ...message, id }), id)) {
        this.#settle(id, null, new WirehubError("queue_full", `${this.#queue.length} messages already wait for the connection`));
      }
    });
  }

  /**
   * Answers the server's requests of `type` (frames with that `type` and an
   * `id`): the handler's result (an object's fields) goes back as
   * `{"type":"ack","id":..}`, a throw as `{"type":"error","id":..,"error":..}`.
   * Returns a function that removes the handler.
   */
  onRequest(type, handler) {
    this.#requests.set(type, handler);
    return () => {
      if (this.#requests.get(type) === handler) this.#requests.delete(type);
    };
  }

  /** Listens to event `type` with a function of its `detail`; returns the unsubscriber. */
  on(type, listener) {
    const wrapped = (event) => listener(event.detail);
    this.addEventListener(type, wrapped);
    return () => this.removeEventListener(type, wrapped);
  }

  /**
   * Closes the connection for good: the queue is dropped, pending
   * acknowledgements reject with `closed`, no timer is left.
   */
  close(code = 1000, reason = "") {
    if (this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    const ws = this.#detach();
    this.#clearTimers();
    if (ws) {
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.#failAll(new WirehubError("closed", "the client was closed"));
    this.#connected?.reject(new WirehubError("closed", "the client was closed before it connected"));
    this.#emit("close", { code, reason, wasClean: true, wasOpen, willReconnect: false });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #open() {
    this.#state = "connecting";
    const generation = ++this.#generation;
    const url = new URL(this.#url);
    const since = this.#resumeParam && this.#positions.get(this.#key);
    if (since) url.searchParams.set(this.#resumeParam, since);
    let ws;
    try {
      ws = new this.#WebSocket(url.href);
    } catch (err) {
      this.#lost({ code: 1006, reason: String(err?.message ?? err), wasClean: false });
      return;
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    const current = () => generation === this.#generation;
    ws.onopen = () => current() && this.#opened();
    ws.onmessage = (event) => current() && this.#frame(event.data);
    ws.onclose = (event) => current() && this.#lost({ code: event.code, reason: event.reason, wasClean: event.wasClean });
    // Browsers follow an error with a close event; undici (Node 20) may not when a connect fails.
    ws.onerror = () => current() && this.#drop("error", 1006);
    this.#timers.connect = setTimeout(() => this.#drop("connect timeout"), this.#connectTimeout);
  }

  #opened() {
    clearTimeout(this.#timers.connect);
    this.#timers.connect = null;
    this.#state = "open";
    this.#openedAt = Date.now();
    const reconnected = this.#everOpened;
    this.#everOpened = true;
    if (this.#ping) this.#timers.pingEvery = setInterval(() => this.#pingNow(), this.#ping.interval);
    const queue = this.#queue;
    this.#queue = [];
    for (const { text, id } of queue) this.#write(text, id);
    this.#connected?.resolve();
    this.#emit("open", { url: this.#key, reconnected });
  }

  #pingNow() {
    if (this.#timers.pingDue || this.#ws?.readyState !== OPEN) return;
    this.#ws.send(this.#ping.message);
    this.#timers.pingDue = setTimeout(() => this.#drop("ping timeout"), this.#ping.timeout);
  }

  /** Gives up on the current socket without waiting for its close handshake; events report `code`. */
  #drop(reason, code = DEAD) {
    const ws = this.#detach();
    try {
      ws?.close(DEAD, reason);
    } catch {
      // closing already
    }
    this.#lost({ code, reason, wasClean: false });
  }

  /** Unhooks and forgets the current socket: nothing it does reaches this client again. */
  #detach() {
    const ws = this.#ws;
    this.#ws = null;
    this.#generation++;
    if (ws) ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    return ws;
  }

  /** The current socket closed or failed to open: fail what it carried, then retry. */
  #lost({ code, reason, wasClean }) {
    this.#detach();
    for (const [id, entry] of this.#pending) {
      if (entry.sentOn !== 0) this.#settle(id, null, new WirehubError("disconnected", `the connection closed (${code}) before the acknowledgement of ${id}`));
    }
    this.#clearTimers();
    const wasOpen = this.#state === "open";
    if (wasOpen && Date.now() - this.#openedAt >= this.#reconnect?.stableAfter) this.#attempt = 0;
    const willReconnect = this.#reconnect !== null && this.#attempt < this.#reconnect.maxAttempts;
    const detail = { code, reason, wasClean, wasOpen, willReconnect };
    this.#state = willReconnect ? "reconnecting" : "closed";
    if (!willReconnect) {
      this.#failAll(new WirehubError("closed", `the connection closed (${code}) and will not reconnect`));
      this.#connected?.reject(new WirehubError("closed", `the connection closed (${code})`));
      return this.#emit("close", detail);
    }
    if (wasOpen) this.#emit("close", detail);
    if (this.#state === "closed") return; // a listener closed the client
    const delay = backoffDelay(this.#attempt++, this.#reconnect, this.#random);
    this.#timers.retry = setTimeout(() => {
      this.#timers.retry = null;
      this.#open();
    }, delay);
    this.#emit("reconnecting", { attempt: this.#attempt, delay, code, reason });
  }

  #frame(data) {
    clearTimeout(this.#timers.pingDue); // anything received proves the link alive
    this.#timers.pingDue = null;
    if (typeof data !== "string") return this.#emit("binary", data);
    if (this.#ping && data === this.#ping.pong) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return this.#emit("text", data);
    }
    if (!isObject(message)) return this.#emit("text", data);
    const { type, id, pos } = message;
    if (typeof pos === "string" || typeof pos === "number") this.#positions.set(this.#key, String(pos));
    if ((type === "ack" || type === "error") && typeof id === "string" && this.#pending.has(id)) {
      const error = type === "error" && new WirehubError("rejected", String(message.error ?? "rejected"), { code: message.code, reply: message });
      return this.#settle(id, message, error || null);
    }
    if ((typeof id === "string" || typeof id === "number") && this.#requests.has(type)) return this.#answer(message);
    if (type === "recovered") this.#emit("recovered", message);
    this.#emit("message", message);
  }

  /** Runs the request handler and replies on the same connection (dropped if it is gone). */
  #answer(message) {
    const generation = this.#generation;
    const handler = this.#requests.get(message.type);
    const reply = (frame) => {
      if (generation === this.#generation && this.#ws?.readyState === OPEN) this.#ws.send(JSON.stringify(frame));
    };
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (value) => reply({ ...(isObject(value) ? value : value === undefined ? {} : { value }), type: "ack", id: message.id }),
        (err) => reply({ type: "error", id: message.id, error: String(err?.message ?? err), ...(err?.code ? { code: String(err.code) } : {}) }),
      );
  }

  #write(text, id) {
    if (this.#state === "open" && this.#ws?.readyState === OPEN) {
      this.#ws.send(text);
      if (id !== null) this.#pending.get(id).sentOn = this.#generation;
      return true;
    }
    if (this.#state === "closed" || this.#queue.length >= this.#queueMax) return false;
    this.#queue.push({ text, id });
    if (this.#state === "idle") this.connect();
    return true;
  }

  #settle(id, ack, error) {
    const entry = this.#pending.get(id);
    if (!entry) return;
    this.#pending.delete(id);
    clearTimeout(entry.timer);
    if (entry.sentOn === 0) this.#queue = this.#queue.filter((q) => q.id !== id);
    if (error) entry.reject(error);
    else entry.resolve(ack);
  }

  #failAll(error) {
    for (const id of [...this.#pending.keys()]) this.#settle(id, null, error);
    this.#queue = [];
  }

  #clearTimers() {
    clearTimeout(this.#timers.retry);
    clearTimeout(this.#timers.connect);
    clearInterval(this.#timers.pingEvery);
    clearTimeout(this.#timers.pingDue);
    this.#timers = { retry: null, connect: null, pingEvery: null, pingDue: null };
  }
}
