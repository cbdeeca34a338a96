// A keyed aggregate over session windows (`session(gap: g)`): a key's session holds elements whose
// times are less than `gap` apart; an element that bridges two sessions merges them. A session
// [first, last + gap) closes when the watermark (event time) or the wall clock (processing time)
// reaches last + gap, and at the end of input; it emits one record with `start` = first and
// `end` = last + gap. Elements behind the watermark are late: counted and dropped, or sent to the
// `late:` stream.
import { Output } from "../exec/output.js";
import { keyGroupOf, keyId } from "../exec/keys.js";
import type { Batch } from "../exec/messages.js";
import type { AggregateSpec, WindowSpec } from "../plan.js";
import { accumulatorFor, type Accumulator } from "./accumulators.js";
import { LateElements } from "./late.js";
import { MinHeap } from "./min-heap.js";
import { EntryText, jsonValue, textState, type Operator, type OperatorContext, type OperatorState } from "./operator.js";
import { EMIT_BATCH } from "./window-aggregate.js";

interface Session {
  start: number;
  /** Last element's time + gap (exclusive). */
  end: number;
  acc: unknown;
}

interface KeySessions {
  key: unknown;
  /** Disjoint, sorted by start. */
  sessions: Session[];
}

export class SessionAggregateOperator implements Operator {
  readonly lateOutput: Output | undefined;
  private readonly acc: Accumulator;
  private readonly late: LateElements;
  private readonly keys = new Map<string | number | boolean, KeySessions>();
  private watermark = -Infinity;
  /** Session ends with their keys, earliest first; entries of sessions that merged since are skipped. */
  private readonly ends = new MinHeap<string | number | boolean>();

  constructor(
    private readonly id: string,
    private readonly where: string,
    spec: AggregateSpec,
    private readonly window: WindowSpec & { kind: "session" },
    fns: Record<string, unknown>,
    private readonly ctx: OperatorContext,
    withLateOutput = false,
  ) {
    this.acc = accumulatorFor(spec, fns);
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
    for (let i = 0; i < batch.values.length; i++) {
      const t = this.eventTime ? times![i]! : now;
      if (t < this.watermark) {
        lateValues.push(batch.values[i]);
        lateTimes.push(t);
        continue;
      }
      this.add(keys[i], batch.values[i], t);
    }
    this.late.handle(lateValues, lateTimes);
  }

  private add(key: unknown, value: unknown, t: number): void {
    let acc: unknown;
    try {
      acc = this.acc.add(this.acc.init(), value);
    } catch (err) {
      this.ctx.fail(value, err, this.where);
      return;
    }
    const id = keyId(key);
    let ks = this.keys.get(id);
    if (!ks) this.keys.set(id, (ks = { key, sessions: [] }));
    let merged: Session = { start: t, end: t + this.window.gapMs, acc };
    const rest: Session[] = [];
    for (const s of ks.sessions) {
      if (s.start < merged.end && merged.start < s.end) {
        // Keep the accumulators in time order, so reduce sees its values in order.
        const [a, b] = s.start <= merged.start ? [s, merged] : [merged, s];
        merged = { start: Math.min(s.start, merged.start), end: Math.max(s.end, merged.end), acc: this.acc.merge(a.acc, b.acc) };
      } else rest.push(s);
    }
    rest.push(merged);
    rest.sort((a, b) => a.start - b.start);
    ks.sessions = rest;
    this.ends.push(merged.end, id);
  }

  /** Emits and forgets every session that ends at or before `time`, oldest first. */
  private fireUntil(time: number): void {
    const due: { key: unknown; s: Session }[] = [];
    while (this.ends.size > 0 && this.ends.peek() <= time) {
      const id = this.ends.pop();
      const ks = this.keys.get(id);
      if (!ks) continue;
      const open = ks.sessions.filter((s) => s.end > time);
      for (const s of ks.sessions) if (s.end <= time) due.push({ key: ks.key, s });
      if (open.length === 0) this.keys.delete(id);
      else ks.sessions = open;
    }
    if (due.length === 0) return;
    due.sort((a, b) => a.s.end - b.s.end);
    // In batches of EMIT_BATCH, in order of their ends: the end of input closes every key's session.
    for (let from = 0; from < due.length; from += EMIT_BATCH) {
      const part = due.slice(from, from + EMIT_BATCH);
      const values = part.map(({ key, s }) => {
        const o: Record<string, unknown> = { key };
        this.acc.result(s.acc, o);
        o.start = s.start;
        o.end = s.end;
        return o;
      });
      this.ctx.out.emit(this.eventTime ? { values, keys: null, times: part.map((d) => d.s.end - 1) } : { values, keys: null });
    }
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

  snapshot(): OperatorState {
    // Written as text at the barrier: no copy of each session stays on the heap until the file is written.
    const text = new EntryText();
    for (const [id, ks] of this.keys) {
      const kg = keyGroupOf(id, this.ctx.keyGroups);
      const key = jsonValue(ks.key);
      for (const s of ks.sessions) text.add(kg, `[${key},${jsonValue(s.start)},${jsonValue(s.end)},${jsonValue(s.acc)}]`);
    }
    return textState(this.id, text);
  }

  restore(states: readonly OperatorState[]): void {
    const [lo, hi] = this.ctx.keyGroupRange;
    this.keys.clear();
    this.ends.clear();
    for (const st of states) {
      if (st.operator !== this.id) continue;
      for (const [kg, entries] of Object.entries(st.keyGroups)) {
        if (Number(kg) < lo || Number(kg) >= hi) continue;
        for (const raw of entries) {
          const [key, start, end, acc] = raw as [unknown, number, number, unknown];
          const id = keyId(key);
          let ks = this.keys.get(id);
          if (!ks) this.keys.set(id, (ks = { key, sessions: [] }));
          ks.sessions.push({ start, end, acc: structuredClone(acc) });
          this.ends.push(end, id);
          ks.sessions.sort((a, b) => a.start - b.start);
        }
      }
    }
  }
}

