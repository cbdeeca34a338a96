// A keyed aggregate over tumbling or sliding windows, in event time (the records carry times from
// `watermark`; a window [start, end) closes when the watermark reaches `end`) or in processing time
// (a record belongs to the windows of its arrival; a window closes when the wall clock reaches its
// end). Either way the end of input closes every window. Each window emits once, one record per key
// with `start` and `end`; in event time its records carry the time end - 1. Elements behind the
// watermark are late: counted and dropped, or sent to the `late:` stream.
import { Output } from "../exec/output.js";
import { keyGroupOf, keyId } from "../exec/keys.js";
import type { Batch } from "../exec/messages.js";
import type { AggregateEntry, AggregateSpec, Collector, EntryFn, EventFoldContext, FoldContext, FoldFn, FusedEventFoldFn, FusedFoldFn, WindowSpec } from "../plan.js";
import { accumulatorFor, copyAcc, type Accumulator } from "./accumulators.js";
import { KeyTable } from "./key-table.js";
import { LateElements } from "./late.js";
import type { WatermarkOperator } from "./watermark.js";
import { EntryText, finishReading, textState, type Operator, type OperatorContext, type OperatorState } from "./operator.js";

type Sized = WindowSpec & { kind: "tumbling" | "sliding" };

/** The most results a firing window (or sessions closing together) emits in one batch. */
export const EMIT_BATCH = 1024;

export class WindowAggregateOperator implements Operator {
  readonly lateOutput: Output | undefined;
  private readonly acc: Accumulator;
  private readonly late: LateElements;
  /** Window start → key id → entry. */
  private readonly windows = new Map<number, KeyTable>();
  private watermark = -Infinity;
  /** The tumbling window the last record went to: consecutive records mostly share one. */
  private last: { start: number; entries: KeyTable } | null = null;
  /** The number of entries of the window that fired last: the next window's table starts that large. */
  private lastFired = 0;
  /** The plan's generated accumulator code, when it has one (plans of flowc 0.1 before it do not). */
  private readonly fold: FoldFn | null;
  /** Makes an entry: of the class the plan's fold makes its entries of, when the plan has one. */
  private readonly entry: EntryFn;
  private readonly foldCtx: FoldContext & { epoch: number };
  /** Set while eachWindow adds a record to a window after its first: its failures are not reported again. */
  private quiet = false;
  /**
   * Checkpoint epoch: a snapshot starts the next one and reads the entries afterwards, a slice at a
   * time; an entry changed in the new epoch keeps its accumulator from before in `old`.
   */
  private epoch = 0;
  /** The last snapshot, while it is still being read. */
  private reading: OperatorState | undefined;

  constructor(
    private readonly id: string,
    private readonly where: string,
    spec: AggregateSpec,
    private readonly window: Sized,
    fns: Record<string, unknown>,
    private readonly ctx: OperatorContext,
    withLateOutput = false,
    /** The plan's FoldFn for this aggregate, if it has one. */
    foldName?: string,
    /** The plan's EntryFn for this aggregate, if it has one. */
    entryName?: string,
  ) {
    this.acc = accumulatorFor(spec, fns);
    const fold = foldName === undefined ? undefined : fns[foldName];
    if (foldName !== undefined && typeof fold !== "function") throw new Error(`internal: the plan module has no function ${foldName}`);
    this.fold = (fold as FoldFn | undefined) ?? null;
    const entry = entryName === undefined ? undefined : fns[entryName];
    if (entryName !== undefined && typeof entry !== "function") throw new Error(`internal: the plan module has no function ${entryName}`);
    this.entry = (entry as EntryFn | undefined) ?? plainEntry;
    this.foldCtx = { keyId, fail: (record, error) => this.quiet || ctx.fail(record, error, where), epoch: 0, copyAcc };
    this.lateOutput = withLateOutput ? new Output(ctx.keyGroups) : undefined;
    this.late = new LateElements(ctx, this.lateOutput);
  }

