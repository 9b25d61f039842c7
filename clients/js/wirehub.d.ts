// Types of wirehub.js. A route's message types plug in as the two type
// parameters of WirehubClient: `Send` (what the route receives) and `Recv`
// (what it sends), e.g. the generated `ChatIn`/`ChatOut` unions of
// `clients/js/types/`:
//
//   import type { ChatIn, ChatOut } from "./types/chat";
//   const chat = new WirehubClient<ChatIn, ChatOut>("/chat/lobby");
//
// Each union is tagged by a string `type` field.

/** A JSON object message tagged by `type` (the default of both directions). */
export interface Frame {
  type: string;
  [field: string]: unknown;
}

/** The server's acknowledgement of a message sent with an `id`. */
export interface Ack {
  type: "ack";
  id: string;
  [field: string]: unknown;
}

/** The server's refusal of a message sent with an `id` (rejects the promise as a `WirehubError` of kind `rejected`). */
export interface ErrorReply {
  type: "error";
  id: string;
  error: string;
  code?: string;
}

/** The frame that starts a resumed connection (`?since=`): `missed` messages follow when `ok`. */
export interface Recovered {
  type: "recovered";
  ok: boolean;
  missed: number;
}

/** The member of `Recv` tagged `T`, or `Frame & {type: T}` when `Recv` has none. */
export type Tagged<Recv, T extends string> = [Extract<Recv, { type: T }>] extends [never] ? Recv & { type: T } : Extract<Recv, { type: T }>;

/** What `send(.., {ack: true})` resolves with: `Recv`'s ack type if it declares one, else `Ack`. */
export type AckOf<Recv> = [Extract<Recv, { type: "ack" }>] extends [never] ? Ack : Extract<Recv, { type: "ack" }>;

/** The `type` tags of a message union. */
export type TypeOf<M> = M extends { type: infer T extends string } ? T : string;

/** The fields a request handler replies with (sent as `{"type":"ack","id":..,...fields}`). */
export type RequestReply = Record<string, unknown> | void;

export interface ReconnectOptions {
  /** Wait before the first retry, ms. Default 250. */
  initialDelay?: number;
  /** Cap of the wait, ms. Default 10 000. */
  maxDelay?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction in [0, 1] of the wait removed at random. Default 0.5. */
  jitter?: number;
  /** A connection open this long (ms) resets the attempts to 0. Default 5 000. */
  stableAfter?: number;
  /** Attempts in a row before giving up (state `closed`). Default Infinity. */
  maxAttempts?: number;
}

export interface PingOptions {
  /** Application ping period, ms. Default 20 000. */
  interval?: number;
  /** A ping with nothing received for this long (ms) marks the link dead. Default 10 000. */
  timeout?: number;
  /** The ping text (the route's `app_ping`). Default `ping`. */
  message?: string;
  /** The exact answer text, swallowed (the route's `app_pong`). Default `{"type":"pong"}`. */
  pong?: string;
}

/** The part of the WebSocket API the client uses (the browser's, undici's, ws's). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** The WebSocket constructor. Default `globalThis.WebSocket` (absent in Node 20 without `--experimental-websocket`). */
  WebSocket?: WebSocketConstructor;
  /** Reconnection with exponential backoff and jitter, or `false` for none. */
  reconnect?: ReconnectOptions | false;
  /** Application ping, or `false` for none. */
  ping?: PingOptions | false;
  /** Default timeout of an acknowledgement, ms. Default 10 000. */
  ackTimeout?: number;
  /** A connection not open after this long (ms) is dropped and retried. Default 10 000. */
  connectTimeout?: number;
  /** Messages kept while not connected (sent on open). Default 100. */
  queue?: number;
  /** The query parameter a reconnect resumes with (`?since=<last pos>`), or `false`. Default `since`. */
  resumeParam?: string | false;
  /** Last positions by URL; share one map between clients to resume a room you come back to. */
  positions?: Map<string, string>;
  /** Uniform random numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

export interface SendOptions {
  /** Wait for the server's acknowledgement (the returned value becomes a promise). */
  ack?: boolean;
  /** Acknowledgement timeout, ms. Default: the client's `ackTimeout`. */
  timeout?: number;
}

