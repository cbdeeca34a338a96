// A cluster worker: registers itself, joins every job's coordinator election (the winner runs the
// job's JobCoordinator), and runs the tasks the current assignment gives it. A new epoch cancels
// the tasks of the old one and starts the new assignment's from the beginning (until checkpoints
// exist, that is how a job survives a lost worker). Messages of another epoch are dropped: a
// zombie's batches never reach a newer attempt.
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { carrySourceState, carrySourceStateFromStart, loadClusterCheckpoint, recommitSinks, WorkerCheckpointing } from "../checkpoint/cluster.js";
import { BAD_RECORDS_LOG, ReportedBadRecords } from "../checkpoint/bad-records.js";
import { loadSavepoint, SavepointError } from "../checkpoint/savepoint.js";
import type { LoadedCheckpoint } from "../checkpoint/store.js";
import type { BadRecord } from "../connectors/api.js";
import { Job, JobError, type Placement } from "../exec/job.js";
import type { Receiver } from "../exec/output.js";
import type { PlanModule } from "../plan.js";
import { taskOf } from "./assignment.js";
import { JobCoordinator, type CoordinatorEvent } from "./coordinator.js";
import type { DataLink, Inbound, Network, TaskAddress } from "./network.js";
import { isTerminal, type JobRecord, type WorkerRecord } from "./protocol.js";
import type { WorkerStore } from "./store.js";

/** Bad records a worker logs one by one for an attempt before only counting them (submit --max-problems). */
const MAX_BAD_SHOWN = 20;

export interface WorkerOptions {
  record: WorkerRecord;
  /** Loads (and verifies) a job's compiled plan module. */
  loadPlan(job: JobRecord): Promise<PlanModule>;
  /** Directory relative connector paths resolve against. */
  baseDir: string;
  log?(line: string): void;
  onCoordinatorEvent?(job: string, e: CoordinatorEvent): void;
  /** How long data for a job this worker has not joined is held for it (default 30 s). */
  holdUnjoinedMs?: number;
}

type Early = { target: TaskAddress; channel: number; message: Parameters<Job["deliver"]>[3] }[];

type Held = Early[number] & { epoch: number; release(): void };

interface Attempt {
  epoch: number;
  job: Job | null;
  /** Messages that arrived before this worker had opened the attempt's tasks. */
  early: Early;
  links: Map<string, Promise<DataLink>>;
  /** The links that are open, for backpressure. */
  open: DataLink[];
  committed?: boolean;
  /** Cancelled because the session was lost: its messages are dropped. */
  dead?: boolean;
  /** The timer that repeats this attempt's "finished" report. */
  retry?: NodeJS.Timeout;
  /** The task keys this worker runs in this attempt. */
  tasks: string[];
  state: TaskState;
  /** Checkpointing of this attempt (jobs submitted with checkpoints). */
  ckpt?: WorkerCheckpointing;
}

/** Where this worker's share of a job stands (shown by `flowc status`). */
export type TaskState = "opening" | "running" | "finished" | "failed" | "cancelled" | "committed";

export interface JobStatusOnWorker {
  job: string;
  epoch: number;
  state: TaskState;
  tasks: string[];
  recordsIn: number;
  recordsOut: number;
  badRecords: number;
  /** Records read by local sources per second since the attempt started. */
  throughput: number;
  coordinator: boolean;
}

interface JobSlot {
  record: JobRecord;
  plan: PlanModule | null;
  attempt: Attempt | null;
  /** Messages of epochs newer than the attempt's, kept until their assignment arrives. */
  ahead: Map<number, Early>;
  coordinator: JobCoordinator | null;
  unsubscribe: (() => void)[];
  election: { resign(): Promise<void> } | null;
}

export class Worker implements Inbound {
  private readonly jobs = new Map<string, JobSlot>();
  private net!: Network;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  /**
   * Data for jobs this worker has not joined yet, in order. A worker that has just (re)started can
   * be in an assignment its peers read before it has read the job itself; their first batches,
   * barriers and end-of-stream markers must wait for it, not be dropped (the job would never end).
   * Each held message keeps its credit, so a sender stops after a window's worth.
   */
  private readonly unjoined = new Map<string, { messages: Held[]; timer: NodeJS.Timeout }>();