  private get eventTime(): boolean {
    return this.window.time === "event";
  }

  process(batch: Batch): void {
    const keys = batch.keys;
    if (!keys) throw new Error(`internal: aggregate ${this.id} received records without keys`);
    const times = batch.times;
    if (this.eventTime && !times) throw new Error(`internal: event-time aggregate ${this.id} received records without times`);
    const now = Date.now();
    const lateValues: unknown[] = [];
    const lateTimes: number[] = [];
    if (this.fold !== null) {
      this.foldRuns(batch.values, keys, this.eventTime ? times! : null, now, lateValues, lateTimes);
      this.late.handle(lateValues, lateTimes);
      return;
    }
    for (let i = 0; i < batch.values.length; i++) {
      const t = this.eventTime ? times![i]! : now;
      if (t < this.watermark) {
        lateValues.push(batch.values[i]);
        lateTimes.push(t);
        continue;
      }
      this.eachWindow(t, this.updateIn, keys[i], batch.values[i]);
    }
    this.late.handle(lateValues, lateTimes);
  }

  /** Whether a chain may run this aggregate's fold itself (foldFused): tumbling windows in processing time, with generated code. */
  get fusable(): boolean {
    return this.fold !== null && this.window.kind === "tumbling" && !this.eventTime;
  }

  /**
   * A batch of the chain before run through the chain and the fold in one loop (`run` calls the
   * plan's FusedFoldFn or GeneratedFoldFn): every record goes to the window of now, as process()
   * would send it. Returns the number of records the chain passed on.
   */
  foldFused(run: (entries: KeyTable, ctx: FoldContext) => number): number {
    return run(this.tumblingEntries(Date.now()), this.foldCtx);
  }

  /** The state of the tumbling window `t` falls in; the one of the time before is kept at hand. */
  private tumblingEntries(t: number): KeyTable {
    const start = t - mod(t, this.window.sizeMs);
    if (this.last?.start !== start) this.last = { start, entries: this.entriesOf(start) };
    return this.last.entries;
  }

  /** The number of entries of the fullest open window. */
  largestWindow(): number {
    let most = 0;
    for (const entries of this.windows.values()) if (entries.size > most) most = entries.size;
    return most;
  }

  /** Whether a chain, with the watermark node after it, may run this aggregate's fold itself (eventFoldContext). */
  get fusableInEventTime(): boolean {
    return this.fold !== null && this.window.kind === "tumbling" && this.eventTime;
  }

  /**
   * What a FusedEventFoldFn works on: this aggregate's windows and event time, and `mark`, the
   * watermark node between it and the chain. Late records are collected and handled before each
   * watermark the loop sends on and after the batch, as process() would have handled them.
   */
  eventFoldContext(mark: WatermarkOperator): { ctx: EventFoldContext; end(): void } {
    let lateValues: unknown[] = [];
    let lateTimes: number[] = [];
    const flushLate = () => {
      if (lateValues.length === 0) return;
      this.late.handle(lateValues, lateTimes);
      lateValues = [];
      lateTimes = [];
    };
    const op = this;
    const ctx: EventFoldContext = {
      begin: () => mark.arrive(),
      keyId,
      fail: this.foldCtx.fail,
      copyAcc,
      get epoch() {
        return op.epoch;
      },
      emitted: () => mark.sent,
      watermark: () => this.watermark,
      advance: (time) => {
        flushLate();
        mark.advance(time);
      },
      window: (start) => this.entriesOf(start),
      late: (record, time) => {
        lateValues.push(record);
        lateTimes.push(time);
      },
    };
    return { ctx, end: flushLate };
  }

