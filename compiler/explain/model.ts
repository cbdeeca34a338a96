// What `flowc explain` shows, as plain data: takes a planned program and returns its Explanation
// (stages, nodes with the source operators fused into each, exchanges with their key expression,
// state per operator, partitions, window time). Every output format renders this one object, and
// `--format json` prints it as it is: its shape is documented in docs/explain.md and versioned by
// EXPLAIN_VERSION (add fields freely; rename or remove one only with a new version).
import type * as A from "../ast.js";
import type { OpStream, Stream } from "../phases/2-check/index.js";
import type { PlannedProgram } from "../phases/3-plan/index.js";
import type { ConnectorSpec, Partitioning, PlanNode, SimpleAggregate, SourceLoc, WindowSpec } from "../../runtime/plan.js";
import { keyGroupRange } from "../../runtime/exec/keys.js";
import { typeToString, type FlowType } from "../../runtime/types.js";

export const EXPLAIN_VERSION = 1;

export interface Explanation {
  explainVersion: typeof EXPLAIN_VERSION;
  job: {
    name: string;
    sourceFile: string;
    /** Instances of every partitioned node (the config, or `--partitions`). */
    partitions: number;
    keyGroups: number;
    batchSize: number;
    checkpointIntervalMs: number | null;
  };
  /** Nodes joined by forward edges, in the order of their first node. */
  stages: ExplainStage[];
  /** In topological order: every node's inputs come before it. */
  nodes: ExplainNode[];
  edges: ExplainEdge[];
}

export interface ExplainStage {
  /** 1-based. */
  id: number;
  parallelism: "single" | "partitioned";
  instances: number;
  /** Node ids, in topological order. */
  nodes: string[];
}

