// Runs a plan in this process (the embedded mode): builds one task per node instance, wires their
// channels by each edge's partitioning, opens connectors, pulls every source batch by batch and
// pushes each batch through the graph, and waits until every sink has closed.
import { resolve, dirname } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { JobCheckpointing } from "../checkpoint/coordinator.js";
import { ConnectorError, type BadRecord, type SinkWriter, type SourceReader } from "../connectors/api.js";
import { SINKS, SOURCES } from "../connectors/registry.js";
import { AggregateOperator } from "../operators/aggregate.js";
import { ChainOperator, FUSED_MOST_ENTRIES } from "../operators/chain.js";
import { DistinctOperator } from "../operators/distinct.js";
import { JoinOperator } from "../operators/join.js";
import { DEFAULT_IDLE_TIMEOUT_MS, WatermarkOperator } from "../operators/watermark.js";
import { WindowAggregateOperator } from "../operators/window-aggregate.js";
import { SessionAggregateOperator } from "../operators/window-session.js";
import type { Operator, OperatorContext, OperatorState } from "../operators/operator.js";
import { SinkOperator } from "../operators/sink.js";
import { MAX_BATCH, PLAN_VERSION, type ChainFn, type ChainNode, type FusedEventFoldFn, type FusedFoldFn, type GeneratedEventFoldFn, type GeneratedFoldFn, type PlanModule, type PlanNode, type SinkNode, type SourceLoc, type ValueFn } from "../plan.js";
import { ERRORS_CONNECTOR, ErrorStreamReader } from "./error-streams.js";
import { keyGroupRange } from "./keys.js";
import type { Batch, ControlEvent } from "./messages.js";
import { Output, type Receiver, type Target } from "./output.js";
import { Task, type TaskHooks } from "./task.js";
import { planHash, ThreadGroup, threadPlacement } from "./threads.js";

export interface RecordFailure {
  /** The operator's place in the .flow file, as `file:line`. */
  where: string;
  record: unknown;
  message: string;
}

export interface RunReporter {
  badRecord?(bad: BadRecord): void;
  recordFailed?(failure: RecordFailure): void;
}

/**
 * Which task instances this process runs. The embedded mode runs all of them; a cluster worker runs
 * the ones assigned to it and reaches the others through `remote` receivers (the data plane).
 */
export interface Placement {
  isLocal(nodeId: string, partition: number): boolean;
  /** A receiver that delivers to the task instance on the process that runs it. */
  remote(nodeId: string, partition: number): Receiver;
  /** Pending while the data plane's send buffers are full: sources wait for it. */
  pressure?(): Promise<void> | undefined;
}

export interface RunOptions {
  /** Overrides the plan's `config.partitions`. */
  partitions?: number;
  /** Directory that relative connector paths resolve against; default: the plan's sourceDir next to `moduleUrl`. */
  baseDir?: string;
  /** URL of the plan module (import.meta.url of it), used to resolve plan.sourceDir. */
  moduleUrl?: string;
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  /** Replaces named sources with fixed records (tests). */
  sourceOverrides?: Record<string, readonly unknown[]>;
  /** Replaces sinks (tests collect what reaches them): a writer for the node, or undefined to open its connector. */
  sinkOverride?: (node: SinkNode, partition: number) => SinkWriter | undefined;
  reporter?: RunReporter;
  /** Aborting ends every source as if its input had ended: windows flush, sinks close. */
  signal?: AbortSignal;
  /** Snapshots restored before the job starts (operator id → states). */
  restore?: OperatorState[];
  /** Default: every task runs here. */
  placement?: Placement;
  /** The attempt (cluster epoch): sinks stage their output until commit(). */
  attempt?: number;
  /** Milliseconds without input after which a watermark partition stops holding event time back (default 2000). */
  idleTimeoutMs?: number;
  /**
   * A record that fails inside an operator (an imported function threw) fails the whole job instead
   * of being reported and skipped. Default: the plan's `config.failOnError`.
   */
  failOnError?: boolean;
  /** Checkpointing (embedded mode): barriers from the sources, snapshots and staged sinks (runtime/checkpoint/). */
  checkpoint?: JobCheckpointing;
  /**
   * Run a chain and the windowed aggregate it feeds in one generated loop where the plan allows it
   * (ChainNode.foldInto, one partition, both here). Default true; false runs them apart, batch by
   * batch (tests compare the two).
   */
  fuse?: boolean;
  /** Above this many entries in a window, a fused chain's batches run apart (default FUSED_MOST_ENTRIES; tests set it low). */
  fuseMostEntries?: number;
  /**
   * Threads to run the partitions on (threads.ts): this one runs the single-instance nodes and
   * partitions p with p mod threads = 0, each worker thread the partitions with p mod threads = its
   * index. Default 1 (everything on this thread); at most `partitions` are used. Needs `moduleUrl`
   * (the worker threads import the plan module), and cannot be combined with `placement`,
   * `checkpoint`, `restore`, `sinkOverride` or `attempt`.
   */
  threads?: number;
}

