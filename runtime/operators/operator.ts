// What every operator instance implements. The task around it (exec/task.ts) feeds it data and
// control events from its input gate and forwards control events downstream after it.
import type { Batch } from "../exec/messages.js";
import type { Output } from "../exec/output.js";
import { jsonNumberBytes } from "../json-number.js";

/** An operator's state: entries grouped by key group, so it can be redistributed on restore. */
export interface OperatorState {
  operator: string;
  /** key group → entries (operator-specific, structured-clone/JSON-safe). */
  keyGroups: Record<number, unknown[]>;
  /**
   * A snapshot read after its barrier, while records go on (the operator keeps what it changes
   * meanwhile: copy on write): each call reads entries for about `budgetMs` into the state's
   * EntryText and says whether it is complete (`entries`: at most that many more, for tests).
   * Absent once complete. Read such a state through `stateChunks`, or `settleState` for its entries.
   */
  [PENDING]?: (budgetMs: number, entries?: number) => boolean;
  /** The JSON text of the entries a pending snapshot read (in place of `keyGroups`' arrays). */
  [TEXT]?: EntryText;
}

export const PENDING: unique symbol = Symbol("pending snapshot");
export const TEXT: unique symbol = Symbol("snapshot text");

/** Reads a pending snapshot to its end now, in one go (a snapshot the next barrier overtakes). */
export function finishReading(state: OperatorState | undefined): void {
  const read = state?.[PENDING];
  if (state && read) {
    while (!read(Infinity));
    delete state[PENDING];
  }
}

/** Makes a snapshot complete now, with its entries as arrays in `keyGroups` (tests, small states). */
export function settleState<S extends OperatorState | undefined>(state: S): S {
  finishReading(state);
  const text = state?.[TEXT];
  if (state && text) {
    for (const [kg, parts] of text.groups()) state.keyGroups[kg] = JSON.parse(`[${Buffer.concat(parts).toString("utf8")}]`) as unknown[];
    delete state[TEXT];
  }
  return state;
}

/**
 * A snapshot whose entries are JSON text (see EntryText): complete, or with `read` completing it
 * later (see OperatorState[PENDING]). JSON.stringify of it reads the rest at once.
 */
export function textState(operator: string, text: EntryText, read?: (budgetMs: number, entries?: number) => boolean): OperatorState {
  const keyGroups: Record<number, unknown[]> = {};
  const state: OperatorState = read ? { operator, keyGroups, [PENDING]: read, [TEXT]: text } : { operator, keyGroups, [TEXT]: text };
  Object.defineProperty(state, "toJSON", {
    enumerable: false,
    value: () => {
      settleState(state);
      return { operator, keyGroups };
    },
  });
  return state;
}

/** One key group's text in EntryText: full buffers, the one being filled, and text not yet encoded. */
interface GroupText {
  parts: Buffer[];
  buf: Buffer;
  off: number;
  pending: string;
  /** Whether an entry was written (the next one starts with a comma). */
  any: boolean;
}

/**
 * The JSON text of a snapshot's entries, key group by key group, written into buffers as the entries
 * are read. A million entries kept as arrays until the file is written were a million objects that
 * every collection in between had to copy or mark; here only each entry's text lives, briefly.
 */
export class EntryText {
  /** By key group (an index below keyGroups). */
  private readonly byGroup: (GroupText | undefined)[] = [];

  private group(kg: number): GroupText {
    let g = this.byGroup[kg];
    if (g === undefined) this.byGroup[kg] = g = { parts: [], buf: Buffer.allocUnsafe(1024), off: 0, pending: "", any: false };
    return g;
  }

  /** Appends an entry's JSON text (see jsonValue) to the key group's entries. */
  add(kg: number, json: string): void {
    const g = this.group(kg);
    // Entries gather as a string and go into the buffer a couple of KB at a time: one encoding call
    // per hundred entries rather than one each. (An entry's text is never empty.)
    g.pending = g.pending === "" ? json : `${g.pending},${json}`;
    if (g.pending.length >= PENDING_CHARS) this.encode(g);
  }

