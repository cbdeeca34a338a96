// The TCP data plane on real sockets (127.0.0.1, free ports): what one worker sends arrives at the
// other in order and equal to a structuredClone of it; a connection without the job's secret is
// refused; garbage, oversized or malformed frames and silent peers close their own connection
// while a good one next to it keeps delivering; credit-based backpressure holds a fast sender back
// and loses nothing.
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Inbound, TaskAddress } from "../runtime/cluster/network.js";
import type { WorkerRecord } from "../runtime/cluster/protocol.js";
import type { Batch, ControlEvent } from "../runtime/exec/messages.js";
import { MAGIC, openHandshake, type HandshakeIO } from "../runtime/transport/handshake.js";
import { TcpNetwork, TransportError, type TcpNetworkOptions } from "../runtime/transport/tcp.js";
import { encodeFrame, Kind } from "../runtime/transport/wire.js";

const SECRETS: Record<string, string> = { clicks: "s3cret-clicks", orders: "s3cret-orders" };

type Got =
  | { type: "data"; job: string; epoch: number; target: TaskAddress; channel: number; message: { batch: Batch } | { event: ControlEvent } }
  | { type: "app"; job: string; epoch: number; from: string; topic: string; body: unknown };

interface Node {
  net: TcpNetwork;
  record: WorkerRecord;
  got: Got[];
  logs: string[];
}

const open: TcpNetwork[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((n) => n.close()));
});

/** A worker's data plane whose inbound records everything (or does what `inbound` says). */
async function node(
  id: string,
  { secrets = SECRETS, inbound: custom, ...opts }: Partial<Omit<TcpNetworkOptions, "inbound">> & { secrets?: Record<string, string>; inbound?: (got: Got[]) => Inbound } = {},
): Promise<Node> {
  const got: Got[] = [];
  const logs: string[] = [];
  const inbound: Inbound = custom?.(got) ?? {
    data: (job, epoch, target, channel, message) => void got.push({ type: "data", job, epoch, target, channel, message }),
    app: (job, epoch, from, topic, body) => void got.push({ type: "app", job, epoch, from, topic, body }),
  };
  const net = await TcpNetwork.listen({
    workerId: id,
    inbound,
    secretFor: async (job) => secrets[job],
    log: (l) => logs.push(l),
    ...opts,
  });
  open.push(net);
  return { net, got, logs, record: { id, host: "127.0.0.1", dataPort: net.port, slots: 1 } };
}

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const settled = (p: Promise<unknown>) => {
  const s = { done: false };
  void p.then(() => (s.done = true));
  return s;
};

/** A raw client speaking the protocol by hand, to send what a well-behaved sender never would. */
class RawClient implements HandshakeIO {
  readonly socket: Socket;
  readonly closed: Promise<unknown>;
  private buf = Buffer.alloc(0);
  private wake = () => {};

  constructor(port: number) {
    this.socket = connect({ host: "127.0.0.1", port });
    sockets.push(this.socket);
    this.socket.on("error", () => {});
    this.socket.on("data", (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      this.wake();
    });
    this.closed = new Promise((r) => this.socket.on("close", r));
  }

  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error("closed");
      await new Promise<void>((r) => ((this.wake = r), setTimeout(r, 20)));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Completes a genuine handshake; returns the credits granted. */
  async authenticate(serverId: string, job = "clicks", epoch = 1): Promise<number> {
    const { credits } = await openHandshake(this, { clientId: "raw", idleTimeoutMs: 60_000, serverId, job, epoch, secret: SECRETS[job]! });
    return credits;
  }
}

function batchOf(n: number, from = 0): Batch {
  return { values: Array.from({ length: n }, (_, i) => ({ seq: from + i, pad: "x".repeat(50) })), keys: null };
}

const T = (node: string, partition: number): TaskAddress => ({ node, partition });

