// Phase 3, plan: takes the checked program and returns the execution plan (plain data: nodes,
// edges with their partitioning, config) plus the specifications of the functions phase 4 must
// generate. Consecutive stateless operators fuse into one chain; keyBy ends a chain and puts a hash
// exchange before what follows; a window travels into the aggregate after it. A join or distinct
// gets a keying chain per input (the join's `on:` sides, distinct's key) and a hash exchange.
import { createHash } from "node:crypto";
import type * as A from "../../ast.js";
import type { CheckedProgram, JoinStream, LateStream, LogicalAggregate, OpStream, Sink, Stream } from "../2-check/index.js";
import { hasEventTime } from "../2-check/windows.js";
import { PLAN_VERSION, type AggregateSpec, type ExecutionPlan, type Partitioning, type PlanInput, type PlanNode, type SimpleAggregate, type SourceLoc, type WindowSpec } from "../../../runtime/plan.js";
import { recordExpression } from "../../../runtime/connectors/generate.js";
import type { FlowType } from "../../../runtime/types.js";

/** What phase 4 generates for the plan's function names. */
export type FunctionSpec =
  | { kind: "chain"; name: string; inputType: FlowType; outputType: FlowType; keyed: boolean; steps: OpStream[] }
  | { kind: "value"; name: string; inputType: FlowType; lambda: A.LambdaExpr; step: A.OperatorStep | A.CallExpr }
  | { kind: "reduce"; name: string; type: FlowType; lambda: A.LambdaExpr; step: A.OperatorStep | A.CallExpr }
  /** An aggregate's accumulator code for its input and key types (runtime/plan.ts FoldFn). */
  | { kind: "fold"; name: string; inputType: FlowType; keyType: FlowType; aggregate: AggregateSpec; step: A.OperatorStep }
  /** A chain and the fold of the aggregate it feeds in one loop (runtime/plan.ts FusedFoldFn). */
  | {
      kind: "fusedFold";
      name: string;
      chain: FunctionSpec & { kind: "chain" };
      fold: FunctionSpec & { kind: "fold" };
      /** Event time (runtime/plan.ts FusedEventFoldFn): the window's size and the watermark's delay. */
      event?: { sizeMs: number; delayMs: number };
      /**
       * The chain reads a generate source: the loop's twin that makes the records itself
       * (runtime/plan.ts GeneratedFoldFn), named `name` and making record n by `record`.
       */
      generated?: { name: string; record: (n: string) => string };
    };

export interface PlannedProgram {
  checked: CheckedProgram;
  plan: ExecutionPlan;
  functions: FunctionSpec[];
}

/** A physical node's output as seen by its consumers. */
interface Upstream {
  id: string;
  keyed: boolean;
  parallelism: "single" | "partitioned";
  /** Set for the late elements of a window (the aggregate's side output). */
  port?: "late";
}

/** Sinks that can be written by every partition at once; the others get one instance. */
const PARTITIONED_SINKS = new Set(["file"]);

export function plan(checked: CheckedProgram): PlannedProgram {
  return new Planner(checked).run();
}

class Planner {
  private readonly nodes: PlanNode[] = [];
  private readonly functions: FunctionSpec[] = [];
  private readonly memo = new Map<Stream, Upstream[]>();
  private readonly consumers = new Map<Stream, number>();
  private readonly ids = new Set<string>();

  constructor(private readonly checked: CheckedProgram) {}

  run(): PlannedProgram {
    for (const s of this.checked.sinks) this.countConsumers(s.input);
    for (const s of this.checked.sinks) this.sink(s);
    const plan: ExecutionPlan = {
      version: PLAN_VERSION,
      name: this.checked.name,
      sourceFile: this.checked.file.path,
      sourceDir: ".",
      config: { ...this.checked.config },
      nodes: this.nodes,
    };
    return { checked: this.checked, plan, functions: this.functions };
  }

  private countConsumers(s: Stream): void {
    const n = this.consumers.get(s) ?? 0;
    this.consumers.set(s, n + 1);
    if (n > 0) return;
    if (s.kind === "op") this.countConsumers(s.input);
    else if (s.kind === "union" || s.kind === "join") for (const i of s.inputs) this.countConsumers(i);
    else if (s.kind === "late" && s.windowStream?.aggregateAfter) this.countConsumers(s.windowStream.aggregateAfter);
  }