export interface SourceStats {
  name: string;
  records: number;
  progress?: { done: number; total: number; unit: "bytes" | "records" };
}

export interface JobStats {
  startedAt: number;
  sources: SourceStats[];
  recordsIn: number;
  recordsOut: number;
  badRecords: number;
  failedRecords: number;
  /** Elements behind the watermark that were dropped (windows without `late:`, joins, distinct). */
  lateRecords: number;
  /** Milliseconds the sources spent waiting for full buffers downstream (backpressure). */
  backpressuredMs: number;
}

/** Per task instance, for metrics. */
export interface TaskStats {
  node: string;
  kind: string;
  partition: number;
  recordsIn: number;
  recordsOut: number;
  /** -Infinity until a watermark arrived. */
  watermark: number;
}

export interface RunSummary extends JobStats {
  durationMs: number;
  sinks: { name: string; records: number }[];
  partitions: number;
  /** Threads the partitions ran on (RunOptions.threads). */
  threads: number;
}

/** A user-facing failure of a job (a connector could not be opened, a plan of another version). */
export class JobError extends Error {
  constructor(
    message: string,
    readonly loc?: SourceLoc,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "JobError";
  }
}

export class Job {
  readonly stats: JobStats;
  readonly partitions: number;
  /** Per node, its instances; null where the instance runs in another process. */
  private readonly tasks = new Map<string, (Task | null)[]>();
  private readonly sinkOps: { name: string; op: SinkOperator }[] = [];
  private pressure: Promise<void>[] = [];
  private readonly readers: { task: Task; reader: SourceReader; stats: SourceStats }[] = [];
  /** Source tasks whose chain makes their records itself (generatedFor): source task → the chain's task and operator. */
  private readonly generating = new Map<Task, { task: Task; op: ChainOperator }>();
  private readonly timedOps: Operator[] = [];
  /** Error streams by the name of the source whose bad records they carry. */
  private readonly errorStreams = new Map<string, ErrorStreamReader[]>();
  readonly snapshots = new Map<number, OperatorState[]>();
  /** The worker threads (RunOptions.threads), if any. */
  private threads: ThreadGroup | null = null;
  private placement: Placement | undefined;

  constructor(
    private readonly mod: PlanModule,
    private readonly opts: RunOptions = {},
  ) {
    const plan = mod.plan;
    if (plan?.version !== PLAN_VERSION) {
      throw new JobError(`this plan was made for plan format ${String(plan?.version)}, but this runtime reads format ${PLAN_VERSION}`, undefined, "compile the .flow file again with this flowc");
    }
    const p = opts.partitions ?? plan.config.partitions;
    if (!Number.isInteger(p) || p < 1 || p > plan.config.keyGroups) {
      throw new JobError(`partitions must be a whole number from 1 to ${plan.config.keyGroups}, not ${p}`);
    }
    this.partitions = p;
    const t = opts.threads ?? 1;
    if (!Number.isInteger(t) || t < 1) throw new JobError(`threads must be a whole number of at least 1, not ${t}`);
    this.placement = opts.placement;
    this.stats = { startedAt: Date.now(), sources: [], recordsIn: 0, recordsOut: 0, badRecords: 0, failedRecords: 0, lateRecords: 0, backpressuredMs: 0 };
  }

  /** The directory relative connector paths resolve against. */
  get baseDir(): string {
    if (this.opts.baseDir) return this.opts.baseDir;
    if (this.opts.moduleUrl) return resolve(dirname(fileURLToPath(this.opts.moduleUrl)), this.mod.plan.sourceDir);
    return process.cwd();
  }

  private instances(node: PlanNode): number {
    return node.parallelism === "single" ? 1 : this.partitions;
  }