describe("delivery", () => {
  it("delivers batches, control events and app messages in order, equal to a structuredClone", async () => {
    const a = await node("w-a");
    const b = await node("w-b");
    const link = await a.net.link(b.record, "clicks", 7);
    const sent: { target: TaskAddress; channel: number; message: { batch: Batch } | { event: ControlEvent } }[] = [];
    const values: unknown[] = [
      { user: "ü😀 ann", n: 1, score: 0.25, ok: true, missing: undefined, nothing: null, tags: ["a", ["b", { c: [] }]], deep: { x: { y: { z: [1, 2, 3] } } } },
      [1, "two", null, undefined, false, NaN, Infinity, -Infinity, 2 ** 53 - 1, -(2 ** 40), 1e-300],
      "plain string",
      42,
      { big: 12345678901234567890n, small: -5n, at: new Date(86_400_000), m: new Map<unknown, unknown>([[1, "one"], ["k", { v: 2 }]]), s: new Set([1, "x"]), bytes: new Uint8Array([0, 255]) },
      {},
    ];
    const keyed: Batch = { values: values.slice(0, 3), keys: ["k1", 2, { composite: ["k", 3] }] };
    const plain: Batch = { values, keys: null };
    const events: ControlEvent[] = [{ kind: "watermark", time: 1_700_000_000_123 }, { kind: "barrier", id: 3 }, { kind: "end" }, { kind: "idle" }];
    const send = (target: TaskAddress, channel: number, m: { batch: Batch } | { event: ControlEvent }) => {
      sent.push({ target, channel, message: structuredClone(m) });
      if ("batch" in m) link.data(target, channel, m.batch);
      else link.control(target, channel, m.event);
    };
    send(T("map-1", 0), 0, { batch: keyed });
    send(T("map-1", 0), 0, { event: events[0]! });
    send(T("agg-2", 3), 1, { batch: plain });
    send(T("agg-2", 3), 1, { event: events[1]! });
    send(T("map-1", 0), 0, { batch: keyed });
    send(T("map-1", 0), 0, { event: events[3]! });
    send(T("agg-2", 3), 1, { event: events[2]! });
    // What was sent is what arrives, even if the sender changes its arrays afterwards.
    (keyed.values[0] as { n: number }).n = 999;
    plain.values.length = 0;
    await a.net.app(b.record, "clicks", 7, "finished", { counts: [1, 2], note: undefined });

    await until("all messages", () => b.got.length === sent.length + 1);
    expect(b.got.slice(0, sent.length)).toStrictEqual(sent.map((s) => ({ type: "data", job: "clicks", epoch: 7, ...s })));
    expect(b.got.at(-1)).toStrictEqual({ type: "app", job: "clicks", epoch: 7, from: "w-a", topic: "finished", body: { counts: [1, 2], note: undefined } });
    expect(a.got).toEqual([]);
    expect(b.logs).toEqual([]);
  });

  it("keeps jobs and epochs apart, and links to the same (worker, job, epoch) share one ordered connection", async () => {
    const a = await node("w-a");
    const b = await node("w-b");
    const [l1, l2, l3] = await Promise.all([a.net.link(b.record, "clicks", 1), a.net.link(b.record, "clicks", 1), a.net.link(b.record, "orders", 2)]);
    for (let i = 0; i < 50; i++) {
      (i % 2 ? l1 : l2).data(T("n", 0), 0, batchOf(1, i));
      l3.data(T("m", 1), 2, batchOf(1, 1000 + i));
    }
    await until("100 batches", () => b.got.length === 100);
    const seqs = (job: string, epoch: number) =>
      b.got.flatMap((g) => (g.type === "data" && g.job === job && g.epoch === epoch && "batch" in g.message ? g.message.batch.values.map((v) => (v as { seq: number }).seq) : []));
    expect(seqs("clicks", 1)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seqs("orders", 2)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
  });

  it("splits a batch larger than the receiver's frame limit into smaller ones, in order, and refuses a single record over it", async () => {
    const a = await node("w-a");
    const b = await node("w-b", { maxFrameBytes: 2000 });
    const link = await a.net.link(b.record, "clicks", 1);
    const batch: Batch = { values: batchOf(100).values, keys: Array.from({ length: 100 }, (_, i) => `key-${i}`), times: Array.from({ length: 100 }, (_, i) => 1_767_225_600_000 + i) };
    link.data(T("n", 0), 0, batch);
    link.control(T("n", 0), 0, { kind: "end" });
    await until("the end event", () => b.got.some((g) => g.type === "data" && "event" in g.message));
    const batches = b.got.flatMap((g) => (g.type === "data" && "batch" in g.message ? [g.message.batch] : []));
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flatMap((x) => x.values)).toStrictEqual(batch.values);
    expect(batches.flatMap((x) => x.keys!)).toStrictEqual(batch.keys);
    // Event times travel with their records (an event-time operator behind the exchange needs them).
    expect(batches.flatMap((x) => x.times!)).toStrictEqual(batch.times);
    expect(() => link.data(T("n", 0), 0, { values: ["y".repeat(5000)], keys: null })).toThrow(TransportError);
  });

  it("moves many batches (throughput sanity check, no timing asserted)", async () => {
    const a = await node("w-a");
    const b = await node("w-b");
    const link = await a.net.link(b.record, "clicks", 1);
    const batches = 400;
    const size = 500;
    const t0 = performance.now();
    for (let i = 0; i < batches; i++) {
      link.data(T("n", 0), 0, { values: Array.from({ length: size }, (_, j) => ({ id: i * size + j, name: `user${j}`, score: j * 1.5 })), keys: null });
      const p = link.pressure();
      if (p) await p;
    }
    let sum = 0;
    let count = 0;
    let outOfOrder = 0;
    await until("every record", () => {
      for (const g of b.got.splice(0)) {
        if (g.type !== "data" || !("batch" in g.message)) continue;
        for (const v of g.message.batch.values as { id: number }[]) {
          if (v.id !== count++) outOfOrder++;
          sum += v.id;
        }
      }
      return count === batches * size;
    });
    expect(outOfOrder).toBe(0);
    const n = batches * size;
    expect(sum).toBe((n * (n - 1)) / 2);
    console.log(`transport: ${((n / (performance.now() - t0)) * 1000 / 1e6).toFixed(2)} M records/s over loopback`);
  });
});

