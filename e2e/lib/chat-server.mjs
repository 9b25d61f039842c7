// Runs target/debug/examples/chat as a child process on a port of its own,
// and can kill it and start it again on the same port (a server restart), or
// freeze it (SIGSTOP: sockets stay open, nothing answers) and thaw it.
// Every wait is bounded. Killed at process exit, also on failure.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, "target");
export const CHAT_BINARY = process.env.CHAT_BIN ?? path.join(TARGET, "debug", "examples", "chat");

const live = new Set();
process.on("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

/** A port nobody listens on right now (the OS picks it). */
export function freePort() {
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

export class ChatServer {
  #proc = null;
  #log = "";

  /** Starts the chat example on a free port and waits until it answers HTTP. */
  static async start() {
    if (!existsSync(CHAT_BINARY)) throw new Error(`${CHAT_BINARY} is missing: run \`cargo build --example chat\` (e2e/run.sh does)`);
    const server = new ChatServer(await freePort());
    await server.start();
    return server;
  }

  constructor(port) {
    this.port = port;
    this.base = `http://127.0.0.1:${port}`;
    this.ws = `ws://127.0.0.1:${port}`;
    this.starts = 0;
  }

  /** The last 20 kB of the server's output (for failure messages). */
  get log() {
    return this.#log;
  }

  get running() {
    return this.#proc !== null && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  async start(timeoutMs = 15_000) {
    const env = { ...process.env, PORT: String(this.port), HOST: "127.0.0.1", RUST_LOG: process.env.RUST_LOG ?? "warn" };
    delete env.WIREHUB_REDIS_URL;
    const proc = spawn(CHAT_BINARY, [], { env, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk) => (this.#log = (this.#log + chunk).slice(-20_000));
    proc.stdout.on("data", keep);
    proc.stderr.on("data", keep);
    this.#proc = proc;
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    this.starts++;
    await this.#healthy(timeoutMs);
  }

  /** Kills the process (SIGKILL: no close frames, like a crash) and waits for its exit. */
  async kill(timeoutMs = 5_000) {
    const proc = this.#proc;
    if (!proc || !this.running) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await within(timeoutMs, exited, "the chat server to exit");
  }

  /** Kills the server and starts it again on the same port. */
  async restart() {
    await this.kill();
    await this.start();
  }

  /**
   * Stops the process (SIGSTOP) and waits until every thread of it is
   * stopped (Linux /proc): the signal is delivered asynchronously, and a
   * thread still running could answer one more message.
   */
  async freeze(timeoutMs = 5_000) {
    const pid = this.#proc.pid;
    this.#proc.kill("SIGSTOP");
    const stopped = () =>
      readdirSync(`/proc/${pid}/task`).every((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "latin1");
        return /^\S+ \(.*\) [Tt] /s.test(stat);
      });
    const deadline = performance.now() + timeoutMs;
    while (!stopped()) {
      if (performance.now() > deadline) throw new Error(`the chat (pid ${pid}) did not stop within ${timeoutMs} ms`);
      await new Promise((r) => setImmediate(r));
    }
  }

  thaw() {
    this.#proc?.kill("SIGCONT");
  }

  async #healthy(timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    let last = "no answer";
    while (performance.now() < deadline) {
      if (!this.running) throw new Error(`the chat exited (${this.#proc.exitCode ?? this.#proc.signalCode}):\n${this.#log}`);
      try {
        const res = await fetch(`${this.base}/stats`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
        last = `status ${res.status}`;
      } catch (err) {
        last = String(err.cause?.code ?? err.message);
      }
      // Retry after a short pause: this polls a process that is starting, it synchronises nothing.
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the chat did not answer on ${this.base} within ${timeoutMs} ms (${last}):\n${this.#log}`);
  }
}

/** Resolves `promise`, or rejects after `ms` naming `what`. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