  /** Opens connectors and wires tasks. Rejects with JobError for anything the user can fix. */
  async open(): Promise<void> {
    const plan = this.mod.plan;
    const hooks: TaskHooks = {
      onSnapshot: (task, id, state, pauseMs) => {
        this.opts.checkpoint?.onSnapshot(task, id, state, pauseMs);
        if (!state || this.opts.checkpoint) return;
        let list = this.snapshots.get(id);
        if (!list) this.snapshots.set(id, (list = []));
        list.push(state);
      },
      onSnapshotFailed: (task, id, error) => this.opts.checkpoint?.onSnapshotFailed(task, id, error),
    };
    if ((this.opts.threads ?? 1) > 1 && this.partitions > 1) this.startThreads();
    const local = (id: string, i: number) => this.placement?.isLocal(id, i) ?? true;
    try {
      for (const node of plan.nodes) {
        const n = this.instances(node);
        const list: (Task | null)[] = [];
        for (let i = 0; i < n; i++) {
          if (!local(node.id, i)) {
            list.push(null);
            continue;
          }
          const out = new Output(plan.config.keyGroups);
          const ctx: OperatorContext = {
            partition: i,
            partitions: n,
            keyGroups: plan.config.keyGroups,
            keyGroupRange: keyGroupRange(i, n, plan.config.keyGroups),
            out,
            fail: (record, error, where) => this.recordFailed(record, error, where),
            late: (count) => void (this.stats.lateRecords += count),
          };
          const { op, reader } = await this.operatorFor(node, i, n, ctx);
          const task = new Task(node, i, op, out, hooks);
          if (reader) {
            const stats: SourceStats = { name: (node as { name: string }).name, records: 0 };
            this.stats.sources.push(stats);
            this.readers.push({ task, reader, stats });
          }
          list.push(task);
        }
        this.tasks.set(node.id, list);
      }
    } catch (e) {
      await this.abort();
      throw toJobError(e);
    }
    // An error stream whose source does not run in this process never gets a record.
    for (const [source, readers] of this.errorStreams) if (!this.readers.some((r) => r.stats.name === source)) for (const r of readers) r.end();
    this.wire();
    if (this.opts.fuse !== false) {
      try {
        this.fuse();
      } catch (e) {
        await this.abort();
        throw toJobError(e);
      }
    }
    if (this.opts.restore) for (const t of this.localTasks()) t.operator.restore(this.opts.restore);
    this.opts.checkpoint?.attach({ tasks: this.localTasks(), cancel: (reason) => this.cancel(reason) });
    const threads = this.threads;
    if (threads) {
      // Thread 0's sinks hold back its own sources (pump); what it is sent is acknowledged at once.
      const failed = (e: unknown) => threads.fail(Object.assign(new Error(`internal error on thread 0: ${(e as Error)?.message ?? String(e)}`), { stack: (e as Error)?.stack }));
      for (const l of threads.links) l?.listen((node, partition, channel, message) => this.deliver(node, partition, channel, message), failed);
      try {
        await threads.opened;
      } catch (e) {
        await this.abort();
        throw threadError(e);
      }
    }
  }

  /** Starts the worker threads of RunOptions.threads; this thread becomes thread 0 of them. */
  private startThreads(): void {
    const o = this.opts;
    const conflict = (["placement", "checkpoint", "restore", "sinkOverride", "attempt"] as const).find((k) => o[k] !== undefined);
    if (conflict) throw new JobError(`threads cannot be combined with ${conflict === "checkpoint" || conflict === "restore" ? "checkpoints" : `the \`${conflict}\` option`} (yet)`, undefined, "run with one thread");
    if (!o.moduleUrl) throw new Error("internal: RunOptions.threads needs moduleUrl, for the worker threads to import the plan module");
    const count = Math.min(o.threads!, this.partitions);
    const nodes = this.mod.plan.nodes;
    this.threads = new ThreadGroup(
      nodes,
      {
        moduleUrl: o.moduleUrl,
        planHash: planHash(this.mod.plan),
        threads: count,
        partitions: this.partitions,
        baseDir: this.baseDir,
        ...(o.failOnError === undefined ? {} : { failOnError: o.failOnError }),
        ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
      },
      // Counted in the worker's stats; reported here.
      (f) => this.opts.reporter?.recordFailed?.(f),
    );
    this.placement = threadPlacement(nodes, 0, count, this.threads.links);
    o.signal?.addEventListener("abort", () => this.threads?.send({ t: "abort" }), { once: true });
  }

  private localTasks(): Task[] {
    return [...this.tasks.values()].flat().filter((t): t is Task => t !== null);
  }

  /** Hands a batch or control event that arrived from another process to the local task instance. */
  deliver(nodeId: string, partition: number, channel: number, message: { batch: Batch } | { event: ControlEvent }): void {
    const t = this.tasks.get(nodeId)?.[partition];
    if (!t) throw new Error(`internal: no local task ${nodeId}#${partition} for a message from another worker`);
    if ("batch" in message) t.receive(message.batch, channel);
    else t.control(message.event, channel);
  }

