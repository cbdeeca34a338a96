// A fused chain of stateless operators: runs the generated ChainFn over each batch and emits what
// it made as one batch (keyed when the chain ends in keyBy). The generated function fills the
// output arrays itself, so the per-record stores are the pipeline's own code, not a runtime closure
// shared by every pipeline of the process. Records with an event time (after `watermark`) keep it;
// a chain with a `watermark` step computes each record's time itself.
//
// Fused: when the chain's every record goes to one windowed aggregate running in the same process
// and partition (Job.fuse), the plan's FusedFoldFn runs the chain and the aggregate's fold in one
// loop and no batch is made between them (in event time, the watermark node between them too).
// Control events still go the usual way, after the data. A batch may go either way: both leave
// the same state behind.
import type { Batch } from "../exec/messages.js";
import { MAX_BATCH, type ChainFn, type Collector, type EventFoldContext, type FusedEventFoldFn, type FusedFoldFn, type GeneratedEventFoldFn, type GeneratedFoldFn } from "../plan.js";
import type { Operator, OperatorContext } from "./operator.js";
import type { WindowAggregateOperator } from "./window-aggregate.js";

type FusedTarget = (
  | { fn: FusedFoldFn; event?: undefined; generated?: GeneratedFoldFn }
  /** Event time: the watermark node's and the aggregate's state (WindowAggregateOperator.eventFoldContext). */
  | { fn: FusedEventFoldFn; event: { ctx: EventFoldContext; end(): void }; generated?: GeneratedEventFoldFn }
) & {
  aggregate: WindowAggregateOperator;
  /**
   * Batches go the way apart while a window holds more entries than this: with its state far
   * beyond the CPU's caches, the fold's own tight loop overlaps the lookups' memory waits, and the
   * one loop does not (measured: even at 100k keys, a quarter slower at 300k and 1M).
   */
  mostEntries: number;
  /** Counts the records the aggregate (and a watermark node between) took, as their tasks would have. */
  received(n: number): void;
};

/**
 * The most record numbers a generate source hands at once to a chain that makes the records itself
 * in processing time. No records are made, so a range costs no memory; what it costs is the trip
 * through Job.pump() per range (about 3 µs): with ranges of MAX_BATCH, a tenth of W1's time outside
 * its loop. In event time ranges stay MAX_BATCH: W3 gained nothing from this size and measured 9%
 * slower (10 paired runs, where two identical builds differ by up to 7%). A range the chain cannot
 * run fused becomes a batch of records, and is MAX_BATCH too: with batches of 32,768 there, W3 with
 * 1M keys peaked at about 600 MB in 6 of 10 bench runs (310 MB before) and took 2.4–2.5 s against
 * 1.7–2.3 in paired runs.
 */
export const GENERATED_RANGE = 4 * MAX_BATCH;

/** FusedTarget.mostEntries unless a job says otherwise (RunOptions.fuseMostEntries). */
export const FUSED_MOST_ENTRIES = 1 << 16;

export class ChainOperator implements Operator {
  private readonly collector: Collector<unknown>;
  /** What the chain emitted for the current input batch: one batch, or several after a flatMap. */
  private outs: Batch[] = [];
  private fused: FusedTarget | null = null;
  /** The fused target's loops over a batch and, when it has one, over a range of generated records (returning how many records they passed on). */
  private loop: { batch(values: readonly unknown[]): number; range: ((from: number, count: number) => number) | undefined } | null = null;

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

  /** From now on the chain's records go straight into `target`'s aggregate. */
  fuse(target: FusedTarget): void {
    this.fused = target;
    const out = this.collector;
    // The plan's loops bound to their state once: in processing time the window of now, in event
    // time the watermark node's and the aggregate's (late records handled after the batch).
    if (target.event === undefined) {
      const { fn, generated: g, aggregate: agg } = target;
      this.loop = {
        batch: (values) => agg.foldFused((entries, ctx) => fn(values, entries, ctx, out)),
        range: g && ((from, count) => agg.foldFused((entries, ctx) => g(from, count, entries, ctx, out))),
      };
    } else {
      const { fn, generated: g, event: { ctx, end } } = target;
      const ended = (n: number) => (end(), n);
      this.loop = {
        batch: (values) => ended(fn(values, ctx, out)),
        range: g && ((from, count) => ended(g(from, count, ctx, out))),
      };
    }
  }

  /** How many record numbers the next range of a generate source should hold (GENERATED_RANGE). */
  get rangeSize(): number {
    return this.fused !== null && this.fused.event === undefined && this.runsFused ? GENERATED_RANGE : MAX_BATCH;
  }

  /** Whether the next batch runs in the one loop (fused, and no window too large for it). */
  get runsFused(): boolean {
    return this.fused !== null && this.fused.aggregate.largestWindow() <= this.fused.mostEntries;
  }

  /**
   * The records from…from+count-1 of the generate source before the chain (Job.fuse): the one loop
   * makes them itself where it can; otherwise `records` makes the batch and it goes the usual way.
   */
  processGenerated(from: number, count: number, records: (from: number, count: number) => unknown[]): void {
    const range = this.loop?.range;
    if (range === undefined || !this.runsFused) return this.process({ values: records(from, count), keys: null });
    this.passed(range(from, count));
  }

  /** Counts the `n` records the one loop passed on, as the chain's task and the ones after it would have. */
  private passed(n: number): void {
    this.ctx.out.recordsOut += n;
    this.fused!.received(n);
  }

  process(batch: Batch): void {
    if (this.loop !== null && this.runsFused) return this.passed(this.loop.batch(batch.values));
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
