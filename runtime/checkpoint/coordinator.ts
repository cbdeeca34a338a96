// The embedded checkpoint coordinator: the protocol of docs/fault-tolerance.md in one process.
//
//   idle ──interval──▶ injecting(n): each source, between two batches, records its position and
//                      emits barrier(n) (the input gates align it; every task snapshots as it passes)
//   injecting(n) ──every task acked (sinks: pre-committed)──▶ writing(n): state files + manifest
//   writing(n) ──▶ publish `latest` ──▶ commit every sink (staged segments → part files) ──▶ idle
//   any step fails ──▶ declined(n) ──▶ idle; `maxDeclines` declines in a row fail the job
//
// One checkpoint is in flight at a time. A task that finished before the barrier reached it
// counts as acked with its final state, except a sink: the job is ending and its last commit
// publishes everything. The job calls in through the JobCheckpointing interface (exec/job.ts).
import * as path from "node:path";
import type { SinkStaging, SourcePosition, SourceReader, StagedOutput } from "../connectors/api.js";
import type { Task } from "../exec/task.js";
import type { OperatorState } from "../operators/operator.js";
import { SinkOperator } from "../operators/sink.js";
import type { CheckpointStore, Manifest, TaskSnapshot } from "./store.js";
import { crashPoint, holdBarriers } from "./test-hooks.js";

/** What the job calls; implemented here so that exec/ knows nothing of the protocol. */
export interface JobCheckpointing {
  /** Where a source may keep its own files (the socket source's write-ahead log), by node. */
  sourceStateDir(node: string, partition: number): string;
  resumeOf(node: string, partition: number): SourcePosition | undefined;
  stagingOf(node: string, partition: number): SinkStaging;
  /** Called once the tasks are wired. */
  attach(job: CheckpointedJob): void;
  /** A source task is between two batches (and before its end): inject a due barrier. */
  beforeRead(task: Task, reader: SourceReader): void;
  /** A source task waits for its next batch (reader), or has it (null). */
  reading(task: Task, reader: SourceReader | null): void;
  /** A source's input ended (or it was stopped): its last position stands for later checkpoints. */
  sourceEnded(task: Task, reader: SourceReader): void;
  onSnapshot(task: Task, id: number, state: OperatorState | undefined, pauseMs: number): void;
  onSnapshotFailed(task: Task, id: number, error: unknown): void;
  /** A checkpoint's files are being written: sources let I/O run after every batch until it is done. */
  writing?(): boolean;
}

export interface CheckpointedJob {
  tasks: Task[];
  cancel(reason: string): Promise<void>;
}

export interface CoordinatorOptions {
  intervalMs: number;
  /** Checkpoints kept after each completed one. */
  retain: number;
  /** Declined checkpoints in a row that fail the job. */
  maxDeclines: number;
  /** A checkpoint not complete after this long is declined (default: checkpointTimeout(intervalMs)). */
  timeoutMs?: number;
  pipeline: string;
  planHash: string;
  partitions: number;
  keyGroups: number;
  /** The checkpoint resumed from, or undefined for a fresh start. */
  resumed?: Manifest;
  warn(message: string): void;
}

interface InFlight {
  id: number;
  startedAt: number;
  /**
   * Milliseconds the record path stood still for this checkpoint, summed over its tasks: injecting
   * the barrier, the snapshots, the sinks' pre-commit and serialising the state (one thread).
   */
  pause: number;
  /** The longest stretch reading or serialising a state held the thread (ms). */
  stall: number;
  injected: Set<Task>;
  positions: Map<Task, SourcePosition | undefined>;
  states: Map<Task, OperatorState | undefined>;
  staged: Map<Task, Promise<StagedOutput>>;
  writing: boolean;
}

export interface CheckpointStats {
  completed: number;
  declined: number;
  /**
   * Per completed checkpoint: how long the record path stood still at the barriers (ms): injecting
   * them, the operators' snapshots (copy on write: a window aggregate only starts an epoch) and the
   * sinks' pre-commits.
   */
  pauses: number[];
  /**
   * Per completed checkpoint: the longest single stretch in which reading or serialising the state
   * afterwards held the thread (ms); the records go on between stretches.
   */
  stalls: number[];
  /** Per completed checkpoint: from trigger to committed (ms). */
  durations: number[];
  resumedFrom: number | undefined;
}