  private upstreams(s: Stream): Upstream[] {
    const known = this.memo.get(s);
    if (known) return known;
    const ups = this.build(s);
    this.memo.set(s, ups);
    return ups;
  }

  private build(s: Stream): Upstream[] {
    if (s.kind === "source") {
      const id = this.id("source", s.name, `source:${s.name}`);
      const c = s.connector;
      this.nodes.push({
        kind: "source",
        id,
        name: s.name,
        connector: c,
        label: `${s.name}: ${c.type}(${Object.values(c.args).map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", ")})`,
        parallelism: "single",
        inputs: [],
        loc: this.loc(s.decl.span),
        outputType: s.type,
        keyed: false,
      });
      return [{ id, keyed: false, parallelism: "single" }];
    }
    if (s.kind === "union") return s.inputs.flatMap((i) => this.upstreams(i));
    if (s.kind === "join") return [this.join(s)];
    if (s.kind === "late") return [this.late(s)];
    switch (s.op) {
      case "window":
        // Consumed by the aggregate that follows; it has no node of its own.
        return this.upstreams(s.input);
      case "aggregate":
        return [this.aggregate(s)];
      case "watermark":
        return [this.watermark(s)];
      case "distinct":
        return [this.distinct(s)];
      default:
        return [this.chain(s)];
    }
  }

  /**
   * A chain ending at `last`, reaching back over stateless operators no one else consumes, and over
   * one watermark between such operators: its timestamps are then computed in the chain (the step
   * `watermark`), and a watermark node after the chain only tracks them and emits the watermarks.
   * The stateless operators after it (a keyBy, say) then run before the watermark node rather than
   * after it, in the same instances, on the same records in the same order, so nothing downstream
   * can tell; what is saved is a pass over every batch and its copy.
   */
  private chain(last: OpStream): Upstream {
    const steps: OpStream[] = [last];
    let cur = last.input;
    let stamp: OpStream | null = null;
    for (;;) {
      if (cur.kind === "op" && this.fusable(cur)) {
        steps.unshift(cur);
        cur = cur.input;
      } else if (!stamp && cur.kind === "op" && this.stampable(cur)) {
        stamp = cur;
        steps.unshift(cur);
        cur = cur.input;
      } else break;
    }
    return this.chainNode(steps, cur, stamp);
  }

  /** A stateless operator (not keyBy) with one consumer: part of the chain after it. */
  private fusable(s: Stream): boolean {
    return s.kind === "op" && isStateless(s) && s.op !== "keyBy" && this.consumers.get(s) === 1;
  }

  /**
   * A watermark whose timestamps a chain can compute: unkeyed, one consumer, after an operator
   * the chain takes too (so the watermark had one instance per partition of that chain anyway).
   */
  private stampable(s: OpStream): boolean {
    return s.op === "watermark" && s.keyType === null && this.consumers.get(s) === 1 && s.input.kind === "op" && this.fusable(s.input);
  }

  private chainNode(steps: OpStream[], cur: Stream, stamp: OpStream | null): Upstream {
    const last = steps[steps.length - 1]!;
    const ups = this.upstreams(cur);
    const keyed = last.op === "keyBy";
    const id = this.id("chain", steps.map((x) => x.op).join("_"), this.describe(last));
    const first = steps[0]!;
    this.nodes.push({
      kind: "chain",
      id,
      fn: id,
      steps: steps.map((x) => ({ op: x.op, loc: this.loc(x.step.span) })),
      label: steps.map((x) => x.op).join(" → "),
      parallelism: "partitioned",
      inputs: ups.map((u) => input(u, "partitioned")),
      loc: this.loc({ start: first.step.span.start, end: last.step.span.end }),
      outputType: last.type,
      keyed,
    });
    this.functions.push({ kind: "chain", name: id, inputType: cur.type, outputType: last.type, keyed, steps });
    if (!stamp) return { id, keyed, parallelism: "partitioned" };
    // The records come stamped: the watermark node has no function, and its input is the chain's
    // own instance (forward, even when the chain ends in keyBy; the exchange comes after it).
    const wid = this.id("watermark", "watermark", this.describe(stamp));
    this.nodes.push({
      kind: "watermark",
      id: wid,
      delayMs: stamp.durationMs!,
      label: this.text(stamp.step.call.span),
      parallelism: "partitioned",
      inputs: [{ from: id, partitioning: "forward" }],
      loc: this.loc(stamp.step.span),
      outputType: last.type,
      keyed,
    });
    return { id: wid, keyed, parallelism: "partitioned" };
  }

