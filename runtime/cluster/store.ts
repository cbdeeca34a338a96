// The job protocol's view of the coordination store: jobs, their epoch-stamped assignment and
// state, and the live workers. Writes that depend on the epoch are conditional on the version the
// writer last read (compare-and-set), so a coordinator or worker holding a stale epoch is refused.
// One implementation here in memory (the embedded mode and tests); the ZooKeeper one maps each
// record to the znode of protocol.ts and each conditional write to a versioned transaction.
import type { Assignment } from "./assignment.js";
import type { JobRecord, JobState, WorkerRecord } from "./protocol.js";

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
}

export class MemoryClusterStore implements ClusterStore {
  private readonly workerMap = new Map<string, WorkerRecord>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly assignments = new Map<string, Versioned<Assignment>>();
  private readonly states = new Map<string, Versioned<JobState>>();
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
  }

  private notify(): void {
    for (const l of this.listeners) queueMicrotask(l);
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
    return true;
  }

  async writeState(job: string, s: JobState, assignmentVersion: number): Promise<boolean> {
    const a = this.assignments.get(job);
    if ((a?.version ?? -1) !== assignmentVersion) return false;
    const cur = this.states.get(job);
    this.states.set(job, { value: structuredClone(s), version: (cur?.version ?? -1) + 1 });
    return true;
  }
}
