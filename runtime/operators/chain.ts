// A fused chain of stateless operators: runs the generated ChainFn over each batch and emits what
// it collects as one batch (keyed when the chain ends in keyBy). Records with an event time (after
// `watermark`) keep it: the generated code says which input each output came from.
import type { Batch } from "../exec/messages.js";
import type { ChainFn, Collector } from "../plan.js";
import type { Operator, OperatorContext } from "./operator.js";

export class ChainOperator implements Operator {
  private values: unknown[] = [];
  private keys: unknown[] = [];
  /** The input batch's times while it runs (null without event time), and the outputs' times. */
  private inTimes: number[] | null = null;
  private outTimes: number[] = [];
  private readonly collector: Collector<unknown>;

  constructor(
    private readonly fn: ChainFn,
    private readonly ctx: OperatorContext,
  ) {
    // Plain closures over this instance: the generated code calls them once per record.
    this.collector = {
      emit: (v, i) => {
        this.values.push(v);
        if (this.inTimes !== null) this.outTimes.push(this.inTimes[i]!);
      },
      emitKeyed: (k, v, i) => {
        this.keys.push(k);
        this.values.push(v);
        if (this.inTimes !== null) this.outTimes.push(this.inTimes[i]!);
      },
      fail: (record, error, where) => ctx.fail(record, error, where),
    };
  }

  process(batch: Batch): void {
    const times = batch.times ?? null;
    this.inTimes = times;
    try {
      this.fn(batch.values, this.collector);
    } finally {
      this.inTimes = null;
    }
    if (this.values.length === 0) return;
    const out: Batch = { values: this.values, keys: this.keys.length > 0 ? this.keys : null };
    if (times) {
      out.times = this.outTimes;
      this.outTimes = [];
    }
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
