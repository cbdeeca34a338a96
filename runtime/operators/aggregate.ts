// Keyed aggregation, windowed or not. Unwindowed: every input updates its key's accumulator and
// emits the key's new result. Windowed: accumulators per (window, key); a window emits once, when
// it closes: at its end in processing time, or at end of input for bounded jobs.
import { keyGroupOf, keyId } from "../exec/keys.js";
import type { Batch } from "../exec/messages.js";
import type { AggregateSpec, WindowSpec } from "../plan.js";
import { accumulatorFor, type Accumulator } from "./accumulators.js";
import type { Operator, OperatorContext, OperatorState } from "./operator.js";

interface Entry {
  key: unknown;
  acc: unknown;
}

/** Windows keyed by start time; the unwindowed state lives under NO_WINDOW. */
const NO_WINDOW = Number.NEGATIVE_INFINITY;

export class AggregateOperator implements Operator {
  private readonly acc: Accumulator;
  private readonly windows = new Map<number, Map<string | number | boolean, Entry>>();

  constructor(
    private readonly id: string,
    /** `file:line` of the aggregate, for records that fail in it. */
    private readonly where: string,
    spec: AggregateSpec,
    private readonly window: WindowSpec | null,
    fns: Record<string, unknown>,
    private readonly ctx: OperatorContext,
  ) {
    this.acc = accumulatorFor(spec, fns);
    if (window && window.time === "event") throw new Error("internal: event-time windows are not supported by this runtime yet");
    if (window && window.kind === "session") throw new Error("internal: session windows are not supported by this runtime yet");
  }

  process(batch: Batch): void {
    const keys = batch.keys;
    if (!keys) throw new Error(`internal: aggregate ${this.id} received records without keys`);
    if (this.window === null) return this.processUnwindowed(batch.values, keys);
    const starts = this.windowStarts(Date.now());
    for (const start of starts) {
      const entries = this.entriesOf(start);
      for (let i = 0; i < batch.values.length; i++) this.update(entries, keys[i], batch.values[i]);
    }
  }

  private processUnwindowed(values: unknown[], keys: unknown[]): void {
    const entries = this.entriesOf(NO_WINDOW);
    const out: unknown[] = [];
    for (let i = 0; i < values.length; i++) {
      const e = this.update(entries, keys[i], values[i]);
      if (e) out.push(this.result(e, null));
    }
    this.ctx.out.emit({ values: out, keys: null });
  }

  /** Adds one record to its key's accumulator; undefined when the record failed (reported, skipped). */
  private update(entries: Map<string | number | boolean, Entry>, key: unknown, value: unknown): Entry | undefined {
    const id = keyId(key);
    let e = entries.get(id);
    let acc;
    try {
      acc = this.acc.add(e === undefined ? this.acc.init() : e.acc, value);
    } catch (err) {
      this.ctx.fail(value, err, this.where);
      return undefined;
    }
    if (e === undefined) {
      e = { key, acc };
      entries.set(id, e);
    } else e.acc = acc;
    return e;
  }

  private entriesOf(start: number): Map<string | number | boolean, Entry> {
    let m = this.windows.get(start);
    if (m === undefined) {
      m = new Map();
      this.windows.set(start, m);
    }
    return m;
  }

  /** Start times of the windows an element at time `t` belongs to. */
  private windowStarts(t: number): number[] {
    const w = this.window!;
    if (w.kind === "tumbling") return [t - mod(t, w.sizeMs)];
    if (w.kind === "sliding") {
      const starts: number[] = [];
      const last = t - mod(t, w.slideMs);
      for (let s = last; s > t - w.sizeMs; s -= w.slideMs) starts.push(s);
      return starts;
    }
    return [];
  }

  private sizeMs(): number {
    const w = this.window!;
    return w.kind === "session" ? w.gapMs : w.sizeMs;
  }

  private result(e: Entry, start: number | null): Record<string, unknown> {
    const o: Record<string, unknown> = { key: e.key };
    this.acc.result(e.acc, o);
    if (start !== null) {
      o.start = start;
      o.end = start + this.sizeMs();
    }
    return o;
  }

  /** Emits and forgets every window that ends at or before `time`, oldest first. */
  private fireUntil(time: number): void {
    if (this.window === null) return;
    const due = [...this.windows.keys()].filter((s) => s + this.sizeMs() <= time).sort((a, b) => a - b);
    for (const start of due) {
      const entries = this.windows.get(start)!;
      this.windows.delete(start);
      const out: unknown[] = [];
      for (const e of entries.values()) out.push(this.result(e, start));
      this.ctx.out.emit({ values: out, keys: null });
    }
  }

  onWatermark(): void {}

  onProcessingTime(now: number): void {
    this.fireUntil(now);
  }

  onEnd(): void {
    this.fireUntil(Infinity);
  }

  snapshot(): OperatorState {
    const keyGroups: Record<number, unknown[]> = {};
    for (const [start, entries] of this.windows) {
      for (const [id, e] of entries) {
        const kg = keyGroupOf(id, this.ctx.keyGroups);
        (keyGroups[kg] ??= []).push([start === NO_WINDOW ? null : start, e.key, typeof e.acc === "object" && e.acc !== null ? structuredClone(e.acc) : e.acc]);
      }
    }
    return { operator: this.id, keyGroups };
  }

  restore(states: readonly OperatorState[]): void {
    const [lo, hi] = this.ctx.keyGroupRange;
    this.windows.clear();
    for (const s of states) {
      if (s.operator !== this.id) continue;
      for (const [kgText, entries] of Object.entries(s.keyGroups)) {
        const kg = Number(kgText);
        if (kg < lo || kg >= hi) continue;
        for (const raw of entries) {
          const [start, key, acc] = raw as [number | null, unknown, unknown];
          this.entriesOf(start ?? NO_WINDOW).set(keyId(key), { key, acc: structuredClone(acc) });
        }
      }
    }
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