  /**
   * Appends the entry `head` + key + "," + acc + "]" (head: its opening bracket and the fields
   * before the key, with their commas, as ASCII bytes; key and acc as jsonValue writes them). The
   * bytes go straight into the buffer, integers digit by digit: no string is made per entry (the
   * strings of a million entries, joined and encoded, took most of a snapshot's time).
   */
  addKeyed(kg: number, head: Uint8Array, key: unknown, acc: unknown): void {
    const g = this.group(kg);
    if (g.pending !== "") this.encode(g);
    this.room(g, head.length + 1);
    if (g.any) g.buf[g.off++] = 44; // ,
    g.any = true;
    for (let i = 0; i < head.length; i++) g.buf[g.off + i] = head[i]!;
    g.off += head.length;
    this.value(g, key);
    this.room(g, 1);
    g.buf[g.off++] = 44; // ,
    this.value(g, acc);
    this.room(g, 1);
    g.buf[g.off++] = 93; // ]
  }

  /** Writes a value's JSON text: a number as jsonNumberBytes writes it (no string made), anything else through jsonValue. */
  private value(g: GroupText, x: unknown): void {
    if (typeof x === "number") {
      this.room(g, 32);
      g.off = jsonNumberBytes(g.buf, g.off, x);
      return;
    }
    const s = jsonValue(x);
    // A UTF-8 byte sequence is at most 3 bytes per UTF-16 code unit.
    this.room(g, s.length * 3);
    g.off += g.buf.write(s, g.off, "utf8");
  }

  /** Makes room for `bytes` more in the group's buffer. */
  private room(g: GroupText, bytes: number): void {
    if (g.off + bytes <= g.buf.length) return;
    if (g.off > 0) g.parts.push(g.buf.subarray(0, g.off));
    // Buffers double up to 64 KB: a small state stays small, a large one is written in large pieces.
    g.buf = Buffer.allocUnsafe(Math.max(bytes, Math.min(g.buf.length * 2, 65536)));
    g.off = 0;
  }

  private encode(g: GroupText): void {
    const s = g.any ? `,${g.pending}` : g.pending;
    g.pending = "";
    g.any = true;
    this.room(g, s.length * 3);
    g.off += g.buf.write(s, g.off, "utf8");
  }

  /** Key group → its entries' text (comma-separated, without brackets), key groups in ascending order. */
  groups(): [number, Buffer[]][] {
    const out: [number, Buffer[]][] = [];
    this.byGroup.forEach((g, kg) => {
      if (g === undefined) return;
      if (g.pending !== "") this.encode(g);
      out.push([kg, g.off > 0 ? [...g.parts, g.buf.subarray(0, g.off)] : g.parts]);
    });
    return out;
  }
}

/** How many characters of entries' text a key group gathers before encoding them. */
const PENDING_CHARS = 2048;

/** What JSON.stringify writes for `x` as an array element; a finite number without its generic path. */
export function jsonValue(x: unknown): string {
  return typeof x === "number" && Number.isFinite(x) ? `${x}` : (JSON.stringify(x) ?? "null");
}

/** How long one stretch of reading or writing a snapshot may keep the thread from the records. */
export const SNAPSHOT_SLICE_MS = 3;

/** Pieces of a state file are joined up to this size before they are written. */
const PIECE_BYTES = 65536;

/**
 * The JSON text of a state (what JSON.stringify(settleState(state)) gives) in pieces, made in
 * stretches of about SNAPSHOT_SLICE_MS with a turn of the event loop before each, so the records go
 * on in between. `slice` is told how long each stretch held the thread. The pieces are written one
 * by one (joining a large state's text would be one long stretch again).
 */
