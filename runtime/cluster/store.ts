// The job protocol's view of the coordination store: jobs, their epoch-stamped assignment and
// state, and the live workers. Writes that depend on the epoch are conditional on the version the
// writer last read (compare-and-set), so a coordinator or worker holding a stale epoch is refused.
// One implementation here in memory (the embedded mode and tests); the ZooKeeper one maps each
// record to the znode of protocol.ts and each conditional write to a versioned transaction.
import type { Assignment } from "./assignment.js";
import type { CheckpointPointer, JobRecord, JobState, WorkerRecord } from "./protocol.js";

export interface Versioned<T> {
  value: T;
  version: number;
}

export interface ClusterStore {
  workers(): Promise<WorkerRecord[]>;
  /** Calls `cb` after any change of the worker set; returns an unsubscribe function. */
  onWorkersChanged(cb: () => void): () => void;
  job(name: string): Promise<JobRecord | undefined>;
  assignment(job: string): Promise<Versioned<Assignment> | undefined>;
  state(job: string): Promise<Versioned<JobState> | undefined>;
  /** Writes the assignment iff its current version is `expected` (-1: none yet). False when refused. */
  writeAssignment(job: string, a: Assignment, expected: number): Promise<boolean>;
  /** Writes the state iff the assignment's version is still `assignmentVersion` (the epoch fence). */
  writeState(job: string, s: JobState, assignmentVersion: number): Promise<boolean>;
  /** The job's last completed checkpoint, if any. */
  latestCheckpoint(job: string): Promise<CheckpointPointer | undefined>;
  /** Moves the pointer iff the assignment's version is still `assignmentVersion` (the epoch fence). */
  publishCheckpoint(job: string, p: CheckpointPointer, assignmentVersion: number): Promise<boolean>;
}

/** What a worker needs beyond the coordinator's view: its own registration, jobs, watches, elections. */
export interface WorkerStore extends ClusterStore {
  /** Registers this worker for as long as its session lives (an ephemeral record). */
  registerWorker(w: WorkerRecord): Promise<void>;
  jobNames(): Promise<string[]>;
  onJobsChanged(cb: () => void): () => void;
  onAssignmentChanged(job: string, cb: () => void): () => void;
  onStateChanged(job: string, cb: () => void): () => void;
  /** Joins the job's coordinator election; `elected` runs when this candidate leads. */
  elect(job: string, candidate: string, elected: () => void): Promise<{ resign(): Promise<void> }>;
  leader(job: string): Promise<string | undefined>;
  /** The coordination session was lost: the worker must stop side effects (its tasks may move). */
  onSessionLost?(cb: () => void): () => void;
  /** This worker's current coordination session (assignments name the session of each worker). */
  sessionId?(): string;
}

export class MemoryClusterStore implements WorkerStore {
  private readonly workerMap = new Map<string, WorkerRecord>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly assignments = new Map<string, Versioned<Assignment>>();
  private readonly states = new Map<string, Versioned<JobState>>();
  private readonly checkpoints = new Map<string, CheckpointPointer>();
  private readonly listeners = new Set<() => void>();

  addWorker(w: WorkerRecord): void {
    this.workerMap.set(w.id, w);
    this.notify();
  }

  removeWorker(id: string): void {
    this.workerMap.delete(id);
    this.notify();
  }

  submit(job: JobRecord): void {
    this.jobs.set(job.name, job);
    this.states.set(job.name, { value: { status: "submitted", epoch: 0, updatedAt: Date.now() }, version: 0 });
    this.fire("jobs");
  }

  private notify(): void {
    for (const l of this.listeners) queueMicrotask(l);
  }

  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly candidates = new Map<string, { id: string; elected: () => void }[]>();

  private watch(key: string, cb: () => void): () => void {
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(cb);
    return () => set!.delete(cb);
  }

  private fire(key: string): void {
    for (const cb of this.watchers.get(key) ?? []) queueMicrotask(cb);
  }

  async registerWorker(w: WorkerRecord): Promise<void> {
    this.addWorker(w);
  }

  async jobNames(): Promise<string[]> {
    return [...this.jobs.keys()];
  }

  onJobsChanged(cb: () => void): () => void {
    return this.watch("jobs", cb);
  }

  onAssignmentChanged(job: string, cb: () => void): () => void {
    return this.watch(`assignment:${job}`, cb);
  }

  onStateChanged(job: string, cb: () => void): () => void {
    return this.watch(`state:${job}`, cb);
  }

  async elect(job: string, candidate: string, elected: () => void): Promise<{ resign(): Promise<void> }> {
    let list = this.candidates.get(job);
    if (!list) this.candidates.set(job, (list = []));
    const entry = { id: candidate, elected };
    list.push(entry);
    if (list[0] === entry) queueMicrotask(elected);
    return {
      resign: async () => {
        const i = list!.indexOf(entry);
        if (i < 0) return;
        list!.splice(i, 1);
        if (i === 0 && list![0]) queueMicrotask(list![0].elected);
      },
    };
  }

  async leader(job: string): Promise<string | undefined> {
    return this.candidates.get(job)?.[0]?.id;
  }

  /** A worker's session ended: its registration and candidacies go, as ephemeral nodes would. */
  expireWorker(id: string): void {
    this.removeWorker(id);
    for (const [, list] of this.candidates) {
      const i = list.findIndex((c) => c.id === id);
      if (i < 0) continue;
      list.splice(i, 1);
      if (i === 0 && list[0]) queueMicrotask(list[0].elected);
    }
  }

  async workers(): Promise<WorkerRecord[]> {
    return [...this.workerMap.values()];
  }

  onWorkersChanged(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async job(name: string): Promise<JobRecord | undefined> {
    return this.jobs.get(name);
  }

  async assignment(job: string): Promise<Versioned<Assignment> | undefined> {
    const a = this.assignments.get(job);
    return a && structuredClone(a);
  }

  async state(job: string): Promise<Versioned<JobState> | undefined> {
    const s = this.states.get(job);
    return s && structuredClone(s);
  }

  async writeAssignment(job: string, a: Assignment, expected: number): Promise<boolean> {
    const cur = this.assignments.get(job);
    if ((cur?.version ?? -1) !== expected) return false;
    this.assignments.set(job, { value: structuredClone(a), version: expected + 1 });
    this.fire(`assignment:${job}`);
    return true;
  }

  async writeState(job: string, s: JobState, assignmentVersion: number): Promise<boolean> {
    const a = this.assignments.get(job);
    if ((a?.version ?? -1) !== assignmentVersion) return false;
    const cur = this.states.get(job);
    this.states.set(job, { value: structuredClone(s), version: (cur?.version ?? -1) + 1 });
    this.fire(`state:${job}`);
    return true;
  }

  async latestCheckpoint(job: string): Promise<CheckpointPointer | undefined> {
    const p = this.checkpoints.get(job);
    return p && structuredClone(p);
  }

  async publishCheckpoint(job: string, p: CheckpointPointer, assignmentVersion: number): Promise<boolean> {
    if ((this.assignments.get(job)?.version ?? -1) !== assignmentVersion) return false;
    this.checkpoints.set(job, structuredClone(p));
    return true;
  }
}
