// What every operator instance implements. The task around it (exec/task.ts) feeds it data and
// control events from its input gate and forwards control events downstream after it.
import type { Batch } from "../exec/messages.js";
import type { Output } from "../exec/output.js";

/** An operator's state: entries grouped by key group, so it can be redistributed on restore. */
export interface OperatorState {
  operator: string;
  /** key group → entries (operator-specific, structured-clone/JSON-safe). */
  keyGroups: Record<number, unknown[]>;
}

export interface OperatorContext {
  /** This instance's index and the number of instances. */
  partition: number;
  partitions: number;
  keyGroups: number;
  /** Key groups this instance owns: [start, end). */
  keyGroupRange: [number, number];
  out: Output;
  /** Report a record that failed inside generated or imported code; the record is skipped. */
  fail(record: unknown, error: unknown, where: string): void;
  /** Count `n` late elements (behind the watermark) that were dropped. */
  late?(n: number): void;
}

export interface Operator {
  /** Set by operators that emit watermarks of their own: the task does not forward its inputs'. */
  readonly ownsWatermarks?: boolean;
  /** A second output for late elements (`late: NAME`); the task sends control events to it too. */
  readonly lateOutput?: Output;
  /** Which input (0, 1, ...) of the plan node each channel belongs to; told once after wiring. */
  bindChannels?(inputOfChannel: readonly number[]): void;
  process(batch: Batch, channel: number): void;
  /** Event time advanced to `time` (already the minimum over inputs). */
  onWatermark(time: number): void;
  /** Wall-clock tick, for processing-time windows. */
  onProcessingTime?(now: number): void;
  /** Every input ended: flush, close. */
  onEnd(): void | Promise<void>;
  /** Stops without flushing (the job failed or was cancelled). */
  abort?(): Promise<void>;
  /** Stateless operators return undefined. */
  snapshot(): OperatorState | undefined;
  /** Takes the entries of the key groups this instance owns from states written by any partitioning. */
  restore(states: readonly OperatorState[]): void;
}
