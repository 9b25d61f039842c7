// Waiting on a WirehubClient without sleeping: every wait is an event or a
// condition with a deadline.

/**
 * Records every event of `types` a client emits, and waits for one whose
 * detail matches (also among those already recorded).
 */
export class Recorder {
  constructor(client, types = ["open", "close", "reconnecting", "message", "recovered", "text"]) {
    this.events = [];
    this.waiters = new Set();
    for (const type of types) {
      client.on(type, (detail) => {
        this.events.push({ type, detail });
        for (const w of this.waiters) w();
      });
    }
  }

  /** The details of the recorded events of `type`. */
  of(type) {
    return this.events.filter((e) => e.type === type).map((e) => e.detail);
  }

  /** The room messages recorded (type "message"). */
  get texts() {
    return this.of("message").filter((m) => m.type === "message").map((m) => m.text);
  }

  /**
   * Resolves with the first recorded event of `type` at index >= `from`
   * whose detail satisfies `where`; rejects after `ms` with what was seen.
   */
  wait(type, where = () => true, { ms = 10_000, from = 0, what = type } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.slice(from).find((e) => e.type === type && where(e.detail));
        if (!hit) return false;
        done();
        resolve(hit.detail);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        const seen = this.events.map((e) => `${e.type} ${JSON.stringify(e.detail)}`).join("\n  ");
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; seen:\n  ${seen}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  /** The room message with this text. */
  said(text, options = {}) {
    return this.wait("message", (m) => m.type === "message" && m.text === text, { what: `the message ${JSON.stringify(text)}`, ...options });
  }
}
