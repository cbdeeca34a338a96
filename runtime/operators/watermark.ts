// `watermark(x => x.ts, delay: d)`: stamps every record with its event time (the lambda's value) and
// emits a watermark trailing the largest timestamp seen by this partition by `delay`, after each
// batch (and before a record older than it). A partition that has received nothing for the idle
// timeout says so (`idle`), so that downstream minimums leave it out until it sees data again; the
// end of input is watermark +∞.
import type { Batch } from "../exec/messages.js";
import type { ValueFn } from "../plan.js";
import type { Operator, OperatorContext } from "./operator.js";

/** How long a partition may receive nothing before it stops holding event time back. */
export const DEFAULT_IDLE_TIMEOUT_MS = 2000;

export class WatermarkOperator implements Operator {
  readonly ownsWatermarks = true;
  private emitted = -Infinity;
  private lastInput: number;
  private idle = false;

  constructor(
    /** `file:line` of the watermark step, for records whose timestamp fails. */
    private readonly where: string,
    /** Null when the chain before computed the timestamps: the batches come with their times. */
    private readonly timeOf: ValueFn | null,
    private readonly delayMs: number,
    private readonly idleTimeoutMs: number,
    private readonly ctx: OperatorContext,
    now: number = Date.now(),
  ) {
    this.lastInput = now;
  }

  /**
   * A batch arrived (process() and a fused event-time loop, Job.fuse, call this first): the input
   * is not idle, and after an idle spell any watermark, even an unchanged one, makes the channel
   * count again.
   */
  arrive(): void {
    this.lastInput = Date.now();
    if (this.idle) {
      this.idle = false;
      this.ctx.out.control({ kind: "watermark", time: this.emitted });
    }
  }

  /** The watermark last sent on. */
  get sent(): number {
    return this.emitted;
  }

  /** Sends watermark `time` on, if it is past the last one sent. */
  advance(time: number): void {
    if (time <= this.emitted) return;
    this.emitted = time;
    this.ctx.out.control({ kind: "watermark", time });
  }

  /**
   * Which records are late must not depend on how the input was cut into batches: downstream, a
   * record must see every watermark the records before it made. One watermark per record that
   * advances it (each cutting the batch, and each going to every downstream channel) costs a frame
   * per record across workers, so the batch goes out whole with one watermark after it, unless a
   * record is older than the watermark the records before it made (it may be late): the records
   * before it and that watermark go first. Records at or after that watermark land in the same
   * windows, sessions and join matches either way (a window or session that watermark would close
   * ends after them), so the results are the same as with a watermark after every record.
   */
  process(batch: Batch): void {
    this.arrive();
    let values: unknown[] = [];
    let keys: unknown[] | null = batch.keys ? [] : null;
    let times: number[] = [];
    // The watermark the records so far have made, not sent yet.
    let pending = this.emitted;
    const flush = () => {
      if (values.length > 0) this.ctx.out.emit({ values, keys, times });
      values = [];
      keys = batch.keys ? [] : null;
      times = [];
      this.advance(pending);
    };
    const timeOf = this.timeOf;
    const stamped = timeOf === null ? batch.times : undefined;
    if (timeOf === null && !stamped) throw new Error("internal: a watermark without a function received records without times");
    if (stamped) {
      // Stamped by the chain before: a batch that needs no cut (the usual case) goes on as it is.
      let i = 0;
      let max = pending;
      for (; i < stamped.length; i++) {
        const t = stamped[i]!;
        if (t < max && max > this.emitted) break;
        if (t - this.delayMs > max) max = t - this.delayMs;
      }
      if (i === stamped.length) {
        this.ctx.out.emit(batch);
        this.advance(max);
        return;
      }
    }
    for (let i = 0; i < batch.values.length; i++) {
      const v = batch.values[i];
      let t: number;
      if (stamped) t = stamped[i]!;
      else {
        try {
          t = timeOf!(v);
          if (typeof t !== "number" || !Number.isFinite(t)) throw new Error(`the timestamp is ${JSON.stringify(t)}, not a number of milliseconds`);
        } catch (e) {
          this.ctx.fail(v, e, this.where);
          continue;
        }
      }
      if (t < pending && pending > this.emitted) flush();
      values.push(v);
      keys?.push(batch.keys![i]);
      times.push(t);
      if (t - this.delayMs > pending) pending = t - this.delayMs;
    }
    flush();
  }

  onWatermark(): void {}

  onProcessingTime(now: number): void {
    if (!this.idle && now - this.lastInput >= this.idleTimeoutMs) {
      this.idle = true;
      this.ctx.out.control({ kind: "idle" });
    }
  }

  onEnd(): void {}

  snapshot(): undefined {
    return undefined;
  }

  restore(): void {}
}