  private aggregate(s: OpStream): Upstream {
    const windowStep = s.input.kind === "op" && s.input.op === "window" ? s.input : null;
    const window: WindowSpec | null = windowStep?.window ?? null;
    const keyedInput = windowStep ? windowStep.input : s.input;
    const ups = this.upstreams(keyedInput);
    const id = this.id("aggregate", s.step.call.callee.name, this.describe(s));
    const agg = s.aggregate!;
    const spec: AggregateSpec =
      agg.kind === "multi"
        ? { kind: "multi", fields: agg.fields.map((f) => ({ name: f.name, aggregate: this.simple(f.aggregate, `${id}_${f.name}`, keyedInput.type, s.step) })) }
        : this.simple(agg, id, keyedInput.type, s.step);
    const callText = (c: A.CallExpr) => this.text(c.span);
    // Tumbling and sliding windows run generated accumulator code; sessions merge windows, and an
    // aggregate without a window emits per record: both keep the runtime's generic accumulators.
    const fold = window && window.kind !== "session" ? `${id}_fold` : undefined;
    if (fold) {
      const foldFn: FunctionSpec & { kind: "fold" } = { kind: "fold", name: fold, inputType: keyedInput.type, keyType: keyedInput.keyType ?? { kind: "unknown" }, aggregate: spec, step: s.step };
      this.functions.push(foldFn);
      this.fuseInto(id, foldFn, window!, windowStep!, keyedInput, ups);
    }
    this.nodes.push({
      kind: "aggregate",
      id,
      aggregate: spec,
      window,
      ...(fold ? { fold, entry: `${id}_entry` } : {}),
      label: windowStep ? `${callText(windowStep.step.call)} → ${callText(s.step.call)}` : callText(s.step.call),
      parallelism: "partitioned",
      inputs: ups.map((u) => input(u, "partitioned")),
      loc: this.loc(windowStep ? { start: windowStep.step.span.start, end: s.step.span.end } : s.step.span),
      outputType: s.type,
      keyed: false,
      // Only when someone reads them; otherwise late elements are counted and dropped.
      ...(windowStep?.late && this.consumers.has(windowStep.late) ? { lateStream: windowStep.late.name } : {}),
    });
    return { id, keyed: false, parallelism: "partitioned" };
  }

  /**
   * A chain whose every record goes to this aggregate (it ends in the keyBy the window takes, and
   * nothing else reads it) also gets a function running it and the aggregate's fold in one loop.
   * Only for tumbling windows: in processing time all records of a batch go to one window and none
   * is late; in event time the chain computes the timestamps (its `watermark` step), and the loop
   * also does the work of the watermark node after it.
   */
  private fuseInto(aggregateId: string, fold: FunctionSpec & { kind: "fold" }, window: WindowSpec, windowStep: OpStream, keyedInput: Stream, ups: Upstream[]): void {
    if (window.kind !== "tumbling" || ups.length !== 1 || ups[0]!.port !== undefined) return;
    if (this.consumers.get(keyedInput) !== 1 || this.consumers.get(windowStep) !== 1) return;
    let up = this.nodes.find((n) => n.id === ups[0]!.id);
    let via: (PlanNode & { kind: "watermark" }) | undefined;
    if (window.time === "event") {
      // The watermark node a stamping chain puts after itself: no function, the chain its only input.
      if (up?.kind !== "watermark" || up.fn !== undefined || up.inputs.length !== 1) return;
      via = up;
      up = this.nodes.find((n) => n.id === via!.inputs[0]!.from);
    }
    const chain = up;
    const chainFn = this.functions.find((f) => f.kind === "chain" && f.name === chain?.id);
    if (chain?.kind !== "chain" || chainFn?.kind !== "chain" || !chainFn.keyed) return;
    const name = `${fold.name}_fused`;
    const generated = this.generated(chain, `${fold.name}_generated`);
    this.functions.push({ kind: "fusedFold", name, chain: chainFn, fold, ...(via ? { event: { sizeMs: window.sizeMs, delayMs: via.delayMs } } : {}), ...(generated ? { generated } : {}) });
    chain.foldInto = { node: aggregateId, fn: name, ...(via ? { via: via.id } : {}), ...(generated ? { generated: generated.name } : {}) };
  }

