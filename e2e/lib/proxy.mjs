// A TCP proxy in front of a server, to cut a client's network without
// touching the server: cut() destroys every connection through it and
// refuses new ones until heal().

import net from "node:net";

export class CutProxy {
  #server;
  #sockets = new Set();
  #open = true;

  /** Listens on a free 127.0.0.1 port, forwarding to `target` (a port). */
  static async start(target) {
    const proxy = new CutProxy(target);
    await new Promise((resolve, reject) => {
      proxy.#server.once("error", reject);
      proxy.#server.listen(0, "127.0.0.1", resolve);
    });
    proxy.port = proxy.#server.address().port;
    return proxy;
  }

  constructor(target) {
    this.#server = net.createServer((client) => {
      if (!this.#open) return client.destroy();
      const upstream = net.connect(target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  /** Drops every connection (RST) and refuses new ones. */
  cut() {
    this.#open = false;
    for (const s of this.#sockets) s.resetAndDestroy?.() ?? s.destroy();
  }

  heal() {
    this.#open = true;
  }

  close() {
    this.cut();
    return new Promise((resolve) => this.#server.close(resolve));
  }
}