describe("authentication", () => {
  it("refuses a sender with the wrong secret: the link is rejected and nothing is delivered", async () => {
    const a = await node("w-a", { secrets: { clicks: "not-the-secret" } });
    const b = await node("w-b");
    await expect(a.net.link(b.record, "clicks", 1)).rejects.toThrow(/failed authentication/);
    await expect(a.net.app(b.record, "clicks", 1, "finished", {})).rejects.toThrow(TransportError);
    await until("the server's log line", () => b.logs.some((l) => /closed: the connection closed during the handshake/.test(l)));
    expect(b.got).toEqual([]);
  });

  it("refuses a client whose proof is wrong, even if it ignores the server's proof", async () => {
    const b = await node("w-b");
    const raw = new RawClient(b.record.dataPort);
    const job = Buffer.from("clicks");
    const id = Buffer.from("raw");
    const epoch = Buffer.alloc(8);
    epoch.writeBigUInt64BE(1n);
    raw.write(Buffer.concat([MAGIC, Buffer.of(0, job.length), job, Buffer.of(0, id.length), id, epoch, Buffer.of(0, 0, 0x10, 0), Buffer.alloc(32, 7)]));
    const tag = await raw.read(1);
    expect(tag[0]).toBe(0x02);
    // A proof made with a guessed secret, then a data frame straight after.
    raw.write(Buffer.concat([Buffer.of(0x03), Buffer.alloc(32, 1)]));
    raw.write(encodeFrame({ kind: Kind.Data, target: T("n", 0), channel: 0, batch: batchOf(1) }));
    await raw.closed;
    expect(b.got).toEqual([]);
    expect(b.logs.join("\n")).toMatch(/wrong secret/);
  });

  it("refuses a connection for a job the receiver does not know", async () => {
    const a = await node("w-a", { secrets: { ...SECRETS, secret: "x" } });
    const b = await node("w-b");
    await expect(a.net.link(b.record, "secret", 1)).rejects.toThrow(TransportError);
    await until("the server's log line", () => b.logs.some((l) => /unknown job "secret"/.test(l)));
    expect(b.got).toEqual([]);
  });

  it("refuses to send to a different worker than the one it meant to reach", async () => {
    const a = await node("w-a");
    const b = await node("w-b");
    await expect(a.net.link({ ...b.record, id: "w-c" }, "clicks", 1)).rejects.toThrow(/reached worker "w-b" instead of "w-c"/);
  });

  it("gives up on a server that accepts the connection but never answers", async () => {
    const a = await node("w-a", { handshakeTimeoutMs: 300 });
    const mute = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    const port = (mute.address() as { port: number }).port;
    await expect(a.net.link({ id: "w-mute", host: "127.0.0.1", dataPort: port, slots: 1 }, "clicks", 1)).rejects.toThrow(/handshake not completed within 300 ms/);
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise((r) => mute.close(r));
  });

  it("rejects a link to a worker that is not there", async () => {
    const a = await node("w-a");
    const gone = await node("w-gone");
    await gone.net.close();
    await expect(a.net.link(gone.record, "clicks", 1)).rejects.toThrow(/cannot open a data link to worker w-gone/);
  });
});