  /** A chain reading only a `generate` source whose records draw nothing from its PRNG: how to make its record n in code. */
  private generated(chain: PlanNode, name: string): { name: string; record: (n: string) => string } | undefined {
    if (chain.inputs.length !== 1) return undefined;
    const source = this.nodes.find((n) => n.id === chain.inputs[0]!.from);
    if (source?.kind !== "source" || source.connector.type !== "generate") return undefined;
    const type = source.outputType;
    if (recordExpression(type, "n") === undefined) return undefined;
    return { name, record: (n) => recordExpression(type, n)! };
  }

  /** The late elements of a window: the side output of the aggregate after it. */
  private late(s: LateStream): Upstream {
    const agg = s.windowStream?.aggregateAfter;
    if (!agg) throw new Error(`internal: the late elements ${s.name} have no window aggregate`);
    const [up] = this.upstreams(agg);
    return { ...up!, port: "late" };
  }

  private watermark(s: OpStream): Upstream {
    // After a chain (to a join, a union, a sink): the chain computes the timestamps.
    if (this.stampable(s)) {
      const steps: OpStream[] = [s];
      let cur = s.input;
      while (cur.kind === "op" && this.fusable(cur)) {
        steps.unshift(cur);
        cur = cur.input;
      }
      return this.chainNode(steps, cur, s);
    }
    const ups = this.upstreams(s.input);
    // One watermark instance per upstream partition: a single source gets one, so no instance
    // waits for records that a rebalance never sends it.
    const parallelism = ups.every((u) => u.parallelism === "single") ? "single" : "partitioned";
    const id = this.id("watermark", "watermark", this.describe(s));
    const fn = `${id}_time`;
    this.functions.push({ kind: "value", name: fn, inputType: s.input.type, lambda: s.lambda!, step: s.step });
    this.nodes.push({
      kind: "watermark",
      id,
      fn,
      delayMs: s.durationMs!,
      label: this.text(s.step.call.span),
      parallelism,
      inputs: ups.map((u) => input(u, parallelism)),
      loc: this.loc(s.step.span),
      outputType: s.type,
      keyed: s.keyType !== null,
    });
    return { id, keyed: s.keyType !== null, parallelism };
  }

  /** A chain of one keyBy over `from`, for the inputs of joins and distinct. */
  private keyChain(from: Stream, lambda: A.LambdaExpr, owner: OpStream | JoinStream, side: string): Upstream {
    const ups = this.upstreams(from);
    const id = this.id("chain", "keyBy", `${this.describe(from)} |> ${side} key of ${this.text(owner.step.call.span)}`);
    const keyType = this.checked.types.get(lambda.body) ?? { kind: "unknown" };
    const step: OpStream = { kind: "op", op: "keyBy", input: from, step: owner.step, span: lambda.span, lambda, type: from.type, keyType, window: null };
    this.nodes.push({
      kind: "chain",
      id,
      fn: id,
      steps: [{ op: "keyBy", loc: this.loc(lambda.span) }],
      label: `keyBy ${this.text(lambda.span)}`,
      parallelism: "partitioned",
      inputs: ups.map((u) => input(u, "partitioned")),
      loc: this.loc(lambda.span),
      outputType: from.type,
      keyed: true,
    });
    this.functions.push({ kind: "chain", name: id, inputType: from.type, outputType: from.type, keyed: true, steps: [step] });
    return { id, keyed: true, parallelism: "partitioned" };
  }

  private distinct(s: OpStream): Upstream {
    const keyed = this.keyChain(s.input, s.lambda!, s, "distinct");
    const id = this.id("distinct", "distinct", this.describe(s));
    this.nodes.push({
      kind: "distinct",
      id,
      withinMs: s.durationMs!,
      time: hasEventTime(s.input) ? "event" : "processing",
      label: this.text(s.step.call.span),
      parallelism: "partitioned",
      inputs: [input(keyed, "partitioned")],
      loc: this.loc(s.step.span),
      outputType: s.type,
      keyed: false,
    });
    return { id, keyed: false, parallelism: "partitioned" };
  }