  constructor(
    private readonly store: WorkerStore,
    private readonly opts: WorkerOptions,
  ) {}

  get id(): string {
    return this.opts.record.id;
  }

  /** The jobs with tasks running here now (for metrics and status). */
  running(): { name: string; epoch: number; job: Job }[] {
    return [...this.jobs.values()].flatMap((s) => (s.attempt?.job ? [{ name: s.record.name, epoch: s.attempt.epoch, job: s.attempt.job }] : []));
  }

  async start(net: Network): Promise<void> {
    this.net = net;
    await this.store.registerWorker(this.opts.record);
    this.unsubscribe = this.store.onJobsChanged(() => this.background("reading the jobs", () => this.reconcileJobs()));
    this.store.onSessionLost?.(() => this.background("stopping local tasks", () => this.suspendAll(), false));
    await this.reconcileJobs();
  }

  /** This worker's share of every job it has joined. */
  status(): JobStatusOnWorker[] {
    return [...this.jobs.values()].flatMap((s) => {
      const a = s.attempt;
      if (!a) return [];
      const st = a.job?.snapshotStats();
      return [
        {
          job: s.record.name,
          epoch: a.epoch,
          state: a.state,
          tasks: a.tasks,
          recordsIn: st?.recordsIn ?? 0,
          recordsOut: st?.recordsOut ?? 0,
          badRecords: st?.badRecords ?? 0,
          throughput: st ? st.recordsIn / Math.max(0.001, (Date.now() - st.startedAt) / 1000) : 0,
          coordinator: s.coordinator !== null,
        },
      ];
    });
  }

  /** Leaves the cluster: cancels running tasks, resigns from elections. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const job of [...this.unjoined.keys()]) this.releaseHeld(job, false);
    for (const slot of this.jobs.values()) await this.release(slot, "the worker is stopping");
  }

  /**
   * Runs a reaction to a coordination event. A failure (the store unreachable for a moment) is
   * logged and, when `retry`, the step runs again a second later: the event that caused it
   * will not fire again.
   */
  private background(what: string, step: () => Promise<void>, retry = true): void {
    step().catch((e) => {
      if (this.stopped) return;
      this.log(`${what} failed: ${(e as Error).message}${retry ? "; trying again in 1 s" : ""}`);
      if (retry) setTimeout(() => this.background(what, step, retry), 1000).unref();
    });
  }

  private log(line: string): void {
    this.opts.log?.(`[${this.id}] ${line}`);
  }

  private async reconcileJobs(): Promise<void> {
    if (this.stopped) return;
    for (const name of await this.store.jobNames()) {
      if (this.jobs.has(name)) continue;
      const record = await this.store.job(name);
      const state = await this.store.state(name);
      if (!record || !state || isTerminal(state.value.status)) continue;
      const slot: JobSlot = { record, plan: null, attempt: null, ahead: new Map(), coordinator: null, unsubscribe: [], election: null };
      this.jobs.set(name, slot);
      this.releaseHeld(name, true);
      slot.unsubscribe.push(this.store.onAssignmentChanged(name, () => this.background(`reading ${name}`, () => this.reconcileJob(slot))));
      slot.unsubscribe.push(this.store.onStateChanged(name, () => this.background(`reading ${name}`, () => this.reconcileJob(slot))));
      slot.election = await this.store.elect(name, this.id, () => this.background(`coordinating ${name}`, () => this.lead(slot), false));
      await this.reconcileJob(slot);
    }
  }

  /**
   * The session is gone: whatever this worker runs may already be reassigned. Stop it now; the
   * next assignment (under a new epoch) says what to run.
   */
  private async suspendAll(): Promise<void> {
    this.log("coordination session lost: stopping local tasks until the next assignment");
    for (const slot of this.jobs.values()) {
      slot.coordinator?.stop();
      slot.coordinator = null;
      const a = slot.attempt;
      if (!a) continue;
      a.dead = true;
      if (a.state !== "committed") a.state = "cancelled";
      void a.ckpt?.stop();
      await a.job?.cancel("the worker's coordination session was lost");
    }
  }