describe("robustness: a bad connection closes alone", () => {
  /** A good link that delivered one batch before the bad connection and must deliver one after it. */
  async function withGoodLink(bad: (b: Node) => Promise<unknown>, opts: Parameters<typeof node>[1] = {}): Promise<Node> {
    const a = await node("w-a");
    const b = await node("w-b", opts);
    const link = await a.net.link(b.record, "clicks", 1);
    link.data(T("n", 0), 0, batchOf(1, 0));
    await until("the first batch", () => b.got.length === 1);
    await bad(b);
    link.data(T("n", 0), 0, batchOf(1, 1));
    await until("the second batch", () => b.got.length === 2);
    expect(b.got.map((g) => (g.type === "data" && "batch" in g.message ? g.message.batch.values : null))).toStrictEqual([batchOf(1, 0).values, batchOf(1, 1).values]);
    return b;
  }

  it("garbage bytes instead of a handshake", async () => {
    const b = await withGoodLink(async (b) => {
      const raw = new RawClient(b.record.dataPort);
      raw.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      await raw.closed;
    });
    expect(b.logs.join("\n")).toMatch(/127\.0\.0\.1:\d+ closed: handshake refused: not a Flow data-plane client/);
  });

  it("a handshake longer than its bound", async () => {
    const b = await withGoodLink(async (b) => {
      const raw = new RawClient(b.record.dataPort);
      raw.write(Buffer.concat([MAGIC, Buffer.of(0xff, 0xff), Buffer.alloc(70_000, 0x61)]));
      await raw.closed;
    });
    expect(b.logs.join("\n")).toMatch(/job name of 65535 bytes|more than \d+ bytes during the handshake/);
  });

  it("a silent client that never completes the handshake", async () => {
    const b = await withGoodLink(
      async (b) => {
        const silent = new RawClient(b.record.dataPort);
        const half = new RawClient(b.record.dataPort);
        half.write(MAGIC.subarray(0, 2));
        await Promise.all([silent.closed, half.closed]);
      },
      { handshakeTimeoutMs: 300 },
    );
    expect(b.logs.filter((l) => /handshake not completed within 300 ms/.test(l))).toHaveLength(2);
  });

  const afterHandshake: [string, (raw: RawClient) => void, RegExp][] = [
    ["an oversized length prefix", (raw) => raw.write(Buffer.of(0xff, 0xff, 0xff, 0xf0)), /frame of 4294967280 bytes exceeds the limit/],
    ["an empty frame", (raw) => raw.write(Buffer.of(0, 0, 0, 0)), /empty frame/],
    ["a truncated msgpack payload", (raw) => raw.write(Buffer.of(0, 0, 0, 3, 0x96, 0x01, 0xa1)), /malformed msgpack payload/],
    ["a payload with trailing bytes", (raw) => raw.write(Buffer.of(0, 0, 0, 3, 0x91, 0x05, 0x05)), /malformed msgpack payload/],
    ["a frame that is not an array", (raw) => raw.write(Buffer.of(0, 0, 0, 1, 0xc1)), /not a non-empty array/],
    ["a frame of an unknown kind", (raw) => raw.write(Buffer.of(0, 0, 0, 2, 0x91, 0x63)), /unknown frame kind 99/],
    ["a data frame with keys not parallel to values", (raw) => raw.write(encodeFrame({ kind: Kind.Data, target: T("n", 0), channel: 0, batch: { values: [1, 2], keys: [1] } })), /keys are neither null nor parallel/],
    ["a data frame with times not parallel to values", (raw) => raw.write(encodeFrame({ kind: Kind.Data, target: T("n", 0), channel: 0, batch: { values: [1, 2], keys: null, times: [1] } })), /times are neither null nor numbers parallel/],
    ["a control frame with an unknown event", (raw) => raw.write(encodeFrame({ kind: Kind.Control, target: T("n", 0), channel: 0, event: { kind: "explode" } as never })), /not a control event/],
    ["a credit frame from a sender", (raw) => raw.write(encodeFrame({ kind: Kind.Credit, credits: 5 })), /sent a credit frame/],
  ];

  it.each(afterHandshake)("%s after a valid handshake", async (_, send, reason) => {
    const b = await withGoodLink(async (b) => {
      const raw = new RawClient(b.record.dataPort);
      await raw.authenticate("w-b");
      send(raw);
      await raw.closed;
    });
    expect(b.logs.join("\n")).toMatch(reason);
    expect(b.logs.join("\n")).toMatch(/\(job clicks, epoch 1, from worker raw\) closed/);
  });

  it("a sender that sends beyond its credit", async () => {
    const b = await withGoodLink(
      async (b) => {
        const raw = new RawClient(b.record.dataPort);
        const credits = await raw.authenticate("w-b", "clicks", 99);
        for (let i = 0; i <= credits; i++) raw.write(encodeFrame({ kind: Kind.Control, target: T("n", 0), channel: 0, event: { kind: "end" } }));
        await raw.closed;
      },
      // The inbound never consumes epoch 99's messages, so no credit comes back.
      {
        creditWindow: 8,
        inbound: (got) => ({
          data: (job, epoch, target, channel, message) => (epoch === 99 ? new Promise<void>(() => {}) : void got.push({ type: "data", job, epoch, target, channel, message })),
          app: () => {},
        }),
      },
    );
    expect(b.logs.join("\n")).toMatch(/sent beyond its credit/);
  });

  it("a peer that goes silent after the handshake, while a quiet good link stays open (pings)", async () => {
    const b = await withGoodLink(
      async (b) => {
        const raw = new RawClient(b.record.dataPort);
        await raw.authenticate("w-b");
        await raw.closed;
      },
      { idleTimeoutMs: 1000 },
    );
    expect(b.logs.join("\n")).toMatch(/nothing received for 1000 ms/);
  });
});

