// A fused chain of stateless operators: runs the generated ChainFn over each batch and emits what
// it collects as one batch (keyed when the chain ends in keyBy). Records with an event time (after
// `watermark`) go through one at a time, so that each output keeps the time of its input.
import type { Batch } from "../exec/messages.js";
import type { ChainFn, Collector } from "../plan.js";
import type { Operator, OperatorContext } from "./operator.js";

export class ChainOperator implements Operator {
  private values: unknown[] = [];
  private keys: unknown[] = [];
  private readonly collector: Collector<unknown>;

  constructor(
    private readonly fn: ChainFn,
    private readonly ctx: OperatorContext,
  ) {
    // Plain closures over this instance: the generated code calls them once per record.
    this.collector = {
      emit: (v) => {
        this.values.push(v);
      },
      emitKeyed: (k, v) => {
        this.keys.push(k);
        this.values.push(v);
      },
      fail: (record, error, where) => ctx.fail(record, error, where),
    };
  }

  process(batch: Batch): void {
    const times = batch.times;
    let outTimes: number[] | null = null;
    if (times) {
      outTimes = [];
      const one: unknown[] = [undefined];
      for (let i = 0; i < batch.values.length; i++) {
        one[0] = batch.values[i];
        const before = this.values.length;
        this.fn(one, this.collector);
        for (let k = before; k < this.values.length; k++) outTimes.push(times[i]!);
      }
    } else this.fn(batch.values, this.collector);
    if (this.values.length === 0) return;
    const out: Batch = { values: this.values, keys: this.keys.length > 0 ? this.keys : null };
    if (outTimes) out.times = outTimes;
    this.values = [];
    this.keys = [];
    this.ctx.out.emit(out);
  }

  onWatermark(): void {}
  onEnd(): void {}
  snapshot(): undefined {
    return undefined;
  }
  restore(): void {}
}