  private async lead(slot: JobSlot): Promise<void> {
    if (this.stopped || slot.coordinator) return;
    const plan = await this.plan(slot);
    this.log(`coordinating job ${slot.record.name}`);
    const name = slot.record.name;
    slot.coordinator = new JobCoordinator(
      this.store,
      name,
      plan.plan,
      slot.record.partitions,
      (e) => {
        this.opts.onCoordinatorEvent?.(name, e);
        if (e.kind === "stepped-down") slot.coordinator = null;
      },
      {
        record: slot.record,
        planHash: slot.record.planHash,
        send: async (worker, epoch, topic, body) => {
          const to = (await this.store.workers()).find((w) => w.id === worker);
          if (to) await this.net.app(to, name, epoch, topic, body);
        },
      },
    );
    await slot.coordinator.start();
  }

  private async plan(slot: JobSlot): Promise<PlanModule> {
    slot.plan ??= await this.opts.loadPlan(slot.record);
    return slot.plan;
  }

  private async reconcileJob(slot: JobSlot): Promise<void> {
    if (this.stopped) return;
    const name = slot.record.name;
    const state = await this.store.state(name);
    if (state?.value.status === "finished") {
      // Publish only output of the attempt that finished the job; a superseded attempt's stays staged.
      const attempt = slot.attempt;
      if (attempt?.job && attempt.epoch === state.value.epoch && !attempt.committed) {
        attempt.committed = true;
        await attempt.ckpt?.stop();
        await attempt.job.commit();
        attempt.state = "committed";
        this.log(`committed the output of ${name} (epoch ${attempt.epoch})`);
      } else if (attempt?.ckpt && attempt.epoch !== state.value.epoch) {
        // A superseded attempt (a zombie that learns of the end only now): what it staged for
        // checkpoints that never completed is removed.
        await attempt.job?.cancel(`job ${name} is finished`);
        await this.abandon(name, attempt);
      }
      await this.release(slot, "finished");
      return;
    }
    if (state && (isTerminal(state.value.status) || state.value.status === "cancelling")) {
      const attempt = slot.attempt;
      if (attempt?.job) {
        if (attempt.ckpt && isTerminal(state.value.status)) {
          // Nothing will recover this job: the last completed checkpoint's output is published and
          // the rest of what is staged removed (by the current attempt; a superseded one only removes).
          await attempt.job.cancel(`job ${name} is ${state.value.status}`);
          if (attempt.epoch === state.value.epoch) await attempt.ckpt.end((await this.store.latestCheckpoint(name))?.id);
          else await this.abandon(name, attempt);
        } else {
          await attempt.ckpt?.stop();
          await attempt.job.cancel(`job ${name} is ${state.value.status}`);
        }
        await this.report(slot, attempt.epoch, "finished", {});
      }
      if (isTerminal(state.value.status)) await this.release(slot, "finished");
      return;
    }
    const a = await this.store.assignment(name);
    if (!a || (slot.attempt && slot.attempt.epoch >= a.value.epoch)) return;
    // An assignment made for an earlier session of this worker id (a worker restarted with the same
    // id, or this one after its session expired) is not ours: the coordinator assigns again.
    const assignedTo = a.value.sessions?.[this.id];
    const mySession = this.store.sessionId?.();
    if (assignedTo && mySession && assignedTo !== mySession && Object.values(a.value.tasks).includes(this.id)) return;
    const old = slot.attempt;
    const epoch = a.value.epoch;
    const attempt: Attempt = { epoch, job: null, early: slot.ahead.get(epoch) ?? [], links: new Map(), open: [], tasks: [], state: "opening" };
    for (const e of slot.ahead.keys()) if (e <= epoch) slot.ahead.delete(e);
    slot.attempt = attempt;
    // A commit of the old attempt under way finishes before recovery commits again.
    await old?.ckpt?.stop();
    if (old?.job) await old.job.cancel(`tasks reassigned under epoch ${a.value.epoch}`);
    // Segments it staged for checkpoints that can no longer complete (the pointer is fenced by the
    // new epoch's assignment) would otherwise stay in the output directory.
    if (old) await this.abandon(name, old);
    if (old) for (const l of old.open.splice(0)) l.close();
    const mine = Object.entries(a.value.tasks).filter(([, w]) => w === this.id).map(([k]) => k);
    attempt.tasks = mine;
    if (old && old.state !== "committed") old.state = "cancelled";
    if (mine.length === 0) return;
    const mod = await this.plan(slot);
    const workers = new Map((await this.store.workers()).map((w) => [w.id, w]));
    const tasks = a.value.tasks;
    const owner = (node: string, p: number) => tasks[taskOf(mod.plan, node, p)]!;
    const placement: Placement = {
      isLocal: (node, p) => owner(node, p) === this.id,
      remote: (node, p): Receiver => {
        const to = owner(node, p);
        const link = this.linkTo(attempt, workers.get(to), name);
        const target = { node, partition: p };
        // A link that cannot be opened (the peer died) loses these messages: the peer's session
        // ends, the coordinator reassigns under a new epoch, and the job starts over there.
        const lost = () => {};
        return {
          receive: (batch, channel) => void link.then((l) => l.data(target, channel, batch), lost),
          control: (event, channel) => void link.then((l) => l.control(target, channel, event), lost),
        };
      },
      // Sources wait while any link of this attempt has a full send buffer (credit-based backpressure).
      pressure: () => {
        for (const l of attempt.open) {
          const p = l.pressure();
          if (p) return p;
        }
        return undefined;
      },
    };
    let job: Job;
    try {
      let restore: LoadedCheckpoint | undefined;
      const config = slot.record.checkpoint;
      if (config && config.intervalMs > 0) {
        const mine = (node: string, p: number) => owner(node, p) === this.id;
        restore = await this.recover(slot, epoch, mine, a.value.partitions);
        // Starting over after a crash before the first checkpoint: the sources' logs are replayed.
        const carried = !restore && epoch > 1 ? await carrySourceStateFromStart(config.dir, epoch, mine) : undefined;
        if (slot.attempt !== attempt || attempt.dead) return;
        attempt.ckpt = new WorkerCheckpointing({
          config,
          epoch,
          resumed: restore,
          carried,
          send: (topic, body) => void this.report(slot, epoch, topic, body).catch((e) => this.log(`could not send ${topic} to the coordinator: ${(e as Error).message}`)),
          fenced: async () => !attempt.dead && slot.attempt === attempt && (await this.store.assignment(name))?.value.epoch === epoch,
          log: (line) => this.log(line),
        });
      }
      job = new Job(mod, {
        partitions: a.value.partitions,
        baseDir: slot.record.baseDir ?? this.opts.baseDir,
        placement,
        attempt: epoch,
        ...(attempt.ckpt ? { checkpoint: attempt.ckpt } : {}),
        ...(restore ? { restore: restore.states } : {}),
        reporter: { badRecord: this.badRecordReporter(name, config?.intervalMs ? config.dir : undefined, slot.record.maxProblems ?? MAX_BAD_SHOWN) },
      });
      await job.open();
    } catch (e) {
      attempt.state = "failed";
      await this.report(slot, attempt.epoch, "failed", { message: (e as Error).message });
      return;
    }
    // The worker stopped, lost its session or got a newer assignment while the job was opening.
    if (this.stopped || attempt.dead || slot.attempt !== attempt || this.jobs.get(name) !== slot) return void job.cancel("superseded");
    attempt.job = job;
    attempt.state = "running";
    for (const m of attempt.early.splice(0)) job.deliver(m.target.node, m.target.partition, m.channel, m.message);
    this.log(`running ${mine.join(", ")} of ${name} (epoch ${attempt.epoch})`);
    job
      .run()
      .then(
        () => {
          attempt.state = "finished";
          return this.reportUntilSettled(slot, attempt);
        },
        (e) => {
          if (attempt.state === "running") attempt.state = slot.attempt === attempt && !attempt.dead ? "failed" : "cancelled";
          return slot.attempt === attempt && !attempt.dead ? this.report(slot, attempt.epoch, "failed", { message: (e as Error).message }) : undefined;
        },
      )
      // A report that cannot be sent (no session right now) is repeated by the next reconcile.
      .catch((e) => this.log(`could not report to the coordinator: ${(e as Error).message}`));
  }

