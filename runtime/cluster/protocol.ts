// What the cluster keeps in its coordination store (ZooKeeper, or memory when embedded), and the
// life cycle of a job as an explicit transition table. Only membership, leadership, epochs,
// assignments and job states live there; data, metrics and heartbeats never do.
import type { Assignment } from "./assignment.js";

/** `/flow/workers/<id>` (ephemeral). */
export interface WorkerRecord {
  id: string;
  host: string;
  /** Port of the worker's data server (worker-to-worker batches, reports to the coordinator). */
  dataPort: number;
  slots: number;
  metricsPort?: number;
  /** The coordination session that registered it: a worker back with a new session is a new member. */
  session?: string;
}

/** `/flow/jobs/<job>`: written once by `flowc submit`. */
export interface JobRecord {
  name: string;
  /** The compiled plan module (.js) on storage every worker can read, and its sha256. */
  planPath: string;
  planHash: string;
  partitions: number;
  /** Workers authenticate data connections of this job with it. Readable only with the project's ACL. */
  secret: string;
  submittedAt: number;
  /** Where relative connector paths resolve (the submitted .flow file's directory: shared storage across hosts). */
  baseDir?: string;
  /** Checkpointing (absent: off). The directory is shared storage every worker can write. */
  checkpoint?: JobCheckpointConfig;
  /** Bad records a worker logs one by one per attempt before only counting them (default 20). */
  maxProblems?: number;
}

export interface JobCheckpointConfig {
  intervalMs: number;
  /** Absolute path of the job's checkpoint directory. */
  dir: string;
  /** Completed checkpoints kept. */
  retain: number;
  /** Declined checkpoints in a row that fail the job. */
  maxDeclines: number;
  /** A checkpoint not complete after this long is declined (default: max(30 s, 10 intervals)). */
  timeoutMs?: number;
  /** A savepoint to start from while the job has no checkpoint of its own: its directory and checkpoint id. */
  from?: { dir: string; checkpoint: number };
}

/** `/flow/jobs/<job>/checkpoints/latest`: the last completed checkpoint (and the ones kept before it). */
export interface CheckpointPointer {
  id: number;
  /** The epoch whose coordinator completed it. */
  epoch: number;
  /** The manifest, relative to the job's checkpoint directory, and its sha256. */
  manifest: string;
  sha256: string;
  /** Older completed checkpoints still kept, newest first: used when the latest one is damaged. */
  previous: { id: number; epoch: number; manifest: string; sha256: string }[];
}

export type JobStatus = "submitted" | "running" | "finished" | "failed" | "cancelling" | "cancelled";

/** `/flow/jobs/<job>/state` */
export interface JobState {
  status: JobStatus;
  /** The epoch this state was written in; a writer with an older epoch is refused. */
  epoch: number;
  message?: string;
  updatedAt: number;
}

export type JobEvent = "assigned" | "all-finished" | "task-failed" | "cancel" | "no-workers";

/** Job life cycle: state × event → next state (absent: the event is ignored in that state). */
export const JOB_TRANSITIONS: Record<JobStatus, Partial<Record<JobEvent, JobStatus>>> = {
  submitted: { assigned: "running", cancel: "cancelled" },
  running: { "all-finished": "finished", "task-failed": "failed", cancel: "cancelling", assigned: "running" },
  cancelling: { "all-finished": "cancelled", cancel: "cancelling" },
  finished: {},
  failed: {},
  cancelled: {},
};

export function nextStatus(current: JobStatus, event: JobEvent): JobStatus | undefined {
  return JOB_TRANSITIONS[current][event];
}

export function isTerminal(s: JobStatus): boolean {
  return s === "finished" || s === "failed" || s === "cancelled";
}

export type { Assignment };