  private async operatorFor(node: PlanNode, i: number, n: number, ctx: OperatorContext): Promise<{ op: Operator; reader?: SourceReader }> {
    const fns = this.mod.functions as Record<string, unknown>;
    switch (node.kind) {
      case "source": {
        const override = this.opts.sourceOverrides?.[node.name];
        const reader = override ? arrayReader(override, this.mod.plan.config.batchSize, this.opts.checkpoint?.resumeOf(node.id, i)) : await this.openSource(node, i);
        return { op: passThrough(ctx), reader };
      }
      case "chain": {
        const fn = fns[node.fn];
        if (typeof fn !== "function") throw new JobError(`the plan module has no function ${node.fn}`);
        return { op: new ChainOperator(fn as ChainFn, ctx) };
      }
      case "aggregate": {
        const where = `${node.loc.file}:${node.loc.line}`;
        const w = node.window;
        const late = node.lateStream !== undefined;
        if (!w) return { op: new AggregateOperator(node.id, where, node.aggregate, fns, ctx) };
        const op = w.kind === "session" ? new SessionAggregateOperator(node.id, where, node.aggregate, w, fns, ctx, late) : new WindowAggregateOperator(node.id, where, node.aggregate, w, fns, ctx, late, node.fold, node.entry);
        if (w.time === "processing") this.timedOps.push(op);
        return { op };
      }
      case "watermark": {
        const fn = node.fn === undefined ? null : fns[node.fn];
        if (node.fn !== undefined && typeof fn !== "function") throw new JobError(`the plan module has no function ${node.fn}`);
        const op = new WatermarkOperator(`${node.loc.file}:${node.loc.line}`, fn as ValueFn | null, node.delayMs, this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, ctx);
        this.timedOps.push(op);
        return { op };
      }
      case "join": {
        const op = new JoinOperator(node.id, node.withinMs, node.time, ctx);
        if (node.time === "processing") this.timedOps.push(op);
        return { op };
      }
      case "distinct": {
        const op = new DistinctOperator(node.id, node.withinMs, node.time, ctx);
        if (node.time === "processing") this.timedOps.push(op);
        return { op };
      }
      case "sink": {
        const writer = await this.openSink(node, i, n);
        const op = new SinkOperator(writer, (ready) => {
          // A sink that failed rejects its wait; with every local source ended nobody awaits it,
          // and the failure is reported by the sink itself (a declined checkpoint, a failed close).
          ready.catch(() => {});
          this.pressure.push(ready);
        });
        this.sinkOps.push({ name: node.name ?? node.label, op });
        return { op };
      }
    }
  }

  private async openSource(node: PlanNode & { kind: "source" }, partition: number): Promise<SourceReader> {
    if (node.connector.type === ERRORS_CONNECTOR) {
      const reader = new ErrorStreamReader();
      const origin = String(node.connector.args.source);
      this.errorStreams.set(origin, [...(this.errorStreams.get(origin) ?? []), reader]);
      return reader;
    }
    const resume = this.opts.checkpoint?.resumeOf(node.id, partition);
    const connector = SOURCES[node.connector.type];
    if (!connector) throw new JobError(`this runtime has no source connector \`${node.connector.type}\``, node.loc);
    const stdin = this.opts.stdin;
    return connector.open(node.connector, {
      name: node.name,
      elementType: node.outputType,
      baseDir: this.baseDir,
      batchSize: this.mod.plan.config.batchSize,
      reportBad: (bad) => this.badRecord(bad),
      loc: node.loc,
      // Looked up only by a stdin source: process.stdin is a stream made on first use.
      get stdin() {
        return (stdin ?? process.stdin) as never;
      },
      signal: this.opts.signal ?? new AbortController().signal,
      ...(resume ? { resume } : {}),
      ...(this.opts.checkpoint ? { stateDir: this.opts.checkpoint.sourceStateDir(node.id, partition) } : {}),
    });
  }