  private linkTo(attempt: Attempt, to: WorkerRecord | undefined, job: string): Promise<DataLink> {
    if (!to) return Promise.reject(new Error("internal: a task's worker is not registered"));
    let l = attempt.links.get(to.id);
    if (!l) {
      l = this.net.link(to, job, attempt.epoch);
      attempt.links.set(to.id, l);
      l.then(
        (link) => attempt.open.push(link),
        (e) => this.log(`cannot reach worker ${to.id} at ${to.host}:${to.dataPort} for ${job} (epoch ${attempt.epoch}): ${(e as Error).message}`),
      );
    }
    return l;
  }

  /**
   * Reports "finished" now and again every second until the job's state moves on: a report can be
   * lost (the coordinator changed, or had not started yet), and reports are idempotent.
   */
  private async reportUntilSettled(slot: JobSlot, attempt: Attempt): Promise<void> {
    const again = async () => {
      if (this.stopped || slot.attempt !== attempt || attempt.dead || !this.jobs.has(slot.record.name)) return;
      await this.report(slot, attempt.epoch, "finished", {}).catch((e) => this.log(`could not report to the coordinator: ${(e as Error).message}`));
      attempt.retry = setTimeout(() => void again(), 1000);
      attempt.retry.unref();
    };
    await again();
  }

