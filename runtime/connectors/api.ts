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
}

export interface SourceReader {
  /** The next batch (never empty), or undefined at the end of input. Rejects with ConnectorError. */
  next(): Promise<unknown[] | undefined>;
  /** For bounded sources: bytes (or records) consumed so far and in total, for progress reporting. */
  progress?(): { done: number; total: number; unit: "bytes" | "records" };
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