  /**
   * The generated fold over runs of consecutive records that go to the same windows: in processing
   * time the whole batch, in event time the records up to the next one in another window (input in
   * time order makes runs of thousands) or behind the watermark (collected as late).
   */
  private foldRuns(values: readonly unknown[], keys: readonly unknown[], times: readonly number[] | null, now: number, lateValues: unknown[], lateTimes: number[]): void {
    const fold = this.fold!;
    const w = this.window;
    // Records in one pane (a slide, or a whole tumbling window) belong to the same windows when
    // the size is a multiple of the slide; otherwise the windows are found record by record.
    const pane = w.kind === "tumbling" ? w.sizeMs : w.sizeMs % w.slideMs === 0 ? w.slideMs : 0;
    const n = values.length;
    let i = 0;
    while (i < n) {
      const t = times === null ? now : times[i]!;
      if (t < this.watermark) {
        lateValues.push(values[i]);
        lateTimes.push(t);
        i++;
        continue;
      }
      let j = i + 1;
      if (times === null) j = n;
      else if (pane > 0) {
        const p = t - mod(t, pane);
        while (j < n) {
          const u = times[j]!;
          if (!(u >= this.watermark && u >= p && u < p + pane)) break; // (NaN ends a run too)
          j++;
        }
      }
      this.eachWindow(t, (entries, from, to) => fold(entries, keys, values, from, to, this.foldCtx), i, j);
      i = j;
    }
  }

  /**
   * Runs `add` on the state of every window a record at `t` falls in (a sliding window's several:
   * a record on which the aggregate's functions throw is reported for the first of them only).
   */
  private eachWindow<A, B>(t: number, add: (entries: KeyTable, a: A, b: B) => void, a: A, b: B): void {
    const w = this.window;
    if (w.kind === "tumbling") {
      add(this.tumblingEntries(t), a, b);
      return;
    }
    const starts = windowStarts(w, t);
    for (let k = 0; k < starts.length; k++) {
      this.quiet = k > 0;
      add(this.entriesOf(starts[k]!), a, b);
    }
    this.quiet = false;
  }

  /** update as a value made once: the generic path passes it to eachWindow for every record. */
  private readonly updateIn = (entries: KeyTable, key: unknown, value: unknown): void => this.update(entries, key, value);

  private update(entries: KeyTable, key: unknown, value: unknown): void {
    const id = keyId(key);
    const e = entries.get(id);
    try {
      const acc = this.acc.add(e === undefined ? this.acc.init() : e.acc, value);
      if (e === undefined) entries.set(id, this.entry(key, acc, this.epoch));
      else {
        // `add` leaves its argument alone: the accumulator before is kept as it is.
        if (e.v !== this.epoch) {
          e.old = e.acc;
          e.v = this.epoch;
        }
        e.acc = acc;
      }
    } catch (err) {
      if (!this.quiet) this.ctx.fail(value, err, this.where);
    }
  }

  private entriesOf(start: number): KeyTable {
    let m = this.windows.get(start);
    if (m === undefined) this.windows.set(start, (m = new KeyTable(this.lastFired)));
    return m;
  }

  /** Emits and forgets every window that ends at or before `time`, oldest first. */
  private fireUntil(time: number): void {
    const size = this.window.sizeMs;
    const due = [...this.windows.keys()].filter((s) => s + size <= time).sort((a, b) => a - b);
    for (const start of due) {
      const entries = this.windows.get(start)!;
      this.windows.delete(start);
      this.lastFired = entries.size;
      if (this.last?.start === start) this.last = null;
      // In batches of EMIT_BATCH: the results of a window of a million keys go out (and are
      // formatted by a sink) a batch at a time, not held all at once.
      let values: unknown[] = [];
      for (let i = 0; i < entries.size; i++) {
        const e = entries.valueAt(i);
        // (The key field made to hold any value first, as an entry's: results of keys that are
        // small integers first and doubles later then keep one shape.)
        const o: Record<string, unknown> = { key: null };
        o.key = e.key;
        this.acc.result(e.acc, o);
        o.start = start;
        o.end = start + size;
        values.push(o);
        if (values.length === EMIT_BATCH) {
          this.emitFired(values, start + size - 1);
          values = [];
        }
      }
      if (values.length > 0) this.emitFired(values, start + size - 1);
    }
  }