  /**
   * Recovery for a new attempt: the latest intact checkpoint (undefined: start from the beginning),
   * with the staged output of the sinks this worker now runs published again.
   */
  private async recover(slot: JobSlot, epoch: number, mine: (node: string, p: number) => boolean, partitions: number): Promise<LoadedCheckpoint | undefined> {
    const name = slot.record.name;
    const config = slot.record.checkpoint!;
    const pointer = await this.store.latestCheckpoint(name);
    if (!pointer && config.from) {
      // No checkpoint of its own yet: the savepoint it was submitted with (checked at submit).
      let loaded: LoadedCheckpoint;
      try {
        loaded = (await loadSavepoint(config.from.dir)).loaded;
      } catch (e) {
        throw new JobError(e instanceof SavepointError ? e.message : `cannot read the savepoint ${config.from.dir}: ${(e as Error).message}`);
      }
      await recommitSinks(loaded, mine, partitions);
      this.log(`restoring ${name} from the savepoint ${config.from.dir} (checkpoint ${loaded.manifest.id}, epoch ${epoch})`);
      return loaded;
    }
    const found = await loadClusterCheckpoint(config.dir, pointer, (m) => this.log(`${name}: ${m}`));
    if (!found) return undefined;
    const loaded = found.loaded;
    await carrySourceState(config.dir, loaded, found.epoch, epoch, mine);
    if (loaded.manifest.planHash !== slot.record.planHash) throw new JobError(`checkpoint ${loaded.manifest.id} of ${name} belongs to another plan`);
    await recommitSinks(loaded, mine, partitions);
    this.log(`restoring ${name} from checkpoint ${loaded.manifest.id} (epoch ${epoch})`);
    return loaded;
  }

  /**
   * Bad records go to the worker's log, each once: with checkpoints, a record replayed after
   * recovery is skipped if the log of reported ones in the state directory holds it.
   */
  private badRecordReporter(job: string, stateDir: string | undefined, limit: number): (bad: BadRecord) => void {
    if (stateDir !== undefined) mkdirSync(stateDir, { recursive: true });
    const reported = stateDir === undefined ? undefined : ReportedBadRecords.open(path.join(stateDir, BAD_RECORDS_LOG), true);
    let shown = 0;
    return (bad) => {
      if (shown > limit) return;
      if (shown === limit) {
        this.log(`${job}: more bad records follow; \`flowc status\` counts them`);
        shown++;
        return;
      }
      if (reported && !reported.first(bad)) return;
      this.log(`${job}: bad record at ${bad.origin}:${bad.line} (source \`${bad.source}\`): ${bad.message}`);
      shown++;
    };
  }

  private async report(slot: JobSlot, epoch: number, topic: string, body: object): Promise<void> {
    const leader = await this.store.leader(slot.record.name);
    const to = leader === undefined ? undefined : (await this.store.workers()).find((w) => w.id === leader);
    if (to) await this.net.app(to, slot.record.name, epoch, topic, body);
  }