describe("backpressure", () => {
  it("holds a sender back while the receiver does not consume, then delivers everything in order", async () => {
    let gateOpen = false;
    const waiting: (() => void)[] = [];
    const a = await node("w-a", { highWaterBytes: 4096 });
    const b = await node("w-b", {
      creditWindow: 4,
      inbound: (got) => ({
        data: (job, epoch, target, channel, message) => {
          got.push({ type: "data", job, epoch, target, channel, message });
          return gateOpen ? undefined : new Promise<void>((r) => waiting.push(r));
        },
        app: () => {},
      }),
    });
    const link = await a.net.link(b.record, "clicks", 1);
    expect(link.pressure()).toBeUndefined();
    const n = 200;
    for (let i = 0; i < n; i++) link.data(T("n", 0), 0, batchOf(1, i));
    link.control(T("n", 0), 0, { kind: "end" });
    const pressure = link.pressure();
    expect(pressure).toBeInstanceOf(Promise);
    const state = settled(pressure!);
    await until("the first window", () => b.got.length === 4);
    // Nothing beyond the credit window arrives, and the sender stays held back.
    await new Promise((r) => setTimeout(r, 200));
    expect(b.got).toHaveLength(4);
    expect(state.done).toBe(false);
    // The consumer catches up, one message at a time, then for good.
    for (let k = 0; k < 3; k++) {
      const before = b.got.length;
      for (const r of waiting.splice(0)) r();
      await until("more messages after credit came back", () => b.got.length > before);
    }
    gateOpen = true;
    for (const r of waiting.splice(0)) r();
    await pressure;
    await until("every message", () => b.got.length === n + 1);
    const seqs = b.got.flatMap((g): (number | string)[] => (g.type === "data" && "batch" in g.message ? [(g.message.batch.values[0] as { seq: number }).seq] : ["end"]));
    expect(seqs).toEqual([...Array.from({ length: n }, (_, i) => i), "end"]);
    expect(link.pressure()).toBeUndefined();
  });
});

