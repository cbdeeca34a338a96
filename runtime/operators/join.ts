// Interval join (`join(other, on: (a, b) => ka == kb, within: d)`): input 0 is the left stream,
// input 1 the right one, both hash-partitioned by their side of the `on:` equality. Each element is
// buffered under its key and paired with every buffered element of the other side whose time is at
// most `within` away: `{ left, right }`, with the later of the two times. Event time when both inputs
// have watermarks: an element behind the watermark is late (counted, dropped) and buffered elements
// are forgotten once no element of the other side can match them any more. Processing time
// otherwise: times are arrival times and the wall clock forgets.
import { keyGroupOf, keyId } from "../exec/keys.js";
import type { Batch } from "../exec/messages.js";
import { MAX_BATCH, type WindowTime } from "../plan.js";
import { MinHeap } from "./min-heap.js";
import { EntryText, jsonValue, textState, type Operator, type OperatorContext, type OperatorState } from "./operator.js";

interface Buffered {
  value: unknown;
  time: number;
}

interface KeyState {
  key: unknown;
  /** [left, right] */
  sides: [Buffered[], Buffered[]];
}

export class JoinOperator implements Operator {
  private inputOf: readonly number[] = [];
  private readonly keys = new Map<string | number | boolean, KeyState>();
  private watermark = -Infinity;
  /** Buffered times with their keys, oldest first: which keys a watermark may expire something of. */
  private readonly times = new MinHeap<string | number | boolean>();

  constructor(
    private readonly id: string,
    private readonly withinMs: number,
    private readonly time: WindowTime,
    private readonly ctx: OperatorContext,
  ) {}

  bindChannels(inputOfChannel: readonly number[]): void {
    this.inputOf = inputOfChannel;
  }

  process(batch: Batch, channel: number): void {
    const side = this.inputOf[channel];
    if (side !== 0 && side !== 1) throw new Error(`internal: join ${this.id} got channel ${channel} without an input`);
    const keys = batch.keys;
    if (!keys) throw new Error(`internal: join ${this.id} received records without keys`);
    const event = this.time === "event";
    if (event && !batch.times) throw new Error(`internal: event-time join ${this.id} received records without times`);
    const now = Date.now();
    let values: unknown[] = [];
    let times: number[] = [];
    // Matches go out in batches of at most MAX_BATCH: one record can match thousands buffered.
    const emit = () => {
      this.ctx.out.emit(event ? { values, keys: null, times } : { values, keys: null });
      values = [];
      times = [];
    };
    let late = 0;
    for (let i = 0; i < batch.values.length; i++) {
      const t = event ? batch.times![i]! : now;
      if (t < this.watermark) {
        late++;
        continue;
      }
      const v = batch.values[i];
      const id = keyId(keys[i]);
      let ks = this.keys.get(id);
      if (!ks) this.keys.set(id, (ks = { key: keys[i], sides: [[], []] }));
      ks.sides[side].push({ value: v, time: t });
      this.times.push(t, id);
      for (const o of ks.sides[1 - side]!) {
        if (Math.abs(t - o.time) > this.withinMs) continue;
        values.push(side === 0 ? { left: v, right: o.value } : { left: o.value, right: v });
        times.push(Math.max(t, o.time));
        if (values.length === MAX_BATCH) emit();
      }
    }
    if (late > 0) this.ctx.late?.(late);
    if (values.length > 0) emit();
  }

  /** Forgets what no element at or after `time` can match. */
  private expire(time: number): void {
    const limit = time - this.withinMs;
    while (this.times.size > 0 && this.times.peek() < limit) {
      const id = this.times.pop();
      const ks = this.keys.get(id);
      if (!ks) continue;
      ks.sides = [ks.sides[0].filter((b) => b.time >= limit), ks.sides[1].filter((b) => b.time >= limit)];
      if (ks.sides[0].length === 0 && ks.sides[1].length === 0) this.keys.delete(id);
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
    // Written as text at the barrier: no copy of each buffered record stays on the heap until the file is written.
    const text = new EntryText();
    for (const [id, ks] of this.keys) {
      const kg = keyGroupOf(id, this.ctx.keyGroups);
      const key = jsonValue(ks.key);
      ks.sides.forEach((buf, side) => {
        for (const b of buf) text.add(kg, `[${key},${side},${jsonValue(b.value)},${jsonValue(b.time)}]`);
      });
    }
    return textState(this.id, text);
  }

  restore(states: readonly OperatorState[]): void {
    const [lo, hi] = this.ctx.keyGroupRange;
    this.keys.clear();
    this.times.clear();
    for (const st of states) {
      if (st.operator !== this.id) continue;
      for (const [kg, entries] of Object.entries(st.keyGroups)) {
        if (Number(kg) < lo || Number(kg) >= hi) continue;
        for (const raw of entries) {
          const [key, side, value, time] = raw as [unknown, 0 | 1, unknown, number];
          const id = keyId(key);
          let ks = this.keys.get(id);
          if (!ks) this.keys.set(id, (ks = { key, sides: [[], []] }));
          ks.sides[side].push({ value: structuredClone(value), time });
          this.times.push(time, id);
        }
      }
    }
  }
}
