// Checkpoints on the cluster: the protocol of docs/fault-tolerance.md split between the workers
// that run the tasks and the job's coordinator (whichever worker leads the job).
//
//   coordinator ──ckpt-trigger(n)──▶ every worker of the epoch: its sources inject barrier(n)
//   barriers cross exchanges in band (TCP links), input gates align them, every task snapshots
//   worker: state files into <dir>/chk-<n>-e<epoch>/, sinks pre-commit ──ckpt-ack(n)──▶ coordinator
//   coordinator, every worker acked: manifest (+ sha256), then the pointer in ZooKeeper
//     (/flow/jobs/<job>/checkpoints/latest, a transaction that checks the assignment's version:
//     a coordinator of an older epoch is refused) ──ckpt-commit(n)──▶ workers publish staged output
//
// A worker that cannot snapshot answers ckpt-decline(n, reason); tasks that already ended (their
// pipeline's input did) ack with their last state, and a sink that ended stages its last output
// for that checkpoint. A new epoch (a worker lost) starts every task again from the latest
// completed checkpoint: each worker loads it, commits the staged output of its sinks again
// (idempotent), restores and seeks back.
// Directories carry the epoch, so a paused zombie of an older epoch never writes into a file of the
// attempt that replaced it.
import { cp, mkdir, readdir, rm } from "node:fs/promises";
import * as path from "node:path";
import type { SinkStaging, SourcePosition, SourceReader, StagedOutput } from "../connectors/api.js";
import type { Task } from "../exec/task.js";
import type { OperatorState } from "../operators/operator.js";
import { SinkOperator } from "../operators/sink.js";
import type { CheckpointPointer, JobCheckpointConfig } from "../cluster/protocol.js";
import { checkpointTimeout, formatMs, type CheckpointedJob, type JobCheckpointing } from "./coordinator.js";
import { commitStagedOutput } from "./staged-file-sink.js";
import { MANIFEST_VERSION, sha256, verifyCheckpoint, writeDurably, writeStateFile, type LoadedCheckpoint, type Manifest } from "./store.js";
import { crashPoint } from "./test-hooks.js";

/** What a worker sends the coordinator once all its tasks passed barrier `id`. */
export interface CheckpointAck {
  id: number;
  tasks: Manifest["tasks"];
  sources: Manifest["sources"];
  sinks: Manifest["sinks"];
  /** Milliseconds the record path stood still on this worker for this checkpoint. */
  pause: number;
}

export const chkDirName = (id: number, epoch: number) => `chk-${id}-e${epoch}`;

const message = (e: unknown) => (e as Error)?.message ?? String(e);

/**
 * The latest completed checkpoint of a job that is intact (checksums), falling back to the older
 * ones the pointer keeps; undefined for none. Damage is reported through `warn`.
 */
export async function loadClusterCheckpoint(dir: string, pointer: CheckpointPointer | undefined, warn: (m: string) => void): Promise<{ loaded: LoadedCheckpoint; epoch: number } | undefined> {
  if (!pointer) return undefined;
  for (const c of [pointer, ...pointer.previous]) {
    const file = path.join(dir, c.manifest);
    const loaded = await verifyCheckpoint(path.dirname(file), path.basename(file), c.sha256, c.id);
    if (typeof loaded !== "string") {
      if (c !== pointer) warn(`using checkpoint ${c.id} instead`);
      return { loaded, epoch: c.epoch };
    }
    warn(`checkpoint ${c.id} in ${dir} is damaged and will not be used: ${loaded}`);
  }
  warn(`no intact checkpoint is left in ${dir}: starting from the beginning`);
  return undefined;
}

/**
 * A source task's own files (a socket source's write-ahead log), per epoch: an attempt that was
 * superseded but still runs (a zombie) never appends to the log the next attempt reads.
 */
export function sourceStateDir(dir: string, node: string, partition: number, epoch: number): string {
  return path.join(dir, "sources", `${node}.${partition}.e${epoch}`);
}

/**
 * Recovery of the sources this worker now runs: each starts from a copy of the files its task had
 * in the checkpoint's epoch (the log up to what that attempt had received).
 */