/** Where a piece of the .flow file is (1-based, as in diagnostics). */
export interface ExplainLoc {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** One operator of the .flow file, as written (white space folded). */
export interface ExplainOperator {
  op: string;
  text: string;
  loc: ExplainLoc;
}

export interface ExplainNode {
  /** The plan's stable id (also the name of a chain's generated function). */
  id: string;
  kind: "source" | "chain" | "aggregate" | "watermark" | "join" | "distinct" | "sink";
  stage: number;
  label: string;
  parallelism: "single" | "partitioned";
  instances: number;
  loc: ExplainLoc;
  /** The records this node emits (a sink: the records it takes), as a .flow type. */
  outputType: string;
  /** The node emits keyed records (a chain ending in keyBy). */
  keyedOutput: boolean;
  /** The .flow operators this node runs, in order: a chain's fused steps, a window and its aggregate, a source or sink. */
  operators: ExplainOperator[];
  /** A chain of more than one operator, compiled into one generated function. */
  fused: boolean;
  /** The generated function a chain runs; null for other kinds. */
  function: string | null;
  /** Sources and sinks. */
  connector: ConnectorSpec | null;
  /** Sources: the declared name; sinks: the `as NAME`, if any. */
  name: string | null;
  window: ExplainWindow | null;
  state: ExplainState;
}

export interface ExplainWindow {
  kind: "tumbling" | "sliding" | "session";
  sizeMs: number | null;
  slideMs: number | null;
  gapMs: number | null;
  /** Event time when the stream has a watermark, processing time otherwise. */
  time: "event" | "processing";
}

export type ExplainState =
  | { kind: "none" }
  | {
      kind: "keyed";
      /** `key`: one entry per key; `key-and-window`: one per key and open window; `key-and-time`: a key's records of the last `within`. */
      scope: "key" | "key-and-window" | "key-and-time";
      keyType: string;
      /** What each entry holds, per output field. */
      accumulators: { field: string; aggregate: string; holds: string }[];
      /** A sentence for people. */
      description: string;
      /** Key groups [start, end) each instance owns, by instance index. */
      keyGroupsByInstance: [number, number][];
    };

export interface ExplainEdge {
  from: string;
  to: string;
  partitioning: Partitioning;
  /** Records cross to other instances (every partitioning but forward). */
  exchange: boolean;
  /** A hash exchange: the keyBy that decides the partition. */
  key: { text: string; type: string; loc: ExplainLoc } | null;
  /**
   * The chain `from` runs the aggregate `to` in one generated loop (ChainNode.foldInto), as it does
   * when both are one instance in one process: then no record crosses this edge. Also set on the
   * edge from a generate source to such a chain when the loop makes the source's records itself
   * (ChainNode.foldInto.generated).
   */
  fused: boolean;
}

export interface ExplainOptions {
  /** Overrides config.partitions, as `flowc run --partitions` would. */
  partitions?: number;
}

export function explain(planned: PlannedProgram, opts: ExplainOptions = {}): Explanation {
  const { plan, checked } = planned;
  const file = checked.file;
  const partitions = opts.partitions ?? plan.config.partitions;
  const instancesOf = (n: PlanNode) => (n.parallelism === "single" ? 1 : partitions);
  const fold = (span: A.Span) => file.text.slice(span.start, span.end).replace(/\s+/g, " ").trim();
  const locOf = (span: A.Span): ExplainLoc => {
    const a = file.position(span.start);
    const b = file.position(span.end);
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };
  const opOf = (op: string, call: A.CallExpr): ExplainOperator => ({ op, text: fold(call.span), loc: locOf(call.span) });

  // The checked graph's operators by where their step ends: how an aggregate or sink node finds
  // the .flow operators it was planned from.
  const stepsByEnd = new Map<number, OpStream>();
  const joinsByEnd = new Map<number, A.OperatorStep>();
  const seen = new Set<Stream>();
  const walk = (s: Stream): void => {
    if (seen.has(s)) return;
    seen.add(s);
    if (s.kind === "op") {
      stepsByEnd.set(s.step.span.end, s);
      walk(s.input);
    } else if (s.kind === "union") s.inputs.forEach(walk);
    else if (s.kind === "join") {
      joinsByEnd.set(s.step.span.end, s.step);
      s.inputs.forEach(walk);
    } else if (s.kind === "late" && s.windowStream) walk(s.windowStream);
  };
  for (const s of checked.sinks) walk(s.input);
  const endOffset = (l: SourceLoc) => file.offset(l.endLine, l.endColumn);
  const chains = new Map(planned.functions.flatMap((f) => (f.kind === "chain" ? [[f.name, f] as const] : [])));

  const stages = stagesOf(plan.nodes);
  const stageOf = new Map(stages.flatMap((s, i) => s.map((n) => [n.id, i + 1] as const)));
  const byId = new Map(plan.nodes.map((n) => [n.id, n]));

  const keyOf = (n: PlanNode): ExplainEdge["key"] => {
    // A watermark after a keyed chain that computes its timestamps passes the chain's keys on.
    if (n.kind === "watermark" && n.fn === undefined && n.keyed) {
      const chain = byId.get(n.inputs[0]?.from ?? "");
      return chain ? keyOf(chain) : null;
    }
    if (n.kind !== "chain") return null;
    const last = chains.get(n.fn)?.steps.at(-1);
    if (!last || last.op !== "keyBy" || !last.lambda) return null;
    return { text: fold(last.lambda.span), type: typeToString(last.keyType ?? { kind: "unknown" }), loc: locOf(last.lambda.span) };
  };

  const nodes = plan.nodes.map((n): ExplainNode => {
    const base = {
      id: n.id,
      kind: n.kind,
      stage: stageOf.get(n.id)!,
      label: n.label,
      parallelism: n.parallelism,
      instances: instancesOf(n),
      loc: { line: n.loc.line, column: n.loc.column, endLine: n.loc.endLine, endColumn: n.loc.endColumn },
      outputType: typeToString(n.outputType),
      keyedOutput: n.keyed,
      operators: [] as ExplainOperator[],
      fused: false,
      function: null,
      connector: null,
      name: null,
      window: null,
      state: { kind: "none" } as ExplainState,
    };
    switch (n.kind) {
      case "source": {
        const decl = checked.sources.get(n.name)?.decl;
        return { ...base, operators: decl ? [{ op: "source", text: fold(decl.span), loc: locOf(decl.span) }] : [], connector: n.connector, name: n.name };
      }
      case "sink": {
        const sink = checked.sinks.find((s) => s.step.span.end === endOffset(n.loc));
        const operators = sink ? [{ op: "sink", text: fold({ start: sink.step.connector.span.start, end: sink.step.span.end }), loc: locOf(sink.step.span) }] : [];
        return { ...base, operators, connector: n.connector, name: n.name };
      }
      case "chain": {
        const steps = chains.get(n.fn)?.steps ?? [];
        return { ...base, operators: steps.map((s) => opOf(s.op, s.step.call)), fused: steps.length > 1, function: n.fn };
      }
      case "aggregate": {
        const agg = stepsByEnd.get(endOffset(n.loc));
        const win = agg?.input.kind === "op" && agg.input.op === "window" ? agg.input : null;
        const operators = [...(win ? [opOf("window", win.step.call)] : []), ...(agg ? [opOf(agg.step.call.callee.name, agg.step.call)] : [])];
        const keyType = n.outputType.kind === "record" ? n.outputType.fields.find((f) => f.name === "key")?.type : undefined;
        return { ...base, operators, window: n.window && windowOf(n.window), state: aggregateState(n, keyType, partitions, plan.config.keyGroups) };
      }
      case "watermark": {
        const step = stepsByEnd.get(endOffset(n.loc));
        return { ...base, operators: step ? [opOf("watermark", step.step.call)] : [] };
      }
      case "join":
      case "distinct": {
        const step = n.kind === "join" ? joinsByEnd.get(endOffset(n.loc)) : stepsByEnd.get(endOffset(n.loc))?.step;
        const instances = instancesOf(n);
        const description =
          n.kind === "join"
            ? `per key: each side's records of the last ${n.withinMs} ms (${n.time} time), matched against the other side's and dropped as time passes`
            : `per key: when it was last let through, for ${n.withinMs} ms (${n.time} time)`;
        return {
          ...base,
          operators: step ? [opOf(n.kind, step.call)] : [],
          state: { kind: "keyed", scope: n.kind === "join" ? "key-and-time" : "key", keyType: "key", accumulators: [], description, keyGroupsByInstance: Array.from({ length: instances }, (_, p) => keyGroupRange(p, instances, plan.config.keyGroups)) },
        };
      }
    }
  });

  const edges = plan.nodes.flatMap((n) =>
    n.inputs.map((i): ExplainEdge => {
      const from = byId.get(i.from)!;
      // The chain before (or, in event time, before the watermark node before) runs `n` in its loop.
      const chain = from.kind === "chain" ? from : plan.nodes.find((c) => c.kind === "chain" && c.foldInto?.via === from.id);
      const fusedWith = (c: PlanNode | undefined, agg: string | undefined) => c?.kind === "chain" && c.foldInto?.node === agg && instancesOf(c) === 1 && instancesOf(byId.get(agg!)!) === 1;
      // Or `n` is such a chain and makes the records of the generate source before it itself.
      const fused = fusedWith(chain, n.id) || (from.kind === "source" && n.kind === "chain" && n.foldInto?.generated !== undefined && fusedWith(n, n.foldInto.node) && plan.nodes.filter((r) => r.inputs.some((x) => x.from === from.id)).length === 1);
      return { from: i.from, to: n.id, partitioning: i.partitioning, exchange: i.partitioning !== "forward", key: i.partitioning === "hash" ? keyOf(from) : null, fused };
    }),
  );

  return {
    explainVersion: EXPLAIN_VERSION,
    job: {
      name: plan.name,
      sourceFile: plan.sourceFile,
      partitions,
      keyGroups: plan.config.keyGroups,
      batchSize: plan.config.batchSize,
      checkpointIntervalMs: plan.config.checkpointIntervalMs,
    },
    stages: stages.map((s, i) => ({ id: i + 1, parallelism: s[0]!.parallelism, instances: instancesOf(s[0]!), nodes: s.map((n) => n.id) })),
    nodes,
    edges,
  };
}

/**
 * Nodes grouped into stages: the connected parts of the graph when only forward edges count. Every
 * other partitioning moves records between instances, so it is a stage boundary.
 */
export function stagesOf(nodes: readonly PlanNode[]): PlanNode[][] {
  const parent = new Map(nodes.map((n) => [n.id, n.id]));
  const root = (id: string): string => {
    let r = id;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(id, r);
    return r;
  };
  for (const n of nodes) for (const i of n.inputs) if (i.partitioning === "forward") parent.set(root(n.id), root(i.from));
  const groups = new Map<string, PlanNode[]>();
  for (const n of nodes) {
    const r = root(n.id);
    const g = groups.get(r);
    if (g) g.push(n);
    else groups.set(r, [n]);
  }
  return [...groups.values()];
}

function windowOf(w: WindowSpec): ExplainWindow {
  return {
    kind: w.kind,
    sizeMs: w.kind === "session" ? null : w.sizeMs,
    slideMs: w.kind === "sliding" ? w.slideMs : null,
    gapMs: w.kind === "session" ? w.gapMs : null,
    time: w.time,
  };
}

/** What one accumulator keeps between records (runtime/operators/accumulators.ts). */
const HOLDS: Record<SimpleAggregate["kind"], string> = {
  count: "a count",
  sum: "a running sum",
  min: "the smallest value so far",
  max: "the largest value so far",
  avg: "a sum and a count",
  reduce: "the value reduced so far",
};

function aggregateState(n: PlanNode & { kind: "aggregate" }, keyType: FlowType | undefined, partitions: number, keyGroups: number): ExplainState {
  const spec = n.aggregate;
  const accumulators =
    spec.kind === "multi"
      ? spec.fields.map((f) => ({ field: f.name, aggregate: f.aggregate.kind, holds: HOLDS[f.aggregate.kind] }))
      : [{ field: spec.kind === "reduce" ? "value" : spec.kind, aggregate: spec.kind, holds: HOLDS[spec.kind] }];
  const what = accumulators.length === 1 ? accumulators[0]!.holds : accumulators.map((a) => `${a.field} = ${a.holds}`).join(", ");
  const w = n.window;
  const scope = w ? "key-and-window" : "key";
  const per = !w ? "per key" : w.kind === "sliding" ? `per key and window (up to ${Math.ceil(w.sizeMs / w.slideMs)} overlapping windows)` : w.kind === "session" ? "per key and session" : "per key and window";
  const description = `${per}: ${what}${w ? "; records are folded in as they arrive, not buffered" : ""}`;
  const instances = n.parallelism === "single" ? 1 : partitions;
  return {
    kind: "keyed",
    scope,
    keyType: typeToString(keyType ?? { kind: "unknown" }),
    accumulators,
    description,
    keyGroupsByInstance: Array.from({ length: instances }, (_, p) => keyGroupRange(p, instances, keyGroups)),
  };
}
