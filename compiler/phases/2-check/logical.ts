// The checked program: every expression's type, and the program's streams as a logical dataflow
// graph (sources, operator applications, unions, sinks) that phase 3 turns into an execution plan.
import type * as A from "../../ast.js";
import type { SourceFile } from "../../source.js";
import type { ConnectorSpec, ConstValue, PlanConfig, WindowSpec } from "../../../runtime/plan.js";
import type { FlowType } from "../../../runtime/types.js";
import type { Udf } from "./udfs.js";

interface StreamBase {
  /** Type of the stream's elements. */
  type: FlowType;
  /** Set when the stream is keyed (after keyBy): the key's type. */
  keyType: FlowType | null;
  /** Set between `window(...)` and the aggregate that must follow it. */
  window: WindowSpec | null;
  span: A.Span;
}

export interface SourceStream extends StreamBase {
  kind: "source";
  name: string;
  decl: A.SourceDecl;
  connector: ConnectorSpec;
}

export type LogicalAggregate =
  | { kind: "count" }
  | { kind: "sum" | "min" | "max" | "avg"; lambda: A.LambdaExpr }
  | { kind: "reduce"; lambda: A.LambdaExpr };

export interface OpStream extends StreamBase {
  kind: "op";
  op: "map" | "flatMap" | "filter" | "keyBy" | "window" | "aggregate" | "watermark" | "distinct";
  input: Stream;
  step: A.OperatorStep;
  /** map, flatMap, filter, keyBy; watermark (the timestamp), distinct (the key). */
  lambda?: A.LambdaExpr;
  /** watermark: `delay:`; distinct: `within:` (milliseconds). */
  durationMs?: number;
  /** window: `late: NAME`, the stream of its late elements. */
  late?: LateStream;
  /** window: the aggregate that follows it (set when that aggregate is checked). */
  aggregateAfter?: OpStream;
  /** aggregate: one simple aggregate, or named ones (`aggregate({...})`). */
  aggregate?: LogicalAggregate | { kind: "multi"; fields: { name: string; aggregate: LogicalAggregate }[] };
}

export interface UnionStream extends StreamBase {
  kind: "union";
  inputs: Stream[];
  step: A.OperatorStep;
}

/** `join(other, on: (a, b) => ka == kb, within: d)`: the `on:` equality split into one key per side. */
export interface JoinStream extends StreamBase {
  kind: "join";
  /** [left, right] */
  inputs: [Stream, Stream];
  step: A.OperatorStep;
  leftKey: A.LambdaExpr;
  rightKey: A.LambdaExpr;
  withinMs: number;
  time: WindowSpec["time"];
}

/** The late elements of a window with `late: NAME`, usable by that name like a stream. */
export interface LateStream extends StreamBase {
  kind: "late";
  name: string;
  /** Where it was declared: the value of `late:`. */
  ident: A.Ident;
  /** The `window(...)` step's stream; null until that window is checked. */
  windowStream: OpStream | null;
}

export type Stream = SourceStream | OpStream | UnionStream | JoinStream | LateStream;

export interface Sink {
  input: Stream;
  step: A.SinkStep;
  connector: ConnectorSpec;
  /** `as NAME`. */
  name: string | null;
  type: FlowType;
}

export interface ConstantInfo {
  decl: A.ConstDecl;
  value: ConstValue;
  type: FlowType;
}

export interface CheckedProgram {
  file: SourceFile;
  program: A.Program;
  /** The job's name: `pipeline NAME` or the file's base name. */
  name: string;
  config: PlanConfig;
  /** Type of every expression that was checked. */
  types: Map<A.Expr, FlowType>;
  /** Type of every lambda parameter. */
  paramTypes: Map<A.Ident, FlowType>;
  constants: Map<string, ConstantInfo>;
  namedTypes: Map<string, FlowType>;
  sources: Map<string, SourceStream>;
  /** `stream NAME = ...` */
  streams: Map<string, Stream>;
  sinks: Sink[];
  /** Constant values of string arguments that must be constant (regular expressions). */
  constStrings: Map<A.Expr, string>;
  /** Imported functions whose import checked, by name. */
  udfs: Map<string, Udf>;
  /** The stream each operator step produces (for the editor: hover shows it, and the plan node it became). */
  steps: Map<A.OperatorStep, Stream>;
}