  /**
   * A superseded attempt removes what it staged for checkpoints that can no longer complete. When
   * the pointer cannot be read now, that is tried again in the background (a staged file left over
   * would otherwise stay in the output directory for good).
   */
  private async abandon(name: string, a: Attempt): Promise<void> {
    const ckpt = a.ckpt;
    if (!ckpt) return;
    const step = async () => {
      const after = await this.stagedDeadAfter(name, a.epoch);
      await ckpt.abandon(after);
      this.log(`removed what epoch ${a.epoch} of ${name} staged${after === -Infinity ? "" : ` after checkpoint ${after}`} (superseded)`);
    };
    await step().catch(() => this.background(`removing what epoch ${a.epoch} of ${name} staged`, step));
  }

  /**
   * For a superseded attempt of `epoch`: the checkpoint after which nothing it staged can be
   * committed any more. Checkpoint ids go on across epochs, so an id alone does not say it: once
   * a later epoch has completed a checkpoint, its recovery had already committed what this attempt
   * staged for the checkpoint it restored, and the rest is dead.
   */
  private async stagedDeadAfter(name: string, epoch: number): Promise<number> {
    const p = await this.store.latestCheckpoint(name);
    if (!p) return 0;
    return p.epoch > epoch ? -Infinity : p.id;
  }

  private async release(slot: JobSlot, why: string): Promise<void> {
    clearTimeout(slot.attempt?.retry);
    for (const u of slot.unsubscribe) u();
    slot.coordinator?.stop();
    void slot.attempt?.ckpt?.stop();
    await slot.attempt?.job?.cancel(why).catch(() => {});
    if (slot.attempt) for (const l of slot.attempt.open.splice(0)) l.close();
    await slot.election?.resign();
    this.jobs.delete(slot.record.name);
  }

  // ---------------------------------------------------------------- Inbound

  data(job: string, epoch: number, target: TaskAddress, channel: number, message: Parameters<Job["deliver"]>[3]): void | Promise<void> {
    const slot = this.jobs.get(job);
    if (!slot) return this.hold(job, epoch, target, channel, message);
    const attempt = slot.attempt;
    if (attempt && attempt.epoch === epoch) {
      if (attempt.dead) return;
      if (attempt.job) attempt.job.deliver(target.node, target.partition, channel, message);
      else attempt.early.push({ target, channel, message });
    } else if (!attempt || epoch > attempt.epoch) {
      let list = slot.ahead.get(epoch);
      if (!list) slot.ahead.set(epoch, (list = []));
      list.push({ target, channel, message });
    }
    // Older epochs: dropped. A zombie's batches never reach a newer attempt.
  }

  private hold(job: string, epoch: number, target: TaskAddress, channel: number, message: Parameters<Job["deliver"]>[3]): Promise<void> | undefined {
    if (this.stopped) return undefined;
    let h = this.unjoined.get(job);
    if (!h) {
      const timer = setTimeout(() => this.releaseHeld(job, false), this.opts.holdUnjoinedMs ?? 30_000);
      timer.unref();
      this.unjoined.set(job, (h = { messages: [], timer }));
    }
    const messages = h.messages;
    return new Promise((release) => messages.push({ epoch, target, channel, message, release }));
  }

  /** Delivers (the job was joined) or drops (it was not, in time) what was held for `job`. */
  private releaseHeld(job: string, deliver: boolean): void {
    const h = this.unjoined.get(job);
    if (!h) return;
    this.unjoined.delete(job);
    clearTimeout(h.timer);
    if (!deliver) this.log(`dropped ${h.messages.length} message(s) for job ${job}, which this worker has not joined`);
    for (const m of h.messages) {
      if (deliver) void this.data(job, m.epoch, m.target, m.channel, m.message);
      m.release();
    }
  }

  app(job: string, epoch: number, from: string, topic: string, body: unknown): void {
    const slot = this.jobs.get(job);
    if (topic === "ckpt-trigger" || topic === "ckpt-commit") {
      const a = slot?.attempt;
      if (!a || a.epoch !== epoch || a.dead || !a.ckpt) return;
      const id = Number((body as { id?: number }).id);
      if (topic === "ckpt-trigger") a.ckpt.trigger(id);
      else void a.ckpt.commit(id).catch(() => {});
      return;
    }
    const c = slot?.coordinator;
    if (!c) return;
    if (topic.startsWith("ckpt-")) c.checkpointMessage(from, epoch, topic, body);
    else if (topic === "finished") void c.reportFinished(from, epoch);
    else if (topic === "failed") void c.reportFailed(from, epoch, String((body as { message?: string }).message ?? "failed"));
  }
}