export async function stateChunks(state: OperatorState, slice: (ms: number) => void = () => {}): Promise<Buffer[]> {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const read = state[PENDING];
  if (read) {
    for (;;) {
      await turn();
      const t0 = performance.now();
      const done = read(SNAPSHOT_SLICE_MS);
      slice(performance.now() - t0);
      if (done) break;
    }
    delete state[PENDING];
  }
  await turn();
  let t0 = performance.now();
  const chunks: Buffer[] = [];
  let pending: Buffer[] = [];
  let size = 0;
  const put = (b: Buffer | string) => {
    const data = typeof b === "string" ? Buffer.from(b, "utf8") : b;
    if (data.length >= PIECE_BYTES / 2) {
      // A piece of entries' text that is large already goes as it is, after what gathered before
      // it: joining it to a few bytes of brackets copied every byte of a million keys' state once more.
      if (size > 0) chunks.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending, size));
      pending = [];
      size = 0;
      chunks.push(data);
      return;
    }
    pending.push(data);
    size += data.length;
    if (size >= PIECE_BYTES) {
      chunks.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending, size));
      pending = [];
      size = 0;
    }
  };
  // A turn for the records once this stretch has lasted SNAPSHOT_SLICE_MS.
  const pauseWhenDue = async () => {
    if (performance.now() - t0 < SNAPSHOT_SLICE_MS) return;
    slice(performance.now() - t0);
    await turn();
    t0 = performance.now();
  };
  const { keyGroups, ...rest } = state;
  // `rest` holds `operator` at least: its text without the closing brace starts the object.
  put(`${JSON.stringify(rest).slice(0, -1)},"keyGroups":{`);
  let first = true;
  const text = state[TEXT];
  if (text) {
    for (const [kg, parts] of text.groups()) {
      put(`${first ? "" : ","}${JSON.stringify(String(kg))}:[`);
      first = false;
      for (const part of parts) {
        await pauseWhenDue();
        put(part);
      }
      put("]");
    }
  }
  for (const kg of Object.keys(keyGroups)) {
    const entries = keyGroups[Number(kg)]!;
    put(`${first ? "" : ","}${JSON.stringify(kg)}:[`);
    first = false;
    // A key group's entries a few hundred at a time: a million keys make key groups of thousands.
    for (let i = 0; i < entries.length; i += 256) {
      await pauseWhenDue();
      put(`${i === 0 ? "" : ","}${JSON.stringify(entries.slice(i, i + 256)).slice(1, -1)}`);
    }
    put("]");
  }
  put("}}");
  if (size > 0) chunks.push(Buffer.concat(pending, size));
  slice(performance.now() - t0);
  return chunks;
}

/** stateChunks joined (tests, small states). */
export async function stateText(state: OperatorState, slice?: (ms: number) => void): Promise<string> {
  return Buffer.concat(await stateChunks(state, slice)).toString("utf8");
}

export interface OperatorContext {
  /** This instance's index and the number of instances. */
  partition: number;
  partitions: number;
  keyGroups: number;
  /** Key groups this instance owns: [start, end). */
  keyGroupRange: [number, number];
  out: Output;
  /** Report a record that failed inside generated or imported code; the record is skipped. */
  fail(record: unknown, error: unknown, where: string): void;
  /** Count `n` late elements (behind the watermark) that were dropped. */
  late?(n: number): void;
}

export interface Operator {
  /** Set by operators that emit watermarks of their own: the task does not forward its inputs'. */
  readonly ownsWatermarks?: boolean;
  /** A second output for late elements (`late: NAME`); the task sends control events to it too. */
  readonly lateOutput?: Output;
  /** Which input (0, 1, ...) of the plan node each channel belongs to; told once after wiring. */
  bindChannels?(inputOfChannel: readonly number[]): void;
  process(batch: Batch, channel: number): void;
  /** Event time advanced to `time` (already the minimum over inputs). */
  onWatermark(time: number): void;
  /** Wall-clock tick, for processing-time windows. */
  onProcessingTime?(now: number): void;
  /** Every input ended: flush, close. */
  onEnd(): void | Promise<void>;
  /** Stops without flushing (the job failed or was cancelled). */
  abort?(): Promise<void>;
  /** Stateless operators return undefined. */
  snapshot(): OperatorState | undefined;
  /** Takes the entries of the key groups this instance owns from states written by any partitioning. */
  restore(states: readonly OperatorState[]): void;
}
