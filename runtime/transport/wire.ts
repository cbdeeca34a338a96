// The frames of the data plane once a connection is authenticated: a uint32 big-endian length,
// then that many bytes of one msgpack value, an array whose first element says what it is.
// `FrameReader` cuts a byte stream into frames (refusing a length over the limit before buffering
// it); `decodeFrame` checks the shape, so the rest of the transport only sees well-formed messages.
import { Packr, Unpackr } from "msgpackr";
import type { Batch, ControlEvent } from "../exec/messages.js";
import type { TaskAddress } from "../cluster/network.js";

export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Frame kinds. DATA, CONTROL and APP consume one credit each; the others are free. */
export enum Kind {
  /** client → server: [1, node, partition, channel, values, keys, times] (times: event times parallel to values, or null) */
  Data = 1,
  /** client → server: [2, node, partition, channel, event] */
  Control = 2,
  /** client → server: [3, topic, body] */
  App = 3,
  /** server → client: [4, credits] */
  Credit = 4,
  /** both ways, when nothing else was sent for a while: [5] */
  Ping = 5,
  /** both ways: the sender closes the connection on purpose, nothing follows: [6] */
  Bye = 6,
}

export type Frame =
  | { kind: Kind.Data; target: TaskAddress; channel: number; batch: Batch }
  | { kind: Kind.Control; target: TaskAddress; channel: number; event: ControlEvent }
  | { kind: Kind.App; topic: string; body: unknown }
  | { kind: Kind.Credit; credits: number }
  | { kind: Kind.Ping }
  | { kind: Kind.Bye };

export function consumesCredit(kind: Kind): boolean {
  return kind === Kind.Data || kind === Kind.Control || kind === Kind.App;
}

/**
 * The codec options: records (repeated object shapes written once per frame), and the extension
 * types structuredClone also keeps (Map, Set, Date, typed arrays, BigInt of any size). What still
 * differs from structuredClone: -0 arrives as 0, an own `__proto__` key arrives as `__proto_`,
 * holes in arrays arrive as `undefined`.
 */
const CODEC = { useRecords: true, moreTypes: true, mapsAsObjects: false, int64AsType: "bigint", useBigIntExtension: true } as const;

/** Encodes values; shared (a Packr keeps no state between calls without shared structures). */
const packr = new Packr(CODEC);

/** One per connection: record definitions never leak from one peer's frames into another's. */
export function newDecoder(): Unpackr {
  return new Unpackr(CODEC);
}

/** A frame as bytes, length prefix included. Throws (like structuredClone) for a value msgpack cannot hold. */
export function encodeFrame(f: Frame): Buffer {
  const payload = packr.pack(toArray(f));
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

function toArray(f: Frame): unknown[] {
  switch (f.kind) {
    case Kind.Data:
      return [f.kind, f.target.node, f.target.partition, f.channel, f.batch.values, f.batch.keys, f.batch.times ?? null];
    case Kind.Control:
      return [f.kind, f.target.node, f.target.partition, f.channel, f.event];
    case Kind.App:
      return [f.kind, f.topic, f.body];
    case Kind.Credit:
      return [f.kind, f.credits];
    case Kind.Ping:
    case Kind.Bye:
      return [f.kind];
  }
}

export class FrameError extends Error {}

/** Decodes and validates one frame's payload; throws FrameError for anything malformed. */
export function decodeFrame(decoder: Unpackr, payload: Buffer): Frame {
  let v: unknown;
  try {
    v = decoder.unpack(payload);
  } catch (e) {
    throw new FrameError(`malformed msgpack payload (${(e as Error).message})`);
  }
  if (!Array.isArray(v) || v.length === 0) throw new FrameError("a frame is not a non-empty array");
  const bad = (what: string) => new FrameError(`malformed frame of kind ${String(v[0])}: ${what}`);
  switch (v[0]) {
    case Kind.Data: {
      const [, node, partition, channel, values, keys, times] = v;
      if (v.length !== 7) throw bad("expected 7 fields");
      const target = address(node, partition, bad);
      if (!isIndex(channel)) throw bad("channel");
      if (!Array.isArray(values)) throw bad("values are not an array");
      if (keys !== null && !(Array.isArray(keys) && keys.length === values.length)) throw bad("keys are neither null nor parallel to values");
      if (times !== null && !(Array.isArray(times) && times.length === values.length && times.every((t) => typeof t === "number"))) throw bad("times are neither null nor numbers parallel to values");
      return { kind: Kind.Data, target, channel, batch: times === null ? { values, keys } : { values, keys, times } };
    }
    case Kind.Control: {
      const [, node, partition, channel, event] = v;
      if (v.length !== 5) throw bad("expected 5 fields");
      const target = address(node, partition, bad);
      if (!isIndex(channel)) throw bad("channel");
      if (!isControlEvent(event)) throw bad("not a control event");
      return { kind: Kind.Control, target, channel, event };
    }
    case Kind.App:
      if (v.length !== 3 || typeof v[1] !== "string") throw bad("expected [3, topic, body]");
      return { kind: Kind.App, topic: v[1], body: v[2] };
    case Kind.Credit:
      if (v.length !== 2 || !isIndex(v[1]) || v[1] === 0) throw bad("expected [4, credits > 0]");
      return { kind: Kind.Credit, credits: v[1] };
    case Kind.Ping:
    case Kind.Bye:
      if (v.length !== 1) throw bad("expected no fields");
      return { kind: v[0] };
    default:
      throw new FrameError(`unknown frame kind ${String(v[0])}`);
  }
}

function address(node: unknown, partition: unknown, bad: (what: string) => FrameError): TaskAddress {
  if (typeof node !== "string" || !isIndex(partition)) throw bad("target");
  return { node, partition };
}

function isIndex(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function isControlEvent(e: unknown): e is ControlEvent {
  if (typeof e !== "object" || e === null) return false;
  const r = e as Record<string, unknown>;
  switch (r.kind) {
    case "watermark":
      return typeof r.time === "number";
    case "barrier":
      return typeof r.id === "number";
    case "idle":
    case "end":
      return true;
    default:
      return false;
  }
}

/**
 * Cuts a byte stream into frame payloads. Keeps the chunks it was given and joins them only once a
 * whole frame is there, so a large frame arriving in many chunks is copied once.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The payload length of the frame being read, once its header is complete. */
  private length = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Appends bytes and returns the payloads now complete; throws FrameError for a length over the limit. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.length < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const n = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (n === 0) throw new FrameError("empty frame");
        if (n > this.maxFrameBytes) throw new FrameError(`frame of ${n} bytes exceeds the limit of ${this.maxFrameBytes}`);
        this.length = n;
      }
      if (this.buffered < this.length) break;
      out.push(this.take(this.length));
      this.length = -1;
    }
    return out;
  }

  private take(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
