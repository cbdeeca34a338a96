// `distinct(x => k, within: d)` over a stream hash-partitioned by k: an element is kept when no
// element of its key was kept less than `within` before (or after, in event time) it, and dropped
// otherwise; the kept one starts a new interval. Event time when the stream has a watermark (an
// element behind it is late: counted, dropped), processing time (arrival) otherwise. A key is
// forgotten once its interval has passed.
import { keyGroupOf, keyId } from "../exec/keys.js";
import type { Batch } from "../exec/messages.js";
import type { WindowTime } from "../plan.js";
import { MinHeap } from "./min-heap.js";
import { EntryText, jsonValue, textState, type Operator, type OperatorContext, type OperatorState } from "./operator.js";

export class DistinctOperator implements Operator {
  /** Key id → the key and the time of its last kept element. */
  private readonly kept = new Map<string | number | boolean, { key: unknown; time: number }>();
  private watermark = -Infinity;
  /** Kept times with their keys, oldest first (a key kept again leaves a stale entry, skipped). */
  private readonly times = new MinHeap<string | number | boolean>();

  constructor(
    private readonly id: string,
    private readonly withinMs: number,
    private readonly time: WindowTime,
    private readonly ctx: OperatorContext,
  ) {}

  process(batch: Batch): void {
    const keys = batch.keys;
    if (!keys) throw new Error(`internal: distinct ${this.id} received records without keys`);
    const event = this.time === "event";
    if (event && !batch.times) throw new Error(`internal: event-time distinct ${this.id} received records without times`);
    const now = Date.now();
    const values: unknown[] = [];
    const times: number[] = [];
    let late = 0;
    for (let i = 0; i < batch.values.length; i++) {
      const t = event ? batch.times![i]! : now;
      if (t < this.watermark) {
        late++;
        continue;
      }
      const id = keyId(keys[i]);
      const k = this.kept.get(id);
      if (k && Math.abs(t - k.time) < this.withinMs) continue;
      this.kept.set(id, { key: keys[i], time: t });
      this.times.push(t, id);
      values.push(batch.values[i]);
      times.push(t);
    }
    if (late > 0) this.ctx.late?.(late);
    if (values.length > 0) this.ctx.out.emit(event ? { values, keys: null, times } : { values, keys: null });
  }

  private expire(time: number): void {
    while (this.times.size > 0 && this.times.peek() + this.withinMs <= time) {
      const id = this.times.pop();
      const k = this.kept.get(id);
      if (k && k.time + this.withinMs <= time) this.kept.delete(id);
    }
  }

  onWatermark(time: number): void {
    if (this.time !== "event") return;
    this.watermark = time;
    this.expire(time);
  }

  onProcessingTime(now: number): void {
    if (this.time === "processing") this.expire(now);
  }

  onEnd(): void {}

  snapshot(): OperatorState {
    const text = new EntryText();
    for (const [id, k] of this.kept) text.add(keyGroupOf(id, this.ctx.keyGroups), `[${jsonValue(k.key)},${jsonValue(k.time)}]`);
    return textState(this.id, text);
  }

  restore(states: readonly OperatorState[]): void {
    const [lo, hi] = this.ctx.keyGroupRange;
    this.kept.clear();
    this.times.clear();
    for (const st of states) {
      if (st.operator !== this.id) continue;
      for (const [kg, entries] of Object.entries(st.keyGroups)) {
        if (Number(kg) < lo || Number(kg) >= hi) continue;
        for (const raw of entries) {
          const [key, time] = raw as [unknown, number];
          this.kept.set(keyId(key), { key, time });
          this.times.push(time, keyId(key));
        }
      }
    }
  }
}
