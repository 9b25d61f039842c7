// Compile-only check of wirehub.d.ts (`npm run check:types`): generated message
// unions plug into the client's type parameters; each expected error is marked.

import { WirehubClient, WirehubError, backoffDelay, type Ack } from "../wirehub.js";

// What a generated clients/js/types/chat.ts will look like.
type ChatIn = { type: "message"; text: string; id?: string };
type ChatOut =
  | { type: "message"; room: string; from: number; text: string; pos: string }
  | { type: "welcome"; id: number }
  | { type: "ack"; id: string; pos: string }
  | { type: "recovered"; ok: boolean; missed: number }
  | { type: "confirm"; id: string; question: string };

const chat = new WirehubClient<ChatIn, ChatOut>("/chat/lobby", { reconnect: { maxDelay: 5_000 }, ping: false });

async function typed(): Promise<void> {
  await chat.connect();
  const sent: boolean = chat.send({ type: "message", text: "hi" });
  const plain: boolean = chat.send("plain text still works");
  const ack = await chat.send({ type: "message", text: "hi" }, { ack: true, timeout: 1_000 });
  const pos: string = ack.pos; // the route's own ack type
  const again = await chat.request({ type: "message", text: "again" });
  const samePos: string = again.pos;
  // @ts-expect-error: not a ChatIn
  chat.send({ type: "typo", text: "x" });
  // @ts-expect-error: text must be a string
  chat.send({ type: "message", text: 1 });

  chat.on("message", (m) => {
    if (m.type === "message") {
      const from: number = m.from;
      void from;
    }
    // @ts-expect-error: no such message type
    if (m.type === "nope") return;
  });
  chat.on("recovered", (r) => {
    const missed: number = r.missed;
    void missed;
  });
  chat.on("reconnecting", ({ attempt, delay }) => void (attempt + delay));
  chat.addEventListener("open", (e) => {
    const again: boolean = e.detail.reconnected;
    void again;
  });
  chat.onRequest("confirm", async (m) => {
    const question: string = m.question;
    return { ok: question.length > 0 };
  });
  // @ts-expect-error: not a type the server sends
  chat.onRequest("unknown", () => ({}));
  void [sent, plain, pos, samePos];
}

async function untyped(): Promise<void> {
  // Without type parameters: any tagged JSON object; the ack is the generic Ack.
  const any = new WirehubClient("ws://127.0.0.1:8000/chat/lobby");
  const ack: Ack = await any.request({ type: "whatever", n: 1 });
  any.onRequest("anything", (m) => ({ echo: m.type }));
  try {
    await any.send({ type: "x" }, { ack: true });
  } catch (err) {
    if (err instanceof WirehubError && err.kind === "rejected") console.log(err.code, err.reply?.error);
  }
  const wait: number = backoffDelay(3, { jitter: 0 });
  void [ack, wait];
}

void [typed, untyped];