  private async openSink(node: PlanNode & { kind: "sink" }, partition: number, partitions: number): Promise<SinkWriter> {
    const override = this.opts.sinkOverride?.(node, partition);
    if (override) return override;
    const connector = SINKS[node.connector.type];
    if (!connector) throw new JobError(`this runtime has no sink connector \`${node.connector.type}\``, node.loc);
    const stdout = this.opts.stdout;
    return connector.open(node.connector, {
      name: node.name ?? node.id,
      elementType: node.outputType,
      baseDir: this.baseDir,
      partition,
      partitions,
      loc: node.loc,
      // Looked up only by a stdout sink, as stdin above.
      get stdout() {
        return (stdout ?? process.stdout) as never;
      },
      ...(this.opts.attempt === undefined ? {} : { attempt: this.opts.attempt }),
      ...(this.opts.checkpoint ? { staging: this.opts.checkpoint.stagingOf(node.id, partition) } : {}),
    });
  }

  /**
   * Connects every node's outputs to its consumers' channels. Channel numbers are computed over all
   * instances, local or not, in plan order, so every process numbers them the same way.
   */
  private wire(): void {
    const channels = new Map<string, number>();
    /** Per task instance: the input (index in node.inputs) of each of its channels. */
    const inputOf = new Map<string, number[]>();
    const placement = this.placement;
    const next = (id: string, i: number): number => {
      const k = `${id}#${i}`;
      const c = channels.get(k) ?? 0;
      channels.set(k, c + 1);
      return c;
    };
    const receiver = (id: string, i: number): Receiver => this.tasks.get(id)![i] ?? placement!.remote(id, i);
    for (const node of this.mod.plan.nodes) {
      const downs = this.tasks.get(node.id)!;
      for (const input of node.inputs) {
        const ups = this.tasks.get(input.from)!;
        const p = input.partitioning;
        if (p === "forward" && ups.length !== downs.length) throw new Error(`internal: forward edge ${input.from} → ${node.id} between ${ups.length} and ${downs.length} instances`);
        const inputIndex = node.inputs.indexOf(input);
        const first = new Map(downs.map((_, d) => [d, channels.get(`${node.id}#${d}`) ?? 0]));
        const targetsOf: Target[][] = ups.map(() => []);
        if (p === "forward") ups.forEach((_, i) => targetsOf[i]!.push({ receiver: receiver(node.id, i), channel: next(node.id, i) }));
        else if (p === "gather") ups.forEach((_, k) => targetsOf[k]!.push({ receiver: receiver(node.id, 0), channel: next(node.id, 0) }));
        else downs.forEach((_, d) => ups.forEach((_, k) => targetsOf[k]!.push({ receiver: receiver(node.id, d), channel: next(node.id, d) })));
        ups.forEach((u, k) => {
          if (!u) return;
          const out = input.port === "late" ? u.operator.lateOutput : u.output;
          if (!out) throw new Error(`internal: ${input.from} has no late output for ${node.id}`);
          out.addRoute(p, targetsOf[k]!);
        });
        downs.forEach((_, d) => {
          const list = (inputOf.get(`${node.id}#${d}`) ?? []);
          for (let c = first.get(d)!; c < (channels.get(`${node.id}#${d}`) ?? 0); c++) list[c] = inputIndex;
          inputOf.set(`${node.id}#${d}`, list);
        });
      }
    }
    for (const [id, list] of this.tasks) list.forEach((t, i) => t?.operator.bindChannels?.(inputOf.get(`${id}#${i}`) ?? []));
    for (const [id, list] of this.tasks) list.forEach((t, i) => t?.openGate(channels.get(`${id}#${i}`) ?? 0));
  }