  private join(s: JoinStream): Upstream {
    const left = this.keyChain(s.inputs[0], s.leftKey, s, "left");
    const right = this.keyChain(s.inputs[1], s.rightKey, s, "right");
    const id = this.id("join", "join", this.describe(s));
    this.nodes.push({
      kind: "join",
      id,
      withinMs: s.withinMs,
      time: s.time,
      label: this.text(s.step.call.span),
      parallelism: "partitioned",
      inputs: [input(left, "partitioned"), input(right, "partitioned")],
      loc: this.loc(s.step.span),
      outputType: s.type,
      keyed: false,
    });
    return { id, keyed: false, parallelism: "partitioned" };
  }

  private simple(a: LogicalAggregate, fnName: string, inputType: FlowType, step: A.OperatorStep): SimpleAggregate {
    switch (a.kind) {
      case "count":
        return { kind: "count" };
      case "reduce":
        this.functions.push({ kind: "reduce", name: `${fnName}_reduce`, type: inputType, lambda: a.lambda, step });
        return { kind: "reduce", fn: `${fnName}_reduce` };
      default:
        this.functions.push({ kind: "value", name: `${fnName}_${a.kind}`, inputType, lambda: a.lambda, step });
        return { kind: a.kind, fn: `${fnName}_${a.kind}` };
    }
  }

  private sink(s: Sink): void {
    const ups = this.upstreams(s.input);
    const parallelism = PARTITIONED_SINKS.has(s.connector.type) ? "partitioned" : "single";
    const c = s.connector;
    const id = this.id("sink", s.name ?? c.type, `${this.describe(s.input)} |> ${this.text(s.step.span)}`);
    this.nodes.push({
      kind: "sink",
      id,
      name: s.name,
      connector: c,
      label: `${c.type}(${Object.values(c.args).map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", ")})${s.name ? ` as ${s.name}` : ""}`,
      parallelism,
      inputs: ups.map((u) => input(u, parallelism)),
      loc: this.loc(s.step.span),
      outputType: s.type,
      keyed: false,
    });
  }

  // ------------------------------------------------------------ stable ids and locations

  /**
   * A node's id comes from what it computes (its upstream description and its own source text,
   * white space folded), not from where it stands in the file: editing other pipelines, comments or
   * line breaks keeps it, so state stored under it can be restored into a changed job.
   */
  private id(kind: string, what: string, description: string): string {
    const hash = createHash("sha256").update(description).digest("hex").slice(0, 6);
    const base = `${kind}_${what.replace(/[^A-Za-z0-9_]/g, "_")}_${hash}`;
    let id = base;
    for (let i = 2; this.ids.has(id); i++) id = `${base}_${i}`;
    this.ids.add(id);
    return id;
  }

  private describe(s: Stream): string {
    switch (s.kind) {
      case "source":
        return `source:${s.name}`;
      case "union":
        return `(${s.inputs.map((i) => this.describe(i)).join(" ++ ")})`;
      case "op":
        return `${this.describe(s.input)} |> ${this.text(s.step.call.span)}`;
      case "join":
        return `${this.describe(s.inputs[0])} |> join(${this.describe(s.inputs[1])}, ${this.text(s.step.call.span)})`;
      case "late":
        return `late:${s.name}`;
    }
  }

  private text(span: A.Span): string {
    return this.checked.file.text.slice(span.start, span.end).replace(/\s+/g, " ").trim();
  }

  private loc(span: A.Span): SourceLoc {
    const f = this.checked.file;
    const a = f.position(span.start);
    const b = f.position(span.end);
    return { file: f.path, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}

function isStateless(s: OpStream): boolean {
  return s.op === "map" || s.op === "flatMap" || s.op === "filter" || s.op === "keyBy";
}

function input(up: Upstream, down: "single" | "partitioned"): PlanInput {
  return up.port ? { from: up.id, partitioning: partitioning(up, down), port: up.port } : { from: up.id, partitioning: partitioning(up, down) };
}

function partitioning(up: Upstream, down: "single" | "partitioned"): Partitioning {
  if (down === "single") return up.parallelism === "single" ? "forward" : "gather";
  if (up.keyed) return "hash";
  return up.parallelism === "single" ? "rebalance" : "forward";
}
