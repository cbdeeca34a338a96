// A fused chain of stateless operators: runs the generated ChainFn over each batch and emits what
// it collects as one batch (keyed when the chain ends in keyBy). Records with an event time (after
// `watermark`) keep it: the generated code says which input each output came from. A chain with a
// `watermark` step computes the event times itself and emits each record with its own.
import type { Batch } from "../exec/messages.js";
import type { ChainFn, Collector } from "../plan.js";
import type { Operator, OperatorContext } from "./operator.js";

export class ChainOperator implements Operator {
  /**
   * The output batch being filled: arrays the size of the input batch, written by index (faster
   * than growing them by push; trimmed after a filter, grown by a flatMap).
   */
  private values: unknown[] = [];
  private keys: unknown[] = [];
  private outTimes: number[] = [];
  private n = 0;
  /** The input batch's times while it runs (null without event time). */
  private inTimes: number[] | null = null;
  private readonly collector: Collector<unknown>;

  constructor(
    private readonly fn: ChainFn,
    private readonly ctx: OperatorContext,
    /** The chain ends in keyBy. */
    private readonly keyed = false,
    /** The chain has a `watermark` step: it computes its outputs' times. */
    private readonly stamps = false,
  ) {
    // Plain closures over this instance: the generated code calls them once per record.
    this.collector = {
      emit: (v, i) => {
        const n = this.n++;
        this.values[n] = v;
        if (this.inTimes !== null) this.outTimes[n] = this.inTimes[i]!;
      },
      emitKeyed: (k, v, i) => {
        const n = this.n++;
        this.keys[n] = k;
        this.values[n] = v;
        if (this.inTimes !== null) this.outTimes[n] = this.inTimes[i]!;
      },
      emitAt: (v, t) => {
        const n = this.n++;
        this.values[n] = v;
        this.outTimes[n] = t;
      },
      emitKeyedAt: (k, v, t) => {
        const n = this.n++;
        this.keys[n] = k;
        this.values[n] = v;
        this.outTimes[n] = t;
      },
      fail: (record, error, where) => ctx.fail(record, error, where),
    };
  }

  process(batch: Batch): void {
    const size = batch.values.length;
    const times = batch.times ?? null;
    const timed = times !== null || this.stamps;
    this.values = new Array<unknown>(size);
    this.keys = this.keyed ? new Array<unknown>(size) : [];
    this.outTimes = timed ? new Array<number>(size) : [];
    this.n = 0;
    this.inTimes = times;
    try {
      this.fn(batch.values, this.collector);
    } finally {
      this.inTimes = null;
    }
    const n = this.n;
    if (n === 0) return;
    const { values, keys, outTimes } = this;
    if (n < size) {
      values.length = n;
      if (this.keyed) keys.length = n;
      if (timed) outTimes.length = n;
    }
    const out: Batch = { values, keys: this.keyed ? keys : null };
    if (timed) out.times = outTimes;
    this.values = this.keys = this.outTimes = [];
    this.ctx.out.emit(out);
  }

  onWatermark(): void {}
  onEnd(): void {}
  snapshot(): undefined {
    return undefined;
  }
  restore(): void {}
}
