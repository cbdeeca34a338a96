// Keyed aggregation without a window: every input updates its key's accumulator and emits the key's
// new result (keeping the input's event time, if it has one). Windowed aggregates are in
// window-aggregate.ts (tumbling, sliding) and window-session.ts.
import { keyGroupOf, keyId } from "../exec/keys.js";
import type { Batch } from "../exec/messages.js";
import type { AggregateSpec } from "../plan.js";
import { accumulatorFor, type Accumulator } from "./accumulators.js";
import { EntryText, textState, type Operator, type OperatorContext, type OperatorState } from "./operator.js";

interface Entry {
  key: unknown;
  acc: unknown;
}

export class AggregateOperator implements Operator {
  private readonly acc: Accumulator;
  private readonly entries = new Map<string | number | boolean, Entry>();

  constructor(
    private readonly id: string,
    /** `file:line` of the aggregate, for records that fail in it. */
    private readonly where: string,
    spec: AggregateSpec,
    fns: Record<string, unknown>,
    private readonly ctx: OperatorContext,
  ) {
    this.acc = accumulatorFor(spec, fns);
  }

  process(batch: Batch): void {
    const keys = batch.keys;
    if (!keys) throw new Error(`internal: aggregate ${this.id} received records without keys`);
    const out: unknown[] = [];
    const times = batch.times;
    const outTimes: number[] | null = times ? [] : null;
    for (let i = 0; i < batch.values.length; i++) {
      const e = this.update(keys[i], batch.values[i]);
      if (!e) continue;
      const o: Record<string, unknown> = { key: e.key };
      this.acc.result(e.acc, o);
      out.push(o);
      outTimes?.push(times![i]!);
    }
    this.ctx.out.emit(outTimes ? { values: out, keys: null, times: outTimes } : { values: out, keys: null });
  }

  /** Adds one record to its key's accumulator; undefined when the record failed (reported, skipped). */
  private update(key: unknown, value: unknown): Entry | undefined {
    const id = keyId(key);
    let e = this.entries.get(id);
    let acc;
    try {
      acc = this.acc.add(e === undefined ? this.acc.init() : e.acc, value);
    } catch (err) {
      this.ctx.fail(value, err, this.where);
      return undefined;
    }
    if (e === undefined) {
      e = { key, acc };
      this.entries.set(id, e);
    } else e.acc = acc;
    return e;
  }

  onWatermark(): void {}

  onEnd(): void {}

  snapshot(): OperatorState {
    const text = new EntryText();
    const head = Buffer.from("[null,", "latin1");
    for (const [id, e] of this.entries) text.addKeyed(keyGroupOf(id, this.ctx.keyGroups), head, e.key, e.acc);
    return textState(this.id, text);
  }

  restore(states: readonly OperatorState[]): void {
    const [lo, hi] = this.ctx.keyGroupRange;
    this.entries.clear();
    for (const s of states) {
      if (s.operator !== this.id) continue;
      for (const [kg, entries] of Object.entries(s.keyGroups)) {
        if (Number(kg) < lo || Number(kg) >= hi) continue;
        for (const raw of entries) {
          const [, key, acc] = raw as [null, unknown, unknown];
          this.entries.set(keyId(key), { key, acc: structuredClone(acc) });
        }
      }
    }
  }
}
