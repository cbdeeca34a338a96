// What every operator instance implements. The task around it (exec/task.ts) feeds it data and
// control events from its input gate and forwards control events downstream after it.
import type { Batch } from "../exec/messages.js";
import type { Output } from "../exec/output.js";

/** An operator's state: entries grouped by key group, so it can be redistributed on restore. */
export interface OperatorState {
  operator: string;
  /** key group → entries (operator-specific, structured-clone/JSON-safe). */
  keyGroups: Record<number, unknown[]>;
  /**
   * A snapshot read after its barrier, while records go on (the operator keeps what it changes
   * meanwhile: copy on write): each call adds entries to `keyGroups` for about `budgetMs` and says
   * whether it is complete (`entries`: at most that many more, for tests). Absent once complete;
   * read it through `stateText` or `settleState`.
   */
  [PENDING]?: (budgetMs: number, entries?: number) => boolean;
}

export const PENDING: unique symbol = Symbol("pending snapshot");

/** Makes a snapshot complete now, in one go (tests; a snapshot the next barrier overtakes). */
export function settleState<S extends OperatorState | undefined>(state: S): S {
  const read = state?.[PENDING];
  if (state && read) {
    while (!read(Infinity));
    delete state[PENDING];
  }
  return state;
}

/**
 * A snapshot that `read` completes later (see OperatorState[PENDING]); JSON.stringify of it reads
 * the rest at once.
 */
export function pendingState(operator: string, keyGroups: Record<number, unknown[]>, read: (budgetMs: number, entries?: number) => boolean): OperatorState {
  const state: OperatorState = { operator, keyGroups, [PENDING]: read };
  Object.defineProperty(state, "toJSON", {
    enumerable: false,
    value: () => {
      settleState(state);
      return { operator, keyGroups };
    },
  });
  return state;
}

/** How long one stretch of reading or writing a snapshot may keep the thread from the records. */
export const SNAPSHOT_SLICE_MS = 3;

/**
 * The JSON text of a state (what JSON.stringify(settleState(state)) gives) in pieces, made in
 * stretches of about SNAPSHOT_SLICE_MS with a turn of the event loop before each, so the records go
 * on in between. `slice` is told how long each stretch held the thread. The pieces are written one
 * by one (joining a large state's text would be one long stretch again).
 */
export async function stateChunks(state: OperatorState, slice: (ms: number) => void = () => {}): Promise<string[]> {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const read = state[PENDING];
  if (read) {
    for (;;) {
      await turn();
      const t0 = performance.now();
      const done = read(SNAPSHOT_SLICE_MS);
      slice(performance.now() - t0);
      if (done) break;
    }
    delete state[PENDING];
  }
  await turn();
  let t0 = performance.now();
  const { keyGroups, ...rest } = state;
  const chunks: string[] = [];
  // `rest` holds `operator` at least: its text without the closing brace starts the object.
  let piece = `${JSON.stringify(rest).slice(0, -1)},"keyGroups":{`;
  let first = true;
  for (const kg of Object.keys(keyGroups)) {
    const entries = keyGroups[Number(kg)]!;
    piece += `${first ? "" : ","}${JSON.stringify(kg)}:[`;
    first = false;
    // A key group's entries a few hundred at a time: a million keys make key groups of thousands.
    for (let i = 0; i < entries.length; i += 256) {
      if (performance.now() - t0 >= SNAPSHOT_SLICE_MS) {
        chunks.push(piece);
        piece = "";
        slice(performance.now() - t0);
        await turn();
        t0 = performance.now();
      }
      piece += `${i === 0 ? "" : ","}${JSON.stringify(entries.slice(i, i + 256)).slice(1, -1)}`;
    }
    piece += "]";
  }
  chunks.push(piece + "}}");
  slice(performance.now() - t0);
  return chunks;
}

/** stateChunks joined (tests, small states). */
export async function stateText(state: OperatorState, slice?: (ms: number) => void): Promise<string> {
  return (await stateChunks(state, slice)).join("");
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