export type ClientState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface OpenDetail {
  url: string;
  /** False on the first connection, true on every reconnection. */
  reconnected: boolean;
}

export interface CloseDetail {
  code: number;
  reason: string;
  wasClean: boolean;
  /** Whether a connection was open (false when the last attempt to connect failed). */
  wasOpen: boolean;
  /** Whether a `reconnecting` follows. */
  willReconnect: boolean;
}

export interface ReconnectingDetail {
  /** 1 for the first retry after a loss. */
  attempt: number;
  /** The wait before it, ms. */
  delay: number;
  code: number;
  reason: string;
}

export interface WirehubEventMap<Recv> {
  open: CustomEvent<OpenDetail>;
  close: CustomEvent<CloseDetail>;
  reconnecting: CustomEvent<ReconnectingDetail>;
  /** Every JSON object frame that is not an awaited ack/error, a request or the pong. */
  message: CustomEvent<Recv>;
  recovered: CustomEvent<Tagged<Recv, "recovered"> & Recovered>;
  /** A text frame that is not a JSON object. */
  text: CustomEvent<string>;
  binary: CustomEvent<ArrayBuffer>;
}

export declare const DEFAULTS: {
  readonly reconnect: Required<ReconnectOptions>;
  readonly ping: Required<PingOptions>;
  readonly ackTimeout: number;
  readonly connectTimeout: number;
  readonly queue: number;
  readonly resumeParam: string;
};

/** The wait before retry `attempt` (0-based): `min(maxDelay, initialDelay * factor ** attempt) * (1 - jitter * random())`. */
export declare function backoffDelay(attempt: number, options?: ReconnectOptions, random?: () => number): number;

export declare class WirehubError extends Error {
  readonly kind: "timeout" | "disconnected" | "closed" | "queue_full" | "rejected";
  /** The server's `code`, for `rejected`. */
  readonly code: string | undefined;
  /** The server's error frame, for `rejected`. */
  readonly reply: ErrorReply | undefined;
}

export declare class WirehubClient<Send extends object = Frame, Recv extends object = Frame> extends EventTarget {
  constructor(url: string | URL, options?: ClientOptions);
  /** The route URL without the resume parameter. */
  readonly url: string;
  readonly state: ClientState;
  /** The last `pos` received (sent back as `?since=` on reconnect). */
  readonly position: string | undefined;
  /** Acknowledgements awaited. */
  readonly pending: number;
  /** Messages waiting for the connection. */
  readonly queued: number;

  /** Starts connecting; resolves on the first open, rejects if closed first. */
  connect(): Promise<void>;
  /** Sends (or queues) a message; false if the client is closed or the queue full. */
  send(message: Send | string, options?: SendOptions & { ack?: false }): boolean;
  /** Sends with an `id` and resolves with its acknowledgement. */
  send(message: Send, options: SendOptions & { ack: true }): Promise<AckOf<Recv>>;
  /** Sends with an `id` and resolves with its acknowledgement. */
  request(message: Send, options?: { timeout?: number }): Promise<AckOf<Recv>>;
  /** Answers the server's requests of `type`; returns the remover. */
  onRequest<T extends TypeOf<Recv>>(type: T, handler: (message: Tagged<Recv, T> & { id: string | number }) => RequestReply | Promise<RequestReply>): () => void;
  /** Listens with a function of the event's detail; returns the remover. */
  on<K extends keyof WirehubEventMap<Recv>>(type: K, listener: (detail: WirehubEventMap<Recv>[K]["detail"]) => void): () => void;
  /** Closes for good: the queue is dropped, pending acknowledgements reject with `closed`. */
  close(code?: number, reason?: string): void;

  addEventListener<K extends keyof WirehubEventMap<Recv>>(
    type: K,
    listener: (event: WirehubEventMap<Recv>[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof WirehubEventMap<Recv>>(
    type: K,
    listener: (event: WirehubEventMap<Recv>[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