/** The default checkpoint timeout: ten intervals, at least 30 s. */
export function checkpointTimeout(intervalMs: number): number {
  return Math.max(30_000, 10 * intervalMs);
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export class CheckpointCoordinator implements JobCheckpointing {
  private job: CheckpointedJob | null = null;
  private nextId: number;
  private inFlight: InFlight | null = null;
  private completion: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private declinesInARow = 0;
  private stopped = false;
  private readonly ended = new Set<Task>();
  readonly stats: CheckpointStats;

  constructor(
    private readonly store: CheckpointStore,
    private readonly opts: CoordinatorOptions,
  ) {
    this.nextId = (opts.resumed?.id ?? 0) + 1;
    this.stats = { completed: 0, declined: 0, pauses: [], stalls: [], durations: [], resumedFrom: opts.resumed?.id };
  }

  sourceStateDir(node: string, partition: number): string {
    return path.join(this.store.dir, "sources", `${node}.${partition}`);
  }

  resumeOf(node: string, partition: number): SourcePosition | undefined {
    return this.opts.resumed?.sources.find((s) => s.node === node && s.partition === partition)?.position;
  }

  stagingOf(): SinkStaging {
    return { resumed: this.opts.resumed !== undefined, after: this.opts.resumed?.id ?? 0 };
  }

  attach(job: CheckpointedJob): void {
    this.job = job;
    for (const t of job.tasks) {
      void t.finished.then(
        () => {
          this.ended.add(t);
          this.check();
        },
        () => {},
      );
    }
    this.timer = setInterval(() => this.trigger(), this.opts.intervalMs);
    this.timer.unref();
  }

  private trigger(): void {
    if (this.stopped || !this.job) return;
    const c = this.inFlight;
    if (c) {
      // A barrier held up (behind a sink that does not drain, say) is given up on, not waited for.
      const timeout = this.opts.timeoutMs ?? checkpointTimeout(this.opts.intervalMs);
      if (!c.writing && Date.now() - c.startedAt > timeout) {
        const waiting = this.job.tasks.filter((t) => !this.ended.has(t) && !(t.node.kind === "source" ? c.injected.has(t) : c.states.has(t)));
        this.decline(c, `not complete within ${formatMs(timeout)}: waiting for ${waiting.map((t) => t.name).join(", ")}`);
      }
      return;
    }
    const sources = this.job.tasks.filter((t) => t.node.kind === "source");
    if (sources.every((t) => this.ended.has(t))) return;
    this.inFlight = { id: this.nextId++, startedAt: Date.now(), pause: 0, stall: 0, injected: new Set(), positions: new Map(), states: new Map(), staged: new Map(), writing: false };
    for (const [task, reader] of this.waiting) if (reader.idle?.()) this.beforeRead(task, reader);
  }

  /** Sources waiting in next(): an idle one gets the barrier at once, not after its next batch. */
  private readonly waiting = new Map<Task, SourceReader>();

  reading(task: Task, reader: SourceReader | null): void {
    if (reader) {
      this.waiting.set(task, reader);
      if (this.inFlight && reader.idle?.()) this.beforeRead(task, reader);
    } else this.waiting.delete(task);
  }

  beforeRead(task: Task, reader: SourceReader): void {
    const c = this.inFlight;
    if (!c || c.injected.has(task) || holdBarriers()) return;
    const t0 = performance.now();
    c.injected.add(task);
    c.positions.set(task, reader.position?.());
    task.output.control({ kind: "barrier", id: c.id });
    c.pause += performance.now() - t0;
    this.check();
  }

  onSnapshot(task: Task, id: number, state: OperatorState | undefined, pauseMs: number): void {
    const c = this.inFlight;
    if (!c || c.id !== id) return;
    c.pause += pauseMs;
    c.states.set(task, state);
    if (task.operator instanceof SinkOperator) {
      const t0 = performance.now();
      const staged = task.operator.preCommit(id);
      c.pause += performance.now() - t0;
      if (staged) {
        staged.catch(() => {});
        c.staged.set(task, staged);
      }
    }
    this.check();
  }

  onSnapshotFailed(task: Task, id: number, error: unknown): void {
    if (this.inFlight?.id !== id) return;
    this.decline(this.inFlight, `the snapshot of ${task.name} failed: ${(error as Error)?.message ?? String(error)}`);
  }

  /** Completes the checkpoint in flight once every task has acked it. */
  private check(): void {
    const c = this.inFlight;
    if (!c || c.writing || !this.job) return;
    const late: Task[] = [];
    for (const t of this.job.tasks) {
      const acked = t.node.kind === "source" ? c.injected.has(t) : c.states.has(t);
      if (acked) continue;
      if (!this.ended.has(t)) return;
      late.push(t);
    }
    // Tasks that ended before the barrier could reach them (their input ended; other pipelines of
    // the job go on): a source's position is its end, an operator's state its last, and a sink's
    // last output is staged for this checkpoint.
    for (const t of late) {
      if (t.node.kind === "source") c.positions.set(t, this.finalPositions.get(t));
      else c.states.set(t, t.operator.snapshot());
      if (t.operator instanceof SinkOperator) {
        const staged = t.operator.preCommit(c.id);
        if (staged) {
          staged.catch(() => {});
          c.staged.set(t, staged);
        }
      }
    }
    c.writing = true;
    this.completion = this.completion.then(() => this.complete(c));
  }

  private readonly finalPositions = new Map<Task, SourcePosition | undefined>();

  writing(): boolean {
    return this.inFlight?.writing === true;
  }

  /** A source's pump ended: its position (the end of its input) stands for later checkpoints. */
  sourceEnded(task: Task, reader: SourceReader): void {
    this.finalPositions.set(task, reader.position?.());
  }

  private async complete(c: InFlight): Promise<void> {
    const id = c.id;
    const sinks: Manifest["sinks"] = [];
    try {
      for (const [t, p] of c.staged) sinks.push({ node: t.node.id, partition: t.partition, staged: await p });
      const snapshots: TaskSnapshot[] = [];
      for (const [t, state] of c.states) if (state) snapshots.push({ node: t.node.id, partition: t.partition, state });
      const sources: Manifest["sources"] = [];
      for (const [t, position] of c.positions) if (position) sources.push({ node: t.node.id, partition: t.partition, position });
      const o = this.opts;
      const digest = await this.store.write({ id, pipeline: o.pipeline, planHash: o.planHash, partitions: o.partitions, keyGroups: o.keyGroups, sources, sinks }, snapshots, (ms) => (c.stall = Math.max(c.stall, ms)));
      crashPoint("after-manifest", id);
      await this.store.publish(id, digest);
      crashPoint("after-pointer", id);
    } catch (e) {
      this.decline(c, (e as Error)?.message ?? String(e));
      return;
    }
    // Completed: from here on a failure is the job's, not the checkpoint's (recovery commits again).
    let first = true;
    try {
      for (const t of c.staged.keys()) {
        await (t.operator as SinkOperator).commitCheckpoint(id);
        if (first) crashPoint("after-first-commit", id);
        first = false;
      }
    } catch (e) {
      this.stopped = true;
      if (this.inFlight === c) this.inFlight = null;
      await this.job?.cancel(`cannot publish the output of checkpoint ${id}: ${(e as Error)?.message ?? String(e)}`);
      return;
    }
    crashPoint("after-commits", id);
    await this.store.prune(id, this.opts.retain);
    this.declinesInARow = 0;
    this.stats.completed++;
    this.stats.pauses.push(c.pause);
    this.stats.stalls.push(c.stall);
    this.stats.durations.push(Date.now() - c.startedAt);
    if (this.inFlight === c) this.inFlight = null;
  }

  private decline(c: InFlight, reason: string): void {
    if (this.inFlight === c) this.inFlight = null;
    this.stats.declined++;
    this.declinesInARow++;
    void this.store.discard(c.id).catch(() => {});
    this.opts.warn(`checkpoint ${c.id} declined: ${reason}`);
    if (this.declinesInARow >= this.opts.maxDeclines && !this.stopped) {
      this.stopped = true;
      void this.job?.cancel(`${this.declinesInARow} checkpoints in a row were declined; the last because ${reason}`);
    }
  }

  /** No further checkpoints; resolves once the one being written (if any) has completed or been declined. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.completion.catch(() => {});
  }
}
