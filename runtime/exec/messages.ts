// What travels on a channel: batches of records, and control events in band with them
// (watermarks, checkpoint barriers, end of stream), so every operator sees them in order.

export interface Batch {
  values: unknown[];
  /** Parallel to `values` when the records are keyed (the sender ended in keyBy); otherwise null. */
  keys: unknown[] | null;
  /** Parallel to `values` once records have an event time (after `watermark`); otherwise absent. */
  times?: number[] | null;
}

export type ControlEvent =
  /** Event time has reached `time` on this channel: no element with a smaller timestamp follows. */
  | { kind: "watermark"; time: number }
  /**
   * The sender has seen no input for the idle timeout: until its next watermark, receivers leave
   * this channel out of their minimum, so an idle partition does not hold event time back.
   */
  | { kind: "idle" }
  /** Checkpoint `id`: everything before belongs to it, everything after to the next. */
  | { kind: "barrier"; id: number }
  /** The channel will carry nothing more. */
  | { kind: "end" };
