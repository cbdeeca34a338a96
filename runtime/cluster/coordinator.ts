// The coordinator of one job, run by whichever worker won the job's leader election. It assigns
// tasks to live workers under a new epoch whenever an assigned worker disappears, collects the
// workers' "my tasks finished" reports for the current epoch, and moves the job's state along
// protocol.ts's transition table. Every write is fenced by the assignment version it last read: a
// coordinator that lost leadership while paused finds its writes refused and steps down.
import { ClusterCheckpointCoordinator, type CheckpointAck, type ClusterCheckpointEvent } from "../checkpoint/cluster.js";
import type { ExecutionPlan } from "../plan.js";
import { assign, taskKeys, type Assignment } from "./assignment.js";
import { isTerminal, nextStatus, type JobEvent, type JobRecord, type JobStatus } from "./protocol.js";
import type { ClusterStore } from "./store.js";

export type CoordinatorEvent =
  | { kind: "assigned"; epoch: number; tasks: Record<string, string> }
  | { kind: "status"; status: JobStatus; epoch: number }
  | { kind: "stepped-down"; reason: string }
  | ({ kind: "checkpoint" } & { event: ClusterCheckpointEvent });

/** What a coordinator of a checkpointed job needs beyond the store. */
export interface CoordinatorCheckpointing {
  record: JobRecord;
  planHash: string;
  send(worker: string, epoch: number, topic: "ckpt-trigger" | "ckpt-commit", body: object): Promise<void>;
}

export class JobCoordinator {
  private version = -1;
  private current: Assignment | null = null;
  private finished = new Set<string>();
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ClusterStore,
    private readonly jobName: string,
    private readonly plan: ExecutionPlan,
    private readonly partitions: number,
    private readonly onEvent: (e: CoordinatorEvent) => void = () => {},
    checkpointing?: CoordinatorCheckpointing,
  ) {
    const config = checkpointing?.record.checkpoint;
    if (checkpointing && config && config.intervalMs > 0) {
      this.checkpoints = new ClusterCheckpointCoordinator({
        job: jobName,
        config,
        pipeline: plan.name,
        planHash: checkpointing.planHash,
        keyGroups: plan.config.keyGroups,
        latest: () => store.latestCheckpoint(jobName),
        publish: (p) => store.publishCheckpoint(jobName, p, this.version),
        send: checkpointing.send,
        fail: (reason) => void this.serial(() => this.transition("task-failed", reason)),
        stepDown: (reason) => this.stepDown(reason),
        onEvent: (event) => this.onEvent({ kind: "checkpoint", event }),
      });
    }
  }

  private readonly checkpoints: ClusterCheckpointCoordinator | null = null;
  /** The epoch checkpoints were started for. */
  private checkpointEpoch = 0;

  /** Checkpoint messages from the workers of this job. */
  checkpointMessage(from: string, epoch: number, topic: string, body: unknown): void {
    const c = this.checkpoints;
    if (!c) return;
    const b = body as { id?: number; reason?: string };
    if (topic === "ckpt-ack") c.onAck(from, epoch, body as CheckpointAck);
    else if (topic === "ckpt-decline") c.onDecline(from, epoch, Number(b.id), String(b.reason ?? "declined"));
  }

  /** Checkpoints follow the current epoch while the job runs. */
  private async followEpoch(status: JobStatus | undefined): Promise<void> {
    const c = this.checkpoints;
    if (!c || !this.current) return;
    if (status !== "running" && status !== "submitted") return c.stop();
    if (this.checkpointEpoch === this.current.epoch) return;
    this.checkpointEpoch = this.current.epoch;
    await c.start(this.current.epoch, [...new Set(Object.values(this.current.tasks))], this.current.partitions);
  }

  get epoch(): number {
    return this.current?.epoch ?? 0;
  }

  /** Takes over the job: adopts the stored assignment if its workers still live, else assigns anew. */
  async start(): Promise<void> {
    this.unsubscribe = this.store.onWorkersChanged(() => void this.serial(() => this.reconcile()));
    await this.serial(() => this.reconcile());
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.checkpoints?.stop();
  }

  /** Runs coordinator steps one at a time, in order. */
  private serial(step: () => Promise<void>): Promise<void> {
    this.busy = this.busy.then(() => (this.stopped ? undefined : step())).catch((e) => this.stepDown(`failed: ${(e as Error).message}`));
    return this.busy;
  }

  private stepDown(reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.onEvent({ kind: "stepped-down", reason });
  }

  private async reconcile(): Promise<void> {
    const state = await this.store.state(this.jobName);
    if (!state || isTerminal(state.value.status)) return this.stop();
    const stored = await this.store.assignment(this.jobName);
    const workers = await this.store.workers();
    const live = new Map(workers.map((w) => [w.id, w.session ?? ""]));
    if (stored) {
      this.version = stored.version;
      if (this.current?.epoch !== stored.value.epoch) this.finished = new Set();
      this.current = stored.value;
      // Lost: gone, or back under a new session (it may have missed anything while it was away).
      const lost = Object.values(stored.value.tasks).some((w) => !live.has(w) || (stored.value.sessions?.[w] ?? "") !== live.get(w));
      if (!lost) return this.followEpoch(state.value.status);
    }
    if (workers.length === 0) return;
    const epoch = (stored?.value.epoch ?? 0) + 1;
    const tasks = assign(taskKeys(this.plan, this.partitions), workers, stored?.value.tasks ?? {});
    const sessions = Object.fromEntries(workers.map((w) => [w.id, w.session ?? ""]));
    const next: Assignment = { epoch, partitions: this.partitions, tasks, sessions };
    if (!(await this.store.writeAssignment(this.jobName, next, this.version))) return this.stepDown("the assignment changed under this coordinator (another coordinator took over)");
    this.version++;
    this.current = next;
    this.finished = new Set();
    this.onEvent({ kind: "assigned", epoch, tasks });
    await this.transition("assigned");
    await this.followEpoch((await this.store.state(this.jobName))?.value.status);
  }

  /** A worker reports that all its tasks of `epoch` finished. Reports of other epochs are ignored. */
  reportFinished(workerId: string, epoch: number): Promise<void> {
    return this.serial(async () => {
      if (!this.current || epoch !== this.current.epoch) return;
      this.finished.add(workerId);
      const owners = new Set(Object.values(this.current.tasks));
      if ([...owners].every((w) => this.finished.has(w))) await this.transition("all-finished");
    });
  }

  reportFailed(workerId: string, epoch: number, message: string): Promise<void> {
    return this.serial(async () => {
      if (!this.current || epoch !== this.current.epoch) return;
      await this.transition("task-failed", `worker ${workerId}: ${message}`);
    });
  }

  cancel(): Promise<void> {
    return this.serial(() => this.transition("cancel"));
  }

  private async transition(event: JobEvent, message?: string): Promise<void> {
    const state = await this.store.state(this.jobName);
    if (!state) return;
    const status = nextStatus(state.value.status, event);
    if (status === undefined || status === state.value.status) return;
    const ok = await this.store.writeState(this.jobName, { status, epoch: this.epoch, updatedAt: Date.now(), ...(message ? { message } : {}) }, this.version);
    if (!ok) return this.stepDown("a newer epoch exists; this coordinator's write was refused");
    this.onEvent({ kind: "status", status, epoch: this.epoch });
    if (status !== "running") this.checkpoints?.stop();
    if (isTerminal(status)) this.stop();
  }
}