describe("the receiving worker", () => {
  it("a handler that throws is logged; the connection and the messages after it carry on", async () => {
    const a = await node("w-a");
    const b = await node("w-b", {
      inbound: (got) => ({
        data: (job, epoch, target, channel, message) => {
          if ("event" in message) throw new Error("no such task");
          got.push({ type: "data", job, epoch, target, channel, message });
        },
        app: () => Promise.reject(new Error("coordinator gone")),
      }),
    });
    const link = await a.net.link(b.record, "clicks", 1);
    link.data(T("n", 0), 0, batchOf(1, 0));
    link.control(T("n", 0), 0, { kind: "end" });
    await a.net.app(b.record, "clicks", 1, "finished", {});
    link.data(T("n", 0), 0, batchOf(1, 1));
    await until("both batches", () => b.got.length === 2);
    await until("two log lines", () => b.logs.length === 2);
    expect(b.logs[0]).toMatch(/the inbound handler failed: no such task/);
    expect(b.logs[1]).toMatch(/the inbound handler failed: coordinator gone/);
  });

  it("release() ends a job's connections of older epochs, both ways, and leaves the current one", async () => {
    const a = await node("w-a");
    const b = await node("w-b");
    const old = await a.net.link(b.record, "clicks", 1);
    const current = await a.net.link(b.record, "clicks", 2);
    const other = await a.net.link(b.record, "orders", 1);
    old.data(T("n", 0), 0, batchOf(1, 0));
    a.net.release("clicks", 2);
    // The old link sends what it held, then ends on purpose.
    expect(await old.closed).toBeUndefined();
    old.data(T("n", 0), 0, batchOf(1, 99));
    current.data(T("n", 0), 0, batchOf(1, 1));
    other.data(T("n", 0), 0, batchOf(1, 2));
    await until("three batches", () => b.got.length === 3);
    expect(b.got.map((g) => [g.job, g.epoch])).toEqual([["clicks", 1], ["clicks", 2], ["orders", 1]]);
    // The receiving side drops the other job's connections.
    b.net.release("orders");
    expect(await other.closed).toBeInstanceOf(TransportError);
    current.data(T("n", 0), 0, batchOf(1, 3));
    await until("the fourth batch", () => b.got.length === 4);
  });
});

describe("failure of the receiving worker", () => {
  it("ends the link without throwing: closed resolves with the reason, pressure is released, later messages are dropped", async () => {
    const a = await node("w-a", { highWaterBytes: 1024 });
    const b = await node("w-b", { creditWindow: 2, inbound: () => ({ data: () => new Promise<void>(() => {}), app: () => {} }) });
    const link = await a.net.link(b.record, "clicks", 1);
    for (let i = 0; i < 50; i++) link.data(T("n", 0), 0, batchOf(1, i));
    const pressure = link.pressure();
    expect(pressure).toBeInstanceOf(Promise);
    await b.net.close();
    const reason = await link.closed;
    expect(reason).toBeInstanceOf(TransportError);
    await pressure;
    expect(() => link.data(T("n", 0), 0, batchOf(1))).not.toThrow();
    expect(() => link.control(T("n", 0), 0, { kind: "end" })).not.toThrow();
    expect(link.pressure()).toBeUndefined();
    const log = a.logs.join("\n");
    expect(log).toMatch(/127\.0\.0\.1:\d+ \(job clicks, epoch 1, to worker w-b at 127\.0\.0\.1:\d+\) closed/);
    expect(log).toMatch(/\d+ queued message\(s\) dropped/);
    expect(log).toMatch(/dropping further messages/);
  });

  it("a closed link's connection is replaced by the next link()", async () => {
    const a = await node("w-a", { lingerMs: 50 });
    const b = await node("w-b");
    const first = await a.net.link(b.record, "clicks", 1);
    first.data(T("n", 0), 0, batchOf(1, 0));
    first.close();
    expect(await first.closed).toBeUndefined();
    const second = await a.net.link(b.record, "clicks", 1);
    second.data(T("n", 0), 0, batchOf(1, 1));
    await until("both batches", () => b.got.length === 2);
    expect(a.logs).toEqual([]);
    expect(b.logs).toEqual([]);
  });
});