  /**
   * Sends a batch of a window's results on, in event time at the window's last millisecond. (A
   * method, not a closure made per window: the optimized firing loop calls the same function every
   * time, where a new closure per window was a new call target that threw the loop's code away.)
   */
  private emitFired(values: unknown[], time: number): void {
    this.ctx.out.emit(this.eventTime ? { values, keys: null, times: new Array<number>(values.length).fill(time) } : { values, keys: null });
  }

  onWatermark(time: number): void {
    if (!this.eventTime) return;
    this.watermark = time;
    this.fireUntil(time);
  }

  onProcessingTime(now: number): void {
    if (!this.eventTime) this.fireUntil(now);
  }

  onEnd(): void {
    this.fireUntil(Infinity);
  }

  /**
   * Copy on write: the barrier only starts a new epoch and lists the windows; the entries are read
   * afterwards, a slice at a time, while records go on. An entry changed since keeps its value from
   * before in `old`, an entry made since is left out, and a window that closes meanwhile is still
   * read (its entries no longer change). A snapshot still being read when the next barrier comes is
   * read to its end first.
   */
  snapshot(): OperatorState {
    finishReading(this.reading);
    const frozen = this.epoch;
    this.epoch = this.foldCtx.epoch = frozen + 1;
    const windows = [...this.windows];
    const text = new EntryText();
    const groups = this.ctx.keyGroups;
    let w = 0;
    /** `[start,`: how the window's entries begin. */
    let head = new Uint8Array(0);
    /** The window being read, and the position in it of the next entry to read. */
    let entries: KeyTable | null = null;
    let at = 0;
    const read = (budgetMs: number, most = Infinity): boolean => {
      const until = performance.now() + budgetMs;
      let n = 0;
      while (w < windows.length) {
        if (entries === null) {
          const [start, table] = windows[w]!;
          head = Buffer.from(`[${start},`, "latin1");
          entries = table;
          at = 0;
        }
        // (Entries added since the barrier come after `at`: the walk reaches them and skips them.)
        while (at < entries.size) {
          const id = entries.idAt(at);
          const e = entries.valueAt(at++);
          // Unchanged since the barrier: its text now is its text then (no copy needed).
          let acc: unknown;
          if (e.v <= frozen) acc = e.acc;
          else if (e.old === undefined) continue;
          else acc = e.old;
          text.addKeyed(keyGroupOf(id, groups), head, e.key, acc);
          n++;
          if (n >= most || ((n & 255) === 0 && performance.now() >= until)) return false;
        }
        entries = null;
        w++;
      }
      if (this.reading === state) this.reading = undefined;
      return true;
    };
    const state = textState(this.id, text, read);
    this.reading = state;
    return state;
  }

  restore(states: readonly OperatorState[]): void {
    const [lo, hi] = this.ctx.keyGroupRange;
    this.windows.clear();
    this.last = null;
    for (const s of states) {
      if (s.operator !== this.id) continue;
      for (const [kg, entries] of Object.entries(s.keyGroups)) {
        if (Number(kg) < lo || Number(kg) >= hi) continue;
        for (const raw of entries) {
          const [start, key, acc] = raw as [number, unknown, unknown];
          this.entriesOf(start).set(keyId(key), this.entry(key, structuredClone(acc), this.epoch));
        }
      }
    }
  }
}

/** An entry as an object literal: for plans without an EntryFn. */
function plainEntry(key: unknown, acc: unknown, v: number): AggregateEntry {
  return { key, acc, v, old: undefined };
}

/** Start times of the windows an element at time `t` belongs to, latest first. */
export function windowStarts(w: Sized, t: number): number[] {
  if (w.kind === "tumbling") return [t - mod(t, w.sizeMs)];
  const starts: number[] = [];
  for (let s = t - mod(t, w.slideMs); s > t - w.sizeMs; s -= w.slideMs) starts.push(s);
  return starts;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
