// What a connector implements. Sources are pulled batch by batch (natural backpressure: the
// runtime asks for the next batch only when the previous one has been pushed through); sinks are
// written batch by batch and say when their buffers are full.
import type { Readable, Writable } from "node:stream";
import type { ConnectorSpec, SourceLoc } from "../plan.js";
import type { FlowType } from "../types.js";

/** A record that does not match its declared type. Never stops the job. */
export interface BadRecord {
  /** The source's name in the .flow file. */
  source: string;
  /** Where the record came from: a file path, `socket localhost:9999`, `stdin`. */
  origin: string;
  /** 1-based line (or record number) in that origin. */
  line: number;
  /** What is wrong, for the person: "field `ts`: expected timestamp, found \"abc\"". */
  message: string;
  /** The offending text, possibly shortened. */
  text: string;
}

export interface SourceContext {
  /** The source's name in the .flow file. */
  name: string;
  /** Declared element type: records are parsed into it and validated against it. */
  elementType: FlowType;
  /** Relative paths resolve against this directory (the .flow file's). */
  baseDir: string;
  /** Records per batch, at most. */
  batchSize: number;
  reportBad(bad: BadRecord): void;
  /** Where the source is declared, for error messages. */
  loc: SourceLoc;
  stdin: Readable;
  signal: AbortSignal;
  /** Checkpointing: where to start (the position a checkpoint recorded; see SourceReader.position). */
  resume?: SourcePosition;
  /** Checkpointing: a directory this source may keep files in (the socket source's write-ahead log). */
  stateDir?: string;
}

/** Where a replayable source stands between two batches: plain JSON, stored in checkpoints. */
export type SourcePosition = Record<string, unknown>;

export interface SourceReader {
  /** The next batch (never empty), or undefined at the end of input. Rejects with ConnectorError. */
  next(): Promise<unknown[] | undefined>;
  /** For bounded sources: bytes (or records) consumed so far and in total, for progress reporting. */
  progress?(): { done: number; total: number; unit: "bytes" | "records" };
  /**
   * Checkpointing: the position after the last record returned by next(), to reopen the source
   * there (SourceContext.resume). Absent for sources that cannot replay (stdin).
   */
  position?(): SourcePosition;
  /**
   * Checkpointing: true while a pending next() waits for input without holding records it has
   * consumed, so position() is exact and a barrier can go out now (a quiet socket, a paced generator).
   */
  idle?(): boolean;
  /**
   * A source whose record n is a function of n alone (generate): the place of the next batch in
   * place of its records, which the reader moves past without making them. The job takes batches
   * this way when the chain after the source makes the records itself (ChainNode.foldInto.generated),
   * asking for up to `most` records (at least the batch size) in one.
   */
  nextRange?(most: number): Promise<{ from: number; count: number } | undefined>;
  /** With nextRange: records from…from+count-1, for a batch the chain does not make itself. */
  records?(from: number, count: number): unknown[];
  close(): Promise<void>;
}

export interface SinkContext {
  /** `as NAME` or a generated id. */
  name: string;
  /** Type of the records written. */
  elementType: FlowType;
  baseDir: string;
  /** Which instance of a partitioned sink this is, and how many there are. */
  partition: number;
  partitions: number;
  loc: SourceLoc;
  stdout: Writable;
  /**
   * Set on a cluster, where a job's tasks may run more than once (one attempt per assignment
   * epoch): the sink stages its output under the attempt and publishes it only on commit(), so an
   * attempt that was superseded (a zombie worker's) never becomes output.
   */
  attempt?: number;
  /**
   * Set when the job checkpoints (embedded mode): a sink that supports it stages its output per
   * checkpoint (SinkWriter.preCommit) and publishes it only once the checkpoint has completed.
   */
  staging?: SinkStaging;
}

export interface SinkStaging {
  /** The job resumes from a checkpoint: keep the output committed so far and write after it. */
  resumed: boolean;
  /** The id of the checkpoint resumed from (0 for a fresh run); segment names start after it. */
  after: number;
  /**
   * Part of every staged segment's name (the cluster's epoch): a paused attempt that is still
   * writing never shares a file with the attempt that replaced it.
   */
  tag?: string;
}

/** What a sink staged for a checkpoint: enough to commit it again after a crash. */
export interface StagedOutput {
  /** The published file the staged segments are appended to. */
  file: string;
  /** Staged segments not yet known to be committed, oldest first. */
  segments: { file: string; start: number; length: number }[];
  /** The published file's length once every segment up to this checkpoint is committed. */
  length: number;
}

export interface SinkWriter {
  write(records: readonly unknown[]): void;
  /** Resolves when buffered output is below the high-water mark; undefined when it already is. */
  ready(): Promise<void> | undefined;
  /** Flush and close. */
  close(): Promise<void>;
  /** After close, for staged output (SinkContext.attempt): publish it, replacing other attempts'. */
  commit?(): Promise<void>;
  /** After close, for staged output: remove it (the attempt was cancelled or superseded). */
  discard?(): Promise<void>;
  /**
   * Checkpointing (SinkContext.staging): called at barrier `id`. Synchronously starts a new segment
   * for what follows; resolves once what came before is durable in a staged file.
   */
  preCommit?(id: number): Promise<StagedOutput>;
  /** Checkpointing: publish the staged segments of checkpoints up to `id` (it has completed). */
  commitCheckpoint?(id: number): Promise<void>;
  /**
   * Checkpointing, after discard(): segments staged for checkpoints after `after` (all when absent)
   * will never be committed (the job ended, or its epoch was superseded): remove them.
   */
  discardStaged?(after?: number): Promise<void>;
}

export interface SourceConnector {
  kind: "source";
  open(spec: ConnectorSpec, ctx: SourceContext): Promise<SourceReader>;
}

export interface SinkConnector {
  kind: "sink";
  open(spec: ConnectorSpec, ctx: SinkContext): Promise<SinkWriter>;
}

/** A failure of a connector the user can fix (file missing, connection refused): shown without a stack. */
export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly loc?: SourceLoc,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "ConnectorError";
  }
}
