// The execution plan: the contract between the compiler and the runtime. The compiler's emit phase
// writes a module that exports `plan` (this data, JSON-serialisable, versioned) and `functions`
// (the specialised code the plan's nodes name). The runtime reads only such a module.
import type { FlowType } from "./types.js";

export const PLAN_VERSION = 5;

/**
 * The most records in one batch: a source's batch (`batchSize`) and what a chain emits per call of
 * its collector. An array of more than about 16k elements is allocated in V8's large-object space;
 * filling batches that large made a run several times slower here (W2 with 40 words per line: 4.5×).
 */
export const MAX_BATCH = 8192;

/** Where a node came from in the .flow file (1-based). */
export interface SourceLoc {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface PlanConfig {
  /** Parallel instances of every partitioned node. `flowc run --partitions N` overrides it. */
  partitions: number;
  /** Keys hash into this many key groups; partitions own contiguous ranges of them. Fixed for a job's life. */
  keyGroups: number;
  /** Milliseconds between checkpoints, or null when checkpointing is off. */
  checkpointIntervalMs: number | null;
  /** Records per batch handed between operators. */
  batchSize: number;
  /** A record that fails inside an operator fails the job (absent: it is reported and skipped). */
  failOnError?: boolean;
}

export interface ExecutionPlan {
  version: typeof PLAN_VERSION;
  /** The job's name: the `pipeline NAME` header, or the file's base name. */
  name: string;
  /** The .flow file, as given to the compiler. */
  sourceFile: string;
  /** The .flow file's directory relative to the emitted module's directory; relative paths in connectors resolve against it. */
  sourceDir: string;
  config: PlanConfig;
  /** Nodes in topological order: every input of a node appears before it. */
  nodes: PlanNode[];
}

/**
 * How records travel from an input node's instances to this node's instances:
 * - forward: instance i to instance i (same parallelism)
 * - hash: by key, through key groups (the input node emits keyed records)
 * - rebalance: one instance to all instances, batch by batch round robin
 * - gather: all instances to the single instance
 */
export type Partitioning = "forward" | "hash" | "rebalance" | "gather";

export interface PlanInput {
  from: string;
  partitioning: Partitioning;
  /** Which output of `from`: absent for its main output, "late" for a window's late elements (`late: NAME`). */
  port?: "late";
}

interface NodeBase {
  /** Stable id: derived from the node's kind and its position in the .flow file, not from a counter over the graph. */
  id: string;
  /** A short human description for `explain` and the run summary. */
  label: string;
  /** `single`: one instance; `partitioned`: config.partitions instances. */
  parallelism: "single" | "partitioned";
  inputs: PlanInput[];
  loc: SourceLoc;
  /** Type of the records this node emits (sinks: of the records they take). */
  outputType: FlowType;
  /** Whether emitted records carry a key (the node ends in keyBy, or is a keyed aggregate). */
  keyed: boolean;
}

export interface SourceNode extends NodeBase {
  kind: "source";
  /** The source's name in the .flow file. */
  name: string;
  connector: ConnectorSpec;
}

/** Consecutive stateless operators fused into one generated function. */
export interface ChainNode extends NodeBase {
  kind: "chain";
  /** Name of the ChainFn in the module's `functions`. */
  fn: string;
  /** The fused operators, in order, for explain. */
  steps: { op: string; loc: SourceLoc }[];
  /**
   * Set when the chain ends in keyBy and its only consumer is a processing-time tumbling window
   * aggregate: `fn`, a FusedFoldFn in `functions`, runs the chain and that aggregate's fold in one
   * loop. The runtime uses it when both run as one instance in the same process (one partition),
   * where the hash exchange between them sends every record to the same place anyway.
   */
  foldInto?: {
    node: string;
    fn: string;
    /**
     * Event time: the watermark node between the chain and the aggregate (it only tracks the times
     * the chain stamps); `fn` is then a FusedEventFoldFn, which also does that node's work.
     */
    via?: string;
    /**
     * Set when the chain reads a `generate` source whose records are a function of their index
     * (runtime/connectors/generate.ts recordExpression): the same loop making the records itself,
     * a GeneratedFoldFn (GeneratedEventFoldFn with `via`). The runtime uses it when the source runs
     * in the same process and nothing else reads it: no batch of records is made at all.
     */
    generated?: string;
  };
}

export interface AggregateNode extends NodeBase {
  kind: "aggregate";
  aggregate: AggregateSpec;
  window: WindowSpec | null;
  /**
   * A FoldFn in `functions`: the aggregate's accumulator code generated for this pipeline's types
   * (tumbling and sliding windows use it; without it the runtime's generic accumulators run).
   */
  fold?: string;
  /**
   * An EntryFn in `functions`, with `fold`: makes an entry of the class the fold makes its entries
   * of, so that entries restored from a checkpoint have the same shape as the ones the fold made
   * (plans before it lack it: the runtime then restores plain objects).
   */
  entry?: string;
  /** Set when late elements go to a stream (`late: NAME`) rather than being counted and dropped. */
  lateStream?: string;
}

/** `watermark(x => x.ts, delay: d)`: stamps each record with its event time and emits watermarks. */
export interface WatermarkNode extends NodeBase {
  kind: "watermark";
  /**
   * ValueFn giving a record's timestamp (milliseconds). Absent when the chain before the watermark
   * computes the timestamps (its `watermark` step): the records arrive with their times.
   */
  fn?: string;
  delayMs: number;
}

/** `join(other, on: (a, b) => ka == kb, within: d)`: input 0 is the left stream, input 1 the right one, both keyed. */
export interface JoinNode extends NodeBase {
  kind: "join";
  withinMs: number;
  time: WindowTime;
}

/** `distinct(x => k, within: d)` over a stream keyed by k. */
export interface DistinctNode extends NodeBase {
  kind: "distinct";
  withinMs: number;
  time: WindowTime;
}

export interface SinkNode extends NodeBase {
  kind: "sink";
  /** `as NAME`, if given. */
  name: string | null;
  connector: ConnectorSpec;
}

export type PlanNode = SourceNode | ChainNode | AggregateNode | WatermarkNode | JoinNode | DistinctNode | SinkNode;

/** A connector with its arguments resolved to constants, keyed by parameter name. */
export interface ConnectorSpec {
  type: string;
  args: Record<string, ConstValue>;
}

export type ConstValue = string | number | boolean | null | ConstValue[] | { [k: string]: ConstValue };

export type SimpleAggregate =
  | { kind: "count" }
  /** `fn` names a ValueFn in `functions`. */
  | { kind: "sum" | "min" | "max" | "avg"; fn: string }
  /** `fn` names a ReduceFn. */
  | { kind: "reduce"; fn: string };

export type AggregateSpec =
  | SimpleAggregate
  /** `aggregate({ n: count(), total: sum(...) })` */
  | { kind: "multi"; fields: { name: string; aggregate: SimpleAggregate }[] };

export type WindowTime = "processing" | "event";

export type WindowSpec =
  | { kind: "tumbling"; sizeMs: number; time: WindowTime }
  | { kind: "sliding"; sizeMs: number; slideMs: number; time: WindowTime }
  | { kind: "session"; gapMs: number; time: WindowTime };

// ---------------------------------------------------------------- the generated code's interface

/** Receives what a chain made of a batch. */
export interface Collector<O> {
  /**
   * The chain's output: the first `n` elements of `values` (and of `keys` when the chain ends in
   * keyBy, of `times` with event time). The arrays are the chain's to give: the runtime keeps them.
   * Called once per input batch, or again each time MAX_BATCH records are ready (a flatMap can
   * make many records of one): each call is a batch of its own, in order.
   */
  done(values: O[], keys: unknown[] | null, times: number[] | null, n: number): void;
  /** A record failed inside the chain (for example an imported function threw): report it, skip it. */
  fail(record: unknown, error: unknown, where: string): void;
}

/** A fused chain: `times` are the input's event times (null without), one per input record. */
export type ChainFn<I = any, O = any> = (input: readonly I[], times: readonly number[] | null, out: Collector<O>) => void;
export type ValueFn<I = any> = (value: I) => number;
export type ReduceFn<T = any> = (a: T, b: T) => T;

/** A key as a Map key: primitives as they are, arrays and records as canonical JSON (exec/keys.ts). */
export type KeyId = string | number | boolean;

/**
 * One key's state in an aggregate (in one window): the key and its accumulator, whose layout per
 * aggregate kind is the one of runtime/operators/accumulators.ts (the state in checkpoints).
 */
export interface AggregateEntry {
  key: unknown;
  acc: unknown;
  /**
   * The checkpoint epoch in which the entry was made or last saved: a snapshot is taken while the
   * records go on (copy on write), so the first change in an epoch first keeps `old`.
   */
  v: number;
  /**
   * The accumulator as it was when the epoch `v` began; undefined when the entry was made in it
   * (made with the field, so that every entry has one shape).
   */
  old: unknown;
}

/**
 * One window's state as a generated fold sees it: key id → entry. The runtime's is a KeyTable
 * (runtime/operators/key-table.ts); a Map serves as well.
 */
export interface EntryTable<V = AggregateEntry> {
  get(id: KeyId): V | undefined;
  set(id: KeyId, value: V): unknown;
  readonly size: number;
}

/** Makes an entry of an aggregate's own class (AggregateNode.entry), made in epoch `v`. */
export type EntryFn = (key: unknown, acc: unknown, v: number) => AggregateEntry;

/** What a FoldFn needs from the runtime. */
export interface FoldContext {
  /** The Map key of a key that is not a primitive. */
  keyId(key: unknown): KeyId;
  /** A record whose aggregate code threw: report it; the fold skips it, leaving the state as it was. */
  fail(record: unknown, error: unknown): void;
  /**
   * The current checkpoint epoch. Before the first change of an entry whose `v` differs, the fold
   * sets `old` to a copy of its accumulator (`copyAcc`) and `v` to the epoch; new entries get
   * `v: epoch` and no `old`.
   */
  readonly epoch: number;
  /** A copy of an accumulator that the fold's in-place updates do not reach. */
  copyAcc(acc: unknown): unknown;
}

/**
 * Adds records `from` to `to` (exclusive) of a keyed batch to `entries`: generated per aggregate,
 * with the accumulator's code and the key's handling specialised to the pipeline's types.
 */
export type FoldFn<T = any> = (
  entries: EntryTable,
  keys: readonly unknown[],
  values: readonly T[],
  from: number,
  to: number,
  ctx: FoldContext,
) => void;

/**
 * A chain and the fold of the aggregate after it in one loop (ChainNode.foldInto): runs the chain
 * over `input` and adds each record it would have emitted to `entries` (one window's state), with
 * no batch in between. A record failing in the chain is reported through `out.fail`, one failing in
 * the aggregate's code through `ctx.fail`, as the two functions apart would. Returns the number of
 * records the chain passed on.
 */
export type FusedFoldFn<T = any> = (input: readonly T[], entries: EntryTable, ctx: FoldContext, out: Collector<unknown>) => number;

/**
 * What a FusedEventFoldFn needs besides what a fold does: the state of the watermark node between
 * the chain and the aggregate, and the aggregate's event time and windows.
 */
export interface EventFoldContext extends FoldContext {
  /** Before the batch's first record that gets past the chain: what the watermark node does when a batch arrives. */
  begin(): void;
  /** The watermark the watermark node last sent on. */
  emitted(): number;
  /** The aggregate's event time: a record before it is late. */
  watermark(): number;
  /** Sends watermark `time` on, as the watermark node does: the aggregate fires what it closes. */
  advance(time: number): void;
  /** The state of the window starting at `start`. */
  window(start: number): EntryTable;
  /** A record behind the aggregate's event time, with its time. */
  late(record: unknown, time: number): void;
}

/**
 * FusedFoldFn in event time: a chain with a `watermark` step, the watermark node after it and the
 * tumbling window aggregate after that, in one loop. Per record it does what the three do apart:
 * a record older than the watermark the records before it made first sends that watermark on; a
 * record behind the aggregate's event time is late; the others go to their window's entry. At the
 * end the batch's watermark goes on.
 */
export type FusedEventFoldFn<T = any> = (input: readonly T[], ctx: EventFoldContext, out: Collector<unknown>) => number;

/** A FusedFoldFn making its input itself: records from…from+count-1 of the generate source before the chain. */
export type GeneratedFoldFn = (from: number, count: number, entries: EntryTable, ctx: FoldContext, out: Collector<unknown>) => number;

/** A FusedEventFoldFn making its input itself: records from…from+count-1 of the generate source before the chain. */
export type GeneratedEventFoldFn = (from: number, count: number, ctx: EventFoldContext, out: Collector<unknown>) => number;

export interface PlanModule {
  plan: ExecutionPlan;
  functions: Record<string, ChainFn | ValueFn | ReduceFn | FoldFn | FusedFoldFn | FusedEventFoldFn | GeneratedFoldFn | GeneratedEventFoldFn | EntryFn>;
}