export async function carrySourceState(dir: string, loaded: LoadedCheckpoint, from: number, to: number, mine: (node: string, partition: number) => boolean): Promise<void> {
  for (const s of loaded.manifest.sources) {
    if (!mine(s.node, s.partition) || from === to) continue;
    const src = sourceStateDir(dir, s.node, s.partition, from);
    const dst = sourceStateDir(dir, s.node, s.partition, to);
    await rm(dst, { recursive: true, force: true });
    await cp(src, dst, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }
}

/**
 * Recovery without a checkpoint (the job starts over, epoch > 1): a source's log from the newest
 * earlier attempt is carried over whole and replayed from its start, since what a socket source
 * had logged was received and would otherwise be lost. Returns the tasks ("node.partition") whose
 * log was carried.
 */
export async function carrySourceStateFromStart(dir: string, to: number, mine: (node: string, partition: number) => boolean): Promise<Set<string>> {
  const newest = new Map<string, number>();
  for (const entry of await readdir(path.join(dir, "sources")).catch(() => [] as string[])) {
    const m = /^(.+)\.(\d+)\.e(\d+)$/.exec(entry);
    if (!m || !mine(m[1]!, Number(m[2])) || Number(m[3]) >= to) continue;
    const key = `${m[1]}.${m[2]}`;
    newest.set(key, Math.max(newest.get(key) ?? 0, Number(m[3])));
  }
  for (const [key, from] of newest) {
    const dst = path.join(dir, "sources", `${key}.e${to}`);
    await rm(dst, { recursive: true, force: true });
    await cp(path.join(dir, "sources", `${key}.e${from}`), dst, { recursive: true });
  }
  return new Set(newest.keys());
}

/**
 * Recovery on a worker, before its tasks open: publishes again the staged output the checkpoint
 * recorded for the sinks this worker runs now (and, from partition 0's worker, that of partitions
 * the job no longer has), cutting off whatever a later, incomplete checkpoint had appended.
 */
export async function recommitSinks(loaded: LoadedCheckpoint, mine: (node: string, partition: number) => boolean, partitions: number): Promise<void> {
  for (const s of loaded.manifest.sinks) {
    const owner = s.partition < partitions ? s.partition : 0;
    if (mine(s.node, owner)) await commitStagedOutput(s.staged, loaded.manifest.id);
  }
}

interface WorkerRound {
  id: number;
  pause: number;
  injected: Set<Task>;
  positions: Map<Task, SourcePosition | undefined>;
  states: Map<Task, OperatorState | undefined>;
  staged: Map<Task, Promise<StagedOutput>>;
  acking: boolean;
}

export interface WorkerCheckpointingOptions {
  config: JobCheckpointConfig;
  epoch: number;
  resumed: LoadedCheckpoint | undefined;
  /** Without a checkpoint: sources ("node.partition") whose log was carried over, replayed from its start. */
  carried?: Set<string>;
  /** Sends a message to the job's coordinator. */
  send(topic: "ckpt-ack" | "ckpt-decline", body: object): void;
  /** Whether this attempt may still publish output (its epoch is the current one). */
  fenced(): Promise<boolean>;
  log(line: string): void;
}

/** A worker's side of the protocol for one attempt (epoch): barriers, snapshots, acks, commits. */
export class WorkerCheckpointing implements JobCheckpointing {
  private job: CheckpointedJob | null = null;
  private round: WorkerRound | null = null;
  private pending: number | null = null;
  private readonly ended = new Set<Task>();
  private readonly finalPositions = new Map<Task, SourcePosition | undefined>();
  private readonly waiting = new Map<Task, SourceReader>();
  private commits: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The newest checkpoint begun here (by a trigger or by a barrier): an older or repeated trigger is ignored. */
  private highest = 0;

  constructor(private readonly opts: WorkerCheckpointingOptions) {}

  private get manifest(): Manifest | undefined {
    return this.opts.resumed?.manifest;
  }

  sourceStateDir(node: string, partition: number): string {
    return sourceStateDir(this.opts.config.dir, node, partition, this.opts.epoch);
  }

  resumeOf(node: string, partition: number): SourcePosition | undefined {
    if (!this.manifest && this.opts.carried?.has(`${node}.${partition}`)) return { offset: 0, line: 0 };
    return this.manifest?.sources.find((s) => s.node === node && s.partition === partition)?.position;
  }

  stagingOf(): SinkStaging {
    return { resumed: this.manifest !== undefined, after: this.manifest?.id ?? 0, tag: `e${this.opts.epoch}` };
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
    if (this.pending !== null) this.trigger(this.pending);
  }

  /** The coordinator asks for checkpoint `id`: local sources inject its barrier. */
  trigger(id: number): void {
    if (this.stopped) return;
    if (!this.job) {
      this.pending = id;
      return;
    }
    this.pending = null;
    // Barriers from another worker's sources may have started this checkpoint here already.
    if (id <= this.highest) return;
    this.begin(id);
    for (const [task, reader] of this.waiting) if (reader.idle?.()) this.beforeRead(task, reader);
    this.check();
  }

  /** A newer checkpoint replaces one the coordinator gave up on. */
  private begin(id: number): WorkerRound {
    this.highest = Math.max(this.highest, id);
    return (this.round = { id, pause: 0, injected: new Set(), positions: new Map(), states: new Map(), staged: new Map(), acking: false });
  }

  reading(task: Task, reader: SourceReader | null): void {
    if (reader) {
      this.waiting.set(task, reader);
      if (this.round && reader.idle?.()) this.beforeRead(task, reader);
    } else this.waiting.delete(task);
  }

  beforeRead(task: Task, reader: SourceReader): void {
    const r = this.round;
    if (!r || r.injected.has(task) || r.acking) return;
    const t0 = performance.now();
    r.injected.add(task);
    r.positions.set(task, reader.position?.());
    task.output.control({ kind: "barrier", id: r.id });
    r.pause += performance.now() - t0;
    this.check();
  }

  sourceEnded(task: Task, reader: SourceReader): void {
    this.finalPositions.set(task, reader.position?.());
  }

  onSnapshot(task: Task, id: number, state: OperatorState | undefined, pauseMs: number): void {
    // The barrier can arrive before the coordinator's trigger: it starts the checkpoint here.
    const r = this.round?.id === id ? this.round : id > this.highest ? this.begin(id) : null;
    if (!r) return;
    r.pause += pauseMs;
    r.states.set(task, state);
    if (task.operator instanceof SinkOperator) {
      const t0 = performance.now();
      const staged = task.operator.preCommit(id);
      r.pause += performance.now() - t0;
      if (staged) {
        staged.catch(() => {});
        r.staged.set(task, staged);
      }
    }
    this.check();
  }

  onSnapshotFailed(task: Task, id: number, error: unknown): void {
    if (this.round?.id !== id) return;
    this.round = null;
    this.opts.send("ckpt-decline", { id, reason: `the snapshot of ${task.name} failed: ${message(error)}` });
  }

  private check(): void {
    const r = this.round;
    if (!r || r.acking || !this.job) return;
    const late: Task[] = [];
    for (const t of this.job.tasks) {
      const acked = t.node.kind === "source" ? r.injected.has(t) : r.states.has(t);
      if (acked) continue;
      if (!this.ended.has(t)) return;
      late.push(t);
    }
    // Tasks that ended before the barrier reached them (their input ended while other pipelines go
    // on): the end position, the last state, and a sink's last output staged for this checkpoint.
    for (const t of late) {
      if (t.node.kind === "source") r.positions.set(t, this.finalPositions.get(t));
      else r.states.set(t, t.operator.snapshot());
      if (t.operator instanceof SinkOperator) {
        const staged = t.operator.preCommit(r.id);
        if (staged) {
          staged.catch(() => {});
          r.staged.set(t, staged);
        }
      }
    }
    r.acking = true;
    void this.ack(r);
  }

  private async ack(r: WorkerRound): Promise<void> {
    try {
      const dir = path.join(this.opts.config.dir, chkDirName(r.id, this.opts.epoch));
      await mkdir(dir, { recursive: true });
      const tasks: Manifest["tasks"] = [];
      for (const [t, state] of r.states) {
        if (!state) continue;
        // Read and serialised in stretches: the records go on in between (copy on write).
        const file = `${t.node.id}.${t.partition}.json`;
        const written = await writeStateFile(path.join(dir, file), state);
        tasks.push({ node: t.node.id, partition: t.partition, file, ...written });
      }
      const sinks: Manifest["sinks"] = [];
      for (const [t, p] of r.staged) sinks.push({ node: t.node.id, partition: t.partition, staged: await p });
      const sources: Manifest["sources"] = [];
      for (const [t, position] of r.positions) if (position) sources.push({ node: t.node.id, partition: t.partition, position });
      if (this.round !== r) return;
      this.opts.send("ckpt-ack", { id: r.id, tasks, sources, sinks, pause: r.pause } satisfies CheckpointAck);
    } catch (e) {
      if (this.round === r) this.round = null;
      this.opts.send("ckpt-decline", { id: r.id, reason: message(e) });
      return;
    }
    if (this.round === r) this.round = null;
  }

  /** Checkpoint `id` completed: publish the local sinks' staged output up to it (in order, idempotent). */
  commit(id: number): Promise<void> {
    const sinks = (this.job?.tasks ?? []).filter((t) => t.operator instanceof SinkOperator);
    const done = this.commits.then(async () => {
      if (this.stopped || !(await this.opts.fenced())) return;
      let first = true;
      for (const t of sinks) {
        await (t.operator as SinkOperator).commitCheckpoint(id);
        if (first) crashPoint("after-first-commit", id);
        first = false;
      }
      crashPoint("after-commits", id);
    });
    this.commits = done.catch((e) => this.opts.log(`cannot publish the output of checkpoint ${id}: ${message(e)}`));
    return done;
  }

  /**
   * The job ended for good (failed or cancelled): the output of checkpoint `latest` (the last that
   * completed) is published, and whatever is staged after it is removed, as nothing will commit it.
   */
  async end(latest: number | undefined): Promise<void> {
    if (latest !== undefined) await this.commit(latest).catch(() => {});
    await this.stop();
    for (const t of this.job?.tasks ?? []) if (t.operator instanceof SinkOperator) await t.operator.discardStaged();
  }

  /**
   * This attempt was superseded (a newer epoch exists, so no checkpoint after `latest` can complete
   * any more): what it staged for later checkpoints is removed. A zombie that staged while frozen
   * leaves nothing behind.
   */
  async abandon(latest: number | undefined): Promise<void> {
    await this.stop();
    for (const t of this.job?.tasks ?? []) if (t.operator instanceof SinkOperator) await t.operator.discardStaged(latest ?? 0);
  }

  /** No more checkpoints for this attempt; resolves once a commit under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.round = null;
    await this.commits;
  }
}

// ------------------------------------------------------------------ the coordinator's side

interface CoordinatorRound {
  id: number;
  epoch: number;
  startedAt: number;
  /** Workers still to ack. */
  waiting: Set<string>;
  acks: CheckpointAck[];
  writing: boolean;
}

export interface ClusterCheckpointEvent {
  kind: "completed" | "declined";
  id: number;
  epoch: number;
  durationMs?: number;
  pauseMs?: number;
  reason?: string;
}

export interface ClusterCheckpointCoordinatorOptions {
  job: string;
  config: JobCheckpointConfig;
  pipeline: string;
  planHash: string;
  keyGroups: number;
  /** The latest pointer (read when the round starts). */
  latest(): Promise<CheckpointPointer | undefined>;
  /** Moves the pointer, fenced by the assignment version this coordinator holds; false when refused. */
  publish(p: CheckpointPointer): Promise<boolean>;
  send(worker: string, epoch: number, topic: "ckpt-trigger" | "ckpt-commit", body: object): Promise<void>;
  /** Too many declines in a row: the job fails with this reason. */
  fail(reason: string): void;
  /** The pointer was refused: another coordinator took over. */
  stepDown(reason: string): void;
  onEvent(e: ClusterCheckpointEvent): void;
}

/** The job coordinator's side: triggers, collects acks, writes the manifest, publishes, commits. */
export class ClusterCheckpointCoordinator {
  private timer: NodeJS.Timeout | null = null;
  private round: CoordinatorRound | null = null;
  private epoch = 0;
  private owners: string[] = [];
  private partitions = 0;
  private nextId = 1;
  private declinesInARow = 0;
  private stopped = false;
  private completion: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ClusterCheckpointCoordinatorOptions) {}

  private get timeoutMs(): number {
    return this.opts.config.timeoutMs ?? checkpointTimeout(this.opts.config.intervalMs);
  }

  /** A (new) epoch runs: checkpoints continue after the latest completed one, with these workers. */
  async start(epoch: number, owners: string[], partitions: number): Promise<void> {
    if (this.stopped) return;
    this.round = null;
    this.epoch = epoch;
    this.owners = owners;
    this.partitions = partitions;
    const latest = await this.opts.latest();
    this.nextId = Math.max(this.nextId, (latest?.id ?? this.opts.config.from?.checkpoint ?? 0) + 1);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.opts.config.intervalMs);
      this.timer.unref();
    }
  }

  private tick(): void {
    if (this.stopped || this.epoch === 0) return;
    const r = this.round;
    if (r) {
      if (!r.writing && Date.now() - r.startedAt > this.timeoutMs) this.decline(r, `not acknowledged within ${formatMs(this.timeoutMs)} by ${[...r.waiting].join(", ")}`);
      return;
    }
    const round: CoordinatorRound = { id: this.nextId++, epoch: this.epoch, startedAt: Date.now(), waiting: new Set(this.owners), acks: [], writing: false };
    this.round = round;
    void Promise.allSettled(this.owners.map((w) => this.opts.send(w, round.epoch, "ckpt-trigger", { id: round.id }))).then(() => crashPoint("after-trigger", round.id));
  }

  onAck(from: string, epoch: number, ack: CheckpointAck): void {
    const r = this.round;
    if (!r || r.epoch !== epoch || r.id !== ack.id || !r.waiting.has(from)) return;
    r.waiting.delete(from);
    r.acks.push(ack);
    if (r.waiting.size > 0) return;
    r.writing = true;
    this.completion = this.completion.then(() => this.complete(r));
  }

  onDecline(from: string, epoch: number, id: number, reason: string): void {
    const r = this.round;
    if (!r || r.epoch !== epoch || r.id !== id || r.writing) return;
    this.decline(r, `worker ${from}: ${reason}`);
  }

  private async complete(r: CoordinatorRound): Promise<void> {
    const o = this.opts;
    const dirName = chkDirName(r.id, r.epoch);
    const dir = path.join(o.config.dir, dirName);
    let pointer: CheckpointPointer;
    try {
      const manifest: Manifest = {
        version: MANIFEST_VERSION,
        id: r.id,
        pipeline: o.pipeline,
        planHash: o.planHash,
        partitions: this.partitions,
        keyGroups: o.keyGroups,
        createdAt: new Date().toISOString(),
        tasks: r.acks.flatMap((a) => a.tasks),
        sources: r.acks.flatMap((a) => a.sources),
        sinks: r.acks.flatMap((a) => a.sinks),
      };
      const text = JSON.stringify(manifest, null, 1);
      await mkdir(dir, { recursive: true });
      await writeDurably(path.join(dir, "manifest.json"), text);
      const digest = sha256(text);
      await writeDurably(path.join(dir, "manifest.sha256"), digest + "\n");
      crashPoint("after-manifest", r.id);
      const latest = await o.latest();
      const kept = latest ? [{ id: latest.id, epoch: latest.epoch, manifest: latest.manifest, sha256: latest.sha256 }, ...latest.previous] : [];
      pointer = { id: r.id, epoch: r.epoch, manifest: `${dirName}/manifest.json`, sha256: digest, previous: kept.slice(0, Math.max(0, o.config.retain - 1)) };
      if (this.round !== r) return;
      if (!(await o.publish(pointer))) {
        this.round = null;
        o.stepDown(`checkpoint ${r.id} was refused: a newer epoch exists`);
        return;
      }
      crashPoint("after-pointer", r.id);
    } catch (e) {
      this.decline(r, message(e));
      return;
    }
    if (this.round === r) this.round = null;
    this.declinesInARow = 0;
    const pause = Math.max(0, ...r.acks.map((a) => a.pause));
    o.onEvent({ kind: "completed", id: r.id, epoch: r.epoch, durationMs: Date.now() - r.startedAt, pauseMs: pause });
    for (const w of this.owners) void o.send(w, r.epoch, "ckpt-commit", { id: r.id }).catch(() => {});
    await this.prune(pointer).catch(() => {});
  }

  private decline(r: CoordinatorRound, reason: string): void {
    if (this.round === r) this.round = null;
    this.declinesInARow++;
    void rm(path.join(this.opts.config.dir, chkDirName(r.id, r.epoch)), { recursive: true, force: true }).catch(() => {});
    this.opts.onEvent({ kind: "declined", id: r.id, epoch: r.epoch, reason });
    if (this.declinesInARow >= this.opts.config.maxDeclines && !this.stopped) {
      this.stop();
      this.opts.fail(`${this.declinesInARow} checkpoints in a row were declined; the last because ${reason}`);
    }
  }

  /** Deletes checkpoint directories the pointer no longer keeps (never a newer, unfinished one). */
  private async prune(p: CheckpointPointer): Promise<void> {
    const keep = new Set([p.manifest, ...p.previous.map((x) => x.manifest)].map((m) => m.split("/")[0]));
    for (const e of await readdir(this.opts.config.dir)) {
      const m = /^chk-(\d+)-e\d+$/.exec(e);
      if (m && Number(m[1]) <= p.id && !keep.has(e)) await rm(path.join(this.opts.config.dir, e), { recursive: true, force: true });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.round = null;
  }

  /** Resolves once a checkpoint being written has completed or been declined. */
  settled(): Promise<void> {
    return this.completion.catch(() => {});
  }
}
