// A fused chain of stateless operators: runs the generated ChainFn over each batch and emits what
// it made as one batch (keyed when the chain ends in keyBy). The generated function fills the
// output arrays itself, so the per-record stores are the pipeline's own code, not a runtime closure
// shared by every pipeline of the process. Records with an event time (after `watermark`) keep it;
// a chain with a `watermark` step computes each record's time itself.
import type { Batch } from "../exec/messages.js";
import type { ChainFn, Collector } from "../plan.js";
import type { Operator, OperatorContext } from "./operator.js";

export class ChainOperator implements Operator {
  private readonly collector: Collector<unknown>;
  /** What the chain emitted for the current input batch: one batch, or several after a flatMap. */
  private outs: Batch[] = [];

  constructor(
    private readonly fn: ChainFn,
    private readonly ctx: OperatorContext,
  ) {
    this.collector = {
      done: (values, keys, times, n) => {
        if (n === 0) return;
        if (values.length !== n) {
          values.length = n;
          if (keys) keys.length = n;
          if (times) times.length = n;
        }
        this.outs.push(times ? { values, keys, times } : { values, keys });
      },
      fail: (record, error, where) => ctx.fail(record, error, where),
    };
  }

  process(batch: Batch): void {
    this.outs = [];
    this.fn(batch.values, batch.times ?? null, this.collector);
    const outs = this.outs;
    this.outs = [];
    for (const out of outs) this.ctx.out.emit(out);
  }

  onWatermark(): void {}
  onEnd(): void {}
  snapshot(): undefined {
    return undefined;
  }
  restore(): void {}
}