  /**
   * A chain with a FusedFoldFn (ChainNode.foldInto) runs it when the chain and its aggregate are one
   * instance each, both in this process, and nothing else reads the chain: every record the hash
   * exchange would carry goes to that one aggregate, so the two run as one loop with no batch in
   * between. The edge stays wired for the control events (watermarks, barriers, end), which follow
   * the data as before.
   */
  private fuse(): void {
    const mostEntries = this.opts.fuseMostEntries ?? FUSED_MOST_ENTRIES;
    for (const node of this.mod.plan.nodes) {
      if (node.kind !== "chain" || !node.foldInto) continue;
      const into = node.foldInto;
      // chain → aggregate, or in event time chain → watermark node → aggregate; nothing else reads either.
      const path = into.via === undefined ? [node.id, into.node] : [node.id, into.via, into.node];
      if (!path.slice(0, -1).every((id, k) => this.onlyReader(id)?.id === path[k + 1])) continue;
      const tasks = path.map((id) => this.single(id));
      if (tasks.some((t) => t === undefined)) continue;
      const chain = tasks[0]!;
      const agg = tasks[tasks.length - 1]!;
      const mark = into.via === undefined ? undefined : tasks[1]!;
      if (!(chain.operator instanceof ChainOperator) || !(agg.operator instanceof WindowAggregateOperator)) continue;
      const fn = (this.mod.functions as Record<string, unknown>)[into.fn];
      if (typeof fn !== "function") throw new JobError(`the plan module has no function ${into.fn}`);
      const generated = this.generatedFor(node, chain, into.generated);
      if (mark === undefined) {
        if (!agg.operator.fusable) continue;
        chain.operator.fuse({ fn: fn as FusedFoldFn, generated: generated?.fn as GeneratedFoldFn | undefined, aggregate: agg.operator, mostEntries, received: (n) => void (agg.recordsIn += n) });
      } else {
        if (!(mark.operator instanceof WatermarkOperator) || !agg.operator.fusableInEventTime) continue;
        const event = agg.operator.eventFoldContext(mark.operator);
        const received = (n: number) => {
          mark.recordsIn += n;
          mark.output.recordsOut += n;
          agg.recordsIn += n;
        };
        chain.operator.fuse({ fn: fn as FusedEventFoldFn, generated: generated?.fn as GeneratedEventFoldFn | undefined, event, aggregate: agg.operator, mostEntries, received });
      }
      if (generated) this.generating.set(generated.source, { task: chain, op: chain.operator });
    }
  }

  /** The one node reading `id`, if exactly one does, over its only input. */
  private onlyReader(id: string): PlanNode | undefined {
    const readers = this.mod.plan.nodes.filter((n) => n.inputs.some((i) => i.from === id));
    return readers.length === 1 && readers[0]!.inputs.length === 1 ? readers[0] : undefined;
  }

  /** The task of a node that runs as one instance, here. */
  private single(id: string): Task | undefined {
    const list = this.tasks.get(id) ?? [];
    return list.length === 1 ? (list[0] ?? undefined) : undefined;
  }

  /**
   * The fused loop's twin making the records of the generate source before the chain itself
   * (ChainNode.foldInto.generated), when that source runs here as one instance, the chain is all
   * that reads it, and its reader can hand over ranges (SourceReader.nextRange). pump() then
   * hands the chain ranges, not batches.
   */
  private generatedFor(node: ChainNode, chain: Task, name: string | undefined): { fn: Function; source: Task } | undefined {
    if (name === undefined || node.inputs.length !== 1) return undefined;
    const sourceId = node.inputs[0]!.from;
    const source = this.single(sourceId);
    if (source === undefined || this.onlyReader(sourceId)?.id !== node.id || chain.gate?.channels !== 1) return undefined;
    const reader = this.readers.find((r) => r.task === source)?.reader;
    if (!reader?.nextRange || !reader.records) return undefined;
    const fn = (this.mod.functions as Record<string, unknown>)[name];
    if (typeof fn !== "function") throw new JobError(`the plan module has no function ${name}`);
    return { fn, source };
  }

  /**
   * A job without sources of its own (a worker thread's): pending while a sink's buffer is full.
   * Takes the waits collected so far.
   */
  sinkPressure(): Promise<void> | undefined {
    if (this.pressure.length === 0) return undefined;
    const waiting = this.pressure;
    this.pressure = [];
    return Promise.all(waiting).then(
      () => {},
      () => {},
    );
  }

  /** Publishes the staged output of this attempt's local sinks (after run() resolved). */
  async commit(): Promise<void> {
    for (const s of this.sinkOps) await s.op.commit();
  }

  private cancelled = false;
  private rejectRun: (e: Error) => void = () => {};

  /**
   * Stops at once without flushing windows (a cluster worker whose tasks moved under a new epoch,
   * or a failed peer): run() rejects with a JobError carrying `reason`.
   */
  async cancel(reason: string, loc?: SourceLoc, hint?: string): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.rejectRun(new JobError(reason, loc, hint));
    // (abort() cancels the worker threads too.)
    await this.abort();
  }

  /** Runs until every source has ended and every sink has closed. */
  async run(): Promise<RunSummary> {
    const ticker = this.timedOps.length > 0 ? setInterval(() => this.tick(), 50) : null;
    const cancelled = new Promise<never>((_, reject) => (this.rejectRun = reject));
    // A cancel after the work has finished has no one to tell: not an unhandled rejection.
    cancelled.catch(() => {});
    try {
      const work = (async () => {
        await Promise.all(this.readers.map((r) => this.pump(r)));
        await Promise.all(this.localTasks().map((t) => t.finished));
        await this.threads?.done;
      })();
      work.catch(() => {});
      await Promise.race([work, cancelled, ...(this.threads ? [this.threads.failed] : [])]);
      this.threads?.release();
    } catch (e) {
      await this.abort();
      throw threadError(toJobError(e));
    } finally {
      if (ticker) clearInterval(ticker);
    }
    return this.summary();
  }

  private tick(): void {
    const now = Date.now();
    for (const op of this.timedOps) op.onProcessingTime?.(now);
  }

  private async pump(r: { task: Task; reader: SourceReader; stats: SourceStats }): Promise<void> {
    const signal = this.opts.signal;
    // The reader as the checkpoint sees it while the source waits for backpressure: idle, at the
    // position after its last batch.
    const paused: SourceReader = { next: () => r.reader.next(), close: () => r.reader.close(), idle: () => true, ...(r.reader.position ? { position: () => r.reader.position!() } : {}) };
    let turnStarted = performance.now();
    // A chain making this source's records itself takes ranges (generatedFor).
    const chain = this.generating.get(r.task);
    const records = r.reader.records?.bind(r.reader);
    try {
      for (;;) {
        // A source whose batches are ready at once (generate, a file in the page cache) would keep
        // the event loop to itself: timers (the checkpoint interval, processing-time windows) and
        // I/O (writing a checkpoint, a sink's drain) would wait until it ended or a sink pushed back.
        // While a checkpoint is being written, each of its file operations needs a turn: one per batch.
        if (this.opts.checkpoint?.writing?.() || performance.now() - turnStarted >= TURN_MS) {
          await nextTurn();
          turnStarted = performance.now();
        }
        if (signal?.aborted || this.cancelled) break;
        this.opts.checkpoint?.beforeRead(r.task, r.reader);
        const reading = chain ? r.reader.nextRange!(chain.op.rangeSize) : r.reader.next();
        this.opts.checkpoint?.reading(r.task, r.reader);
        const batch = await reading;
        this.opts.checkpoint?.reading(r.task, null);
        if (batch === undefined || this.cancelled) break;
        const count = Array.isArray(batch) ? batch.length : batch.count;
        r.stats.records += count;
        this.stats.recordsIn += count;
        r.task.recordsIn += count;
        if (Array.isArray(batch)) r.task.output.emit({ values: batch, keys: null });
        else {
          // What emit() and the chain task's input would count, then the chain's own loop.
          r.task.output.recordsOut += count;
          chain!.task.recordsIn += count;
          chain!.op.processGenerated(batch.from, count, records!);
        }
        for (;;) {
          const remote = this.placement?.pressure?.();
          if (remote) this.pressure.push(remote);
          if (this.pressure.length === 0) break;
          const waiting = this.pressure;
          this.pressure = [];
          const t0 = Date.now();
          // Held back, the source is between batches: a barrier can go out now, and does as soon as
          // a checkpoint starts (under sustained backpressure it would otherwise wait for the end).
          this.opts.checkpoint?.beforeRead(r.task, r.reader);
          this.opts.checkpoint?.reading(r.task, paused);
          await Promise.all(waiting);
          this.opts.checkpoint?.reading(r.task, null);
          this.stats.backpressuredMs += Date.now() - t0;
        }
      }
    } finally {
      await r.reader.close();
      for (const e of this.errorStreams.get(r.stats.name) ?? []) e.end();
    }
    if (this.cancelled) return;
    // A barrier due now still goes out before the end, so that downstream tasks ack it.
    this.opts.checkpoint?.beforeRead(r.task, r.reader);
    this.opts.checkpoint?.sourceEnded(r.task, r.reader);
    r.task.finish();
  }

  private async abort(): Promise<void> {
    await this.threads?.terminate();
    await Promise.allSettled(this.readers.map((r) => r.reader.close()));
    for (const t of this.localTasks()) await t.operator.abort?.().catch(() => {});
  }

  taskStats(): TaskStats[] {
    return this.localTasks().map((t) => ({
      node: t.node.id,
      kind: t.node.kind,
      partition: t.partition,
      recordsIn: t.recordsIn,
      recordsOut: t.output.recordsOut,
      watermark: t.gate?.watermark ?? -Infinity,
    }));
  }

  snapshotStats(): JobStats {
    for (const r of this.readers) {
      const p = r.reader.progress?.();
      if (p) r.stats.progress = p;
    }
    this.stats.recordsOut = this.sinkOps.reduce((n, s) => n + s.op.recordsWritten, 0);
    if (!this.threads) return this.stats;
    // With worker threads: their latest reports added to this thread's figures.
    const all = { ...this.stats, sources: [...this.stats.sources] };
    for (const w of this.threads.workerStats()) {
      all.sources.push(...w.sources);
      all.recordsIn += w.recordsIn;
      all.recordsOut += w.recordsOut;
      all.badRecords += w.badRecords;
      all.failedRecords += w.failedRecords;
      all.lateRecords += w.lateRecords;
      all.backpressuredMs += w.backpressuredMs;
    }
    return all;
  }

  private summary(): RunSummary {
    const stats = this.snapshotStats();
    const sinks = new Map<string, number>();
    for (const s of this.sinkOps) sinks.set(s.name, (sinks.get(s.name) ?? 0) + s.op.recordsWritten);
    for (const w of this.threads?.workerSummaries() ?? []) for (const s of w.sinks) sinks.set(s.name, (sinks.get(s.name) ?? 0) + s.records);
    return {
      ...stats,
      durationMs: Date.now() - stats.startedAt,
      sinks: [...sinks].map(([name, records]) => ({ name, records })),
      partitions: this.partitions,
      threads: this.threads ? this.threads.links.length : 1,
    };
  }

  private badRecord(bad: BadRecord): void {
    this.stats.badRecords++;
    this.opts.reporter?.badRecord?.(bad);
    for (const e of this.errorStreams.get(bad.source) ?? []) e.push(bad);
  }

  private recordFailed(record: unknown, error: unknown, where: string): void {
    this.stats.failedRecords++;
    const message = error instanceof Error ? error.message : String(error);
    // A call of an imported function tags what it throws with the call's `file:line:column`.
    const at = (error as { where?: unknown } | null)?.where;
    if (typeof at === "string") where = at;
    if (this.opts.failOnError ?? this.mod.plan.config.failOnError ?? false) {
      if (this.stats.failedRecords > 1) return;
      const [, file, line, column] = /^(.*?):(\d+)(?::(\d+))?$/.exec(where) ?? [];
      const loc = file ? { file, line: Number(line), column: Number(column ?? 1), endLine: Number(line), endColumn: Number(column ?? 1) } : undefined;
      void this.cancel(`a record failed at ${where}: ${message}\n    ${JSON.stringify(record) ?? String(record)}`, loc, "the job stops at the first failed record (--fail-on-error or `failOnError: true`); without it, failed records are reported and skipped");
      return;
    }
    this.opts.reporter?.recordFailed?.({ where, record, message });
  }
}

function passThrough(ctx: OperatorContext): Operator {
  return {
    process: (batch) => ctx.out.emit(batch),
    onWatermark: () => {},
    onEnd: () => {},
    snapshot: () => undefined,
    restore: () => {},
  };
}

function arrayReader(records: readonly unknown[], batchSize: number, resume?: Record<string, unknown>): SourceReader {
  let i = typeof resume?.index === "number" ? resume.index : 0;
  return {
    position: () => ({ index: i }),
    next: async () => {
      if (i >= records.length) return undefined;
      const batch = records.slice(i, i + batchSize);
      i += batch.length;
      return batch;
    },
    progress: () => ({ done: i, total: records.length, unit: "records" }),
    close: async () => {},
  };
}

/** A worker thread's failure as thread 0 throws it: a JobError if it was one there. */
function threadError(e: unknown): unknown {
  const x = e as { job?: boolean; message: string; loc?: SourceLoc; hint?: string } | null;
  if (x && !(x instanceof JobError) && x.job === true) return new JobError(x.message, x.loc, x.hint);
  return e;
}

function toJobError(e: unknown): unknown {
  if (e instanceof ConnectorError) return new JobError(e.message, e.loc, e.hint);
  return e;
}

/** How long a source pumps batches before it lets timers and I/O run (ms). */
const TURN_MS = 10;


/** Compiles nothing: runs an already-imported plan module to completion. */
export async function runPlan(mod: PlanModule, opts: RunOptions = {}): Promise<RunSummary> {
  const job = new Job(mod, opts);
  await job.open();
  return job.run();
}
