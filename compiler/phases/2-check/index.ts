// Phase 2, check: takes the AST of a file and returns the checked program (every expression's
// type, the streams as a logical graph, config, constants) plus every name, type and graph error
// it finds, all in one run. Never throws for a user's mistake.
import { basename, extname } from "node:path";
import type * as A from "../../ast.js";
import { diagnostic, type Diagnostic, type DiagnosticOptions, type Label } from "../../diagnostics/diagnostic.js";
import type { Code } from "../../diagnostics/codes.js";
import { AGGREGATES, CONFIG_KEYS, OPERATOR_MAP, OPERATORS, WINDOW_KINDS } from "../../operators.js";
import { BUILTIN_MAP } from "../../builtins.js";
import type { SourceFile } from "../../source.js";
import { suggest } from "../../util/suggest.js";
import { CONNECTORS, findConnector } from "../../../runtime/connectors/catalog.js";
import { MAX_BATCH, type ConnectorSpec, type ConstValue, type PlanConfig, type WindowSpec } from "../../../runtime/plan.js";
import { T, typeToString, type FlowType, type RecordField } from "../../../runtime/types.js";
import { evalConst } from "./constants.js";
import { ExprChecker, Scope, type Binding } from "./expressions.js";
import type { CheckedProgram, ConstantInfo, LateStream, LogicalAggregate, OpStream, Sink, SourceStream, Stream } from "./logical.js";
import { assignable, isKeyable } from "./types.js";
import { collectLateNames, hasEventTime, type LateDecl } from "./windows.js";
import { splitJoinCondition } from "./join.js";
import { loadImport, resolveImport } from "./udfs.js";
import { findMismatch } from "./mismatch.js";
import { ERROR_RECORD, errorsArg, withoutErrorsArg } from "./error-streams.js";
import { ERRORS_CONNECTOR } from "../../../runtime/exec/error-streams.js";

export type { CheckedProgram, Stream, Sink, SourceStream, OpStream, UnionStream, JoinStream, LateStream, LogicalAggregate } from "./logical.js";

export const DEFAULT_CONFIG: PlanConfig = { partitions: 1, keyGroups: 128, checkpointIntervalMs: null, batchSize: 1024 };

export function check(file: SourceFile, program: A.Program): { checked: CheckedProgram; diagnostics: Diagnostic[] } {
  const c = new Checker(file, program);
  c.run();
  return { checked: c.result, diagnostics: c.diagnostics };
}

const show = (t: FlowType) => `\`${typeToString(t)}\``;
const PRIMITIVES: Record<string, FlowType> = { int: T.int, float: T.float, string: T.string, bool: T.bool, timestamp: T.timestamp, duration: T.duration };

type Decl = A.ConstDecl | A.SourceDecl | A.StreamDecl;

class Checker {
  readonly diagnostics: Diagnostic[] = [];
  readonly result: CheckedProgram;
  private readonly exprs: ExprChecker;
  /** Value/stream namespace: constants, sources, streams, imported functions. */
  private readonly decls = new Map<string, Decl | A.ImportDecl>();
  private readonly typeDecls = new Map<string, A.TypeDecl>();
  private readonly resolvingTypes = new Set<string>();
  private readonly resolvingConsts = new Set<string>();
  /** Constants whose value could not be computed (reported once, not at every use). */
  private readonly failedConsts = new Set<string>();
  private readonly resolvingStreams = new Set<string>();
  private readonly cyclic = new Set<string>();
  private readonly used = new Set<string>();
  private readonly imported = new Set<string>();
  private readonly sinkNames = new Map<string, Sink>();
  /** `late: NAME` of windows, and the streams they name. */
  private readonly lateDecls = new Map<string, LateDecl>();
  private readonly lateStreams = new Map<string, LateStream>();
  /** Pipelines checked ahead of their turn (their window's late elements were needed earlier). */
  private readonly checkedPipelines = new Set<A.PipelineStmt>();
  private readonly pipelinesInProgress = new Set<A.PipelineStmt>();
  /** `errors: NAME` streams, by NAME: the source whose bad records they carry. */
  private readonly errorStreams = new Map<string, { source: A.SourceDecl; name: A.Ident }>();
  /** The input of the operator being checked: its lambdas' parameters get their types from it. */
  private origin: Stream | null = null;

  constructor(
    private readonly file: SourceFile,
    private readonly program: A.Program,
  ) {
    this.result = {
      file,
      program,
      name: basename(file.path, extname(file.path)),
      config: { ...DEFAULT_CONFIG },
      types: new Map(),
      paramTypes: new Map(),
      constants: new Map(),
      namedTypes: new Map(),
      sources: new Map(),
      streams: new Map(),
      sinks: [],
      constStrings: new Map(),
      steps: new Map(),
      udfs: new Map(),
    };
    this.exprs = new ExprChecker(
      (code, span, message, opts) => this.report(code, span, message, opts),
      this.result.types,
      this.result.constStrings,
      (e) => {
        const v = evalConst(e, (n) => this.constValue(n));
        return typeof v === "string" ? v : undefined;
      },
    );
    this.exprs.typeDeclaration = (name) => this.typeDecls.get(name)?.name.span;
  }

  private report(code: Code, span: A.Span, message: string, opts?: DiagnosticOptions): void {
    this.diagnostics.push(diagnostic(code, this.file.path, span, message, opts));
  }

  run(): void {
    this.collect();
    for (const item of this.program.items) {
      switch (item.kind) {
        case "header":
          this.result.name = item.name.name;
          break;
        case "type":
          this.namedType(item.name.name);
          break;
        case "const":
          this.constant(item.name.name);
          break;
        case "config":
          this.config(item);
          break;
        case "import":
          // Read in collect(), before any call is checked.
          break;
        case "source":
          this.source(item);
          break;
        case "stream":
          this.stream(item.name.name);
          break;
        case "pipeline":
          if (!this.checkedPipelines.has(item)) this.pipeline(item);
          break;
        case "test":
          break;
      }
    }
    // Tests refer to sinks by name, so they are checked once every pipeline is.
    for (const item of this.program.items) if (item.kind === "test") this.test(item);
    this.unused();
  }

  // ------------------------------------------------------------ declarations

  private collect(): void {
    for (const item of this.program.items) {
      if (item.kind === "type") {
        const prev = this.typeDecls.get(item.name.name);
        if (prev) this.duplicate(item.name, prev.name, "type");
        else if (PRIMITIVES[item.name.name]) this.report("FLOW2009", item.name.span, `\`${item.name.name}\` is a built-in type and cannot be redefined.`);
        else this.typeDecls.set(item.name.name, item);
      } else if (item.kind === "const" || item.kind === "source" || item.kind === "stream") {
        this.declare(item.name, item);
        const errors = item.kind === "source" ? errorsArg(item.connector) : undefined;
        if (errors?.value.kind === "name" && item.kind === "source") {
          const name = errors.value.name;
          if (this.decls.has(name.name)) this.duplicate(name, this.identOf(name.name), "name");
          else {
            this.decls.set(name.name, item);
            this.errorStreams.set(name.name, { source: item, name });
          }
        } else if (errors) {
          this.report("FLOW2008", errors.value.span, "`errors:` takes the name of a new stream for the source's bad records, as in `errors: badClicks`.", { label: "not a name" });
        }
      } else if (item.kind === "import") {
        for (const n of item.names) {
          this.declare(n, item);
          this.imported.add(n.name);
        }
        // Read before any expression is checked: calls anywhere in the file need the signatures.
        const udfs = loadImport(item, resolveImport(this.file, item.from.value), (code, span, message, opts) => this.report(code, span, message, opts));
        for (const [name, udf] of udfs) if (this.decls.get(name) === item) this.result.udfs.set(name, udf);
      }
    }
    for (const late of collectLateNames(this.program)) {
      const prev = this.decls.get(late.ident.name);
      const prevLate = this.lateDecls.get(late.ident.name);
      if (prev || prevLate) this.duplicate(late.ident, prevLate ? prevLate.ident : prev!.kind === "import" ? prev!.names.find((n) => n.name === late.ident.name)! : prev!.name, "name");
      else this.lateDecls.set(late.ident.name, late);
    }
  }

  private lateStreamEntry(name: string): LateStream {
    const d = this.lateDecls.get(name)!;
    let s = this.lateStreams.get(name);
    if (!s) this.lateStreams.set(name, (s = { kind: "late", name, ident: d.ident, windowStream: null, type: T.unknown, keyType: null, window: null, span: d.ident.span }));
    return s;
  }

  /** The late elements of the window with `late: NAME`; checks the item that window is in first. */
  private lateStream(name: string, at: A.Span): LateStream | null {
    const d = this.lateDecls.get(name)!;
    this.used.add(name);
    const s = this.lateStreamEntry(name);
    if (s.windowStream) return s;
    if (d.item.kind === "stream") this.stream(d.item.name.name);
    else if (!this.checkedPipelines.has(d.item)) this.pipeline(d.item);
    else if (this.pipelinesInProgress.has(d.item)) this.report("FLOW3007", at, `The late elements \`${name}\` are used before their own window, in its pipeline.`, { hints: ["use them in another pipeline statement"] });
    // Otherwise the window had errors of its own, already reported.
    return s.windowStream ? s : null;
  }

  private declare(name: A.Ident, decl: Decl | A.ImportDecl): void {
    if (this.decls.has(name.name)) {
      this.duplicate(name, this.identOf(name.name), "name");
      return;
    }
    this.decls.set(name.name, decl);
  }

  /** Where a declared name is declared. */
  private identOf(name: string): A.Ident {
    const prev = this.decls.get(name)!;
    return this.errorStreams.get(name)?.name ?? (prev.kind === "import" ? prev.names.find((n) => n.name === name)! : prev.name);
  }

  private duplicate(name: A.Ident, prev: A.Ident, what: string): void {
    this.report("FLOW2009", name.span, `The ${what} \`${name.name}\` is already defined.`, { label: "defined again here", labels: [{ span: prev.span, message: "first defined here" }], hints: ["rename one of them"] });
  }

  // ------------------------------------------------------------ types

  private namedType(name: string): FlowType {
    const known = this.result.namedTypes.get(name);
    if (known) return known;
    const decl = this.typeDecls.get(name);
    if (!decl) return T.unknown;
    if (this.resolvingTypes.has(name)) {
      this.report("FLOW2004", decl.name.span, `The type \`${name}\` contains itself, so it would be infinitely large.`, { hints: ["make the recursive field an array or remove it"] });
      return T.unknown;
    }
    this.resolvingTypes.add(name);
    let t = this.typeExpr(decl.type);
    this.resolvingTypes.delete(name);
    if (t.kind === "record") t = T.record(t.fields, name);
    this.result.namedTypes.set(name, t);
    return t;
  }

  private typeExpr(t: A.TypeExpr): FlowType {
    switch (t.kind) {
      case "missingType":
        return T.unknown;
      case "namedType": {
        const p = PRIMITIVES[t.name.name];
        if (p) return p;
        if (this.typeDecls.has(t.name.name)) return this.namedType(t.name.name);
        const close = suggest(t.name.name, [...Object.keys(PRIMITIVES), ...this.typeDecls.keys()]);
        this.report("FLOW2004", t.name.span, `I cannot find a type named \`${t.name.name}\`.`, { label: "unknown type", hints: close ? [`did you mean \`${close}\`?`] : ["declare it with `type " + t.name.name + " = { ... }`"] });
        return T.unknown;
      }
      case "arrayType":
        return T.array(this.typeExpr(t.element));
      case "recordType": {
        const fields: RecordField[] = [];
        for (const f of t.fields) {
          const prev = fields.find((x) => x.name === f.name.name);
          if (prev) {
            this.report("FLOW2016", f.name.span, `The field \`${f.name.name}\` is declared twice.`);
            continue;
          }
          fields.push({ name: f.name.name, type: this.typeExpr(f.type), optional: f.optional });
        }
        return T.record(fields);
      }
    }
  }

  // ------------------------------------------------------------ constants and config

  private constValue(name: string): ConstValue | undefined {
    const decl = this.decls.get(name);
    if (decl?.kind !== "const") return undefined;
    return this.constant(name)?.value;
  }

  private constant(name: string): ConstantInfo | undefined {
    const known = this.result.constants.get(name);
    if (known) return known;
    const decl = this.decls.get(name);
    if (decl?.kind !== "const" || this.failedConsts.has(name)) return undefined;
    if (this.resolvingConsts.has(name)) {
      this.report("FLOW2013", decl.name.span, `The constant \`${name}\` is defined in terms of itself.`);
      this.failedConsts.add(name);
      return undefined;
    }
    this.resolvingConsts.add(name);
    const type = this.exprs.check(decl.value, this.constScope());
    const value = evalConst(decl.value, (n) => this.constValue(n));
    this.resolvingConsts.delete(name);
    if (value === undefined) {
      if (this.failedConsts.has(name)) return undefined;
      this.failedConsts.add(name);
      if (type.kind !== "unknown") this.report("FLOW2013", decl.value.span, `The value of the constant \`${name}\` must be computable when compiling.`, { label: "not a constant", hints: ["use literals, other constants and operators on them"] });
      return undefined;
    }
    const info: ConstantInfo = { decl, value, type };
    this.result.constants.set(name, info);
    return info;
  }

  /** Constants, sources and streams, for expressions outside lambdas. */
  private constScope(): Scope {
    const names = new Map<string, Binding>();
    for (const [name, d] of this.decls) {
      if (d.kind === "const") {
        // Resolved when looked up, not here: resolving every constant while one is being resolved
        // would make `const b = a` look circular to `a`.
        const constant = () => (this.resolvingConsts.has(name) ? undefined : this.constant(name));
        names.set(name, {
          kind: "const",
          get type() {
            return constant()?.type ?? T.unknown;
          },
        });
      } else if (d.kind === "import") {
        const udf = this.result.udfs.get(name);
        names.set(name, udf ? { kind: "udf", udf } : { kind: "udf" });
      }
      else names.set(name, { kind: "stream", what: d.kind });
    }
    return new Scope(names);
  }

  private config(item: A.ConfigDecl): void {
    const seen = new Map<string, A.Ident>();
    for (const e of item.entries) {
      const key = e.key.name;
      const spec = CONFIG_KEYS.find((k) => k.name === key);
      const t = this.exprs.check(e.value, this.constScope());
      if (!spec) {
        const close = suggest(key, CONFIG_KEYS.map((k) => k.name));
        this.report("FLOW2012", e.key.span, `\`${key}\` is not a config setting.`, { label: "unknown setting", hints: [close ? `did you mean \`${close}\`?` : `the settings are ${CONFIG_KEYS.map((k) => `\`${k.name}\``).join(", ")}`] });
        continue;
      }
      const prev = seen.get(key);
      if (prev) {
        this.report("FLOW2009", e.key.span, `\`${key}\` is set twice.`, { labels: [{ span: prev.span, message: "first set here" }] });
        continue;
      }
      seen.set(key, e.key);
      const v = evalConst(e.value, (n) => this.constValue(n));
      if (t.kind !== "unknown" && t.kind !== spec.type) {
        this.report("FLOW2012", e.value.span, `\`${key}\` must be ${spec.type === "int" ? "an int" : spec.type === "bool" ? "`true` or `false`" : "a duration such as `5s`"}, but this is ${show(t)}.`, { label: show(t) });
        continue;
      }
      if (v === undefined) {
        if (t.kind !== "unknown") this.report("FLOW2013", e.value.span, `The value of \`${key}\` must be a constant.`);
        continue;
      }
      const n = v as number;
      const c = this.result.config;
      const bad = (msg: string) => this.report("FLOW2012", e.value.span, msg, { label: String(n) });
      switch (key) {
        case "partitions":
          if (!Number.isInteger(n) || n < 1 || n > 1024) bad(`\`partitions\` must be from 1 to 1024, not ${n}.`);
          else c.partitions = n;
          break;
        case "keyGroups":
          if (!Number.isInteger(n) || n < 1 || n > 32768) bad(`\`keyGroups\` must be from 1 to 32768, not ${n}.`);
          else c.keyGroups = n;
          break;
        case "batchSize":
          // Larger batches are allocated in V8's large-object space, which makes a run several times slower.
          if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH) bad(`\`batchSize\` must be from 1 to ${MAX_BATCH}, not ${n}.`);
          else c.batchSize = n;
          break;
        case "checkpoint":
          if (n < 10) bad(`\`checkpoint\` must be at least 10ms.`);
          else c.checkpointIntervalMs = n;
          break;
        case "failOnError":
          if (v === true) c.failOnError = true;
          break;
      }
    }
    if (this.result.config.partitions > this.result.config.keyGroups) {
      this.report("FLOW2012", item.span, `\`partitions\` (${this.result.config.partitions}) cannot exceed \`keyGroups\` (${this.result.config.keyGroups}).`);
    }
  }

  // ------------------------------------------------------------ sources and streams

  private source(decl: A.SourceDecl): SourceStream | null {
    const known = this.result.sources.get(decl.name.name);
    if (known) return known;
    if (this.decls.get(decl.name.name) !== decl) return null;
    const type = this.typeExpr(decl.type);
    const connector = this.connector(withoutErrorsArg(decl.connector), "source", type);
    const s: SourceStream = { kind: "source", name: decl.name.name, decl, connector: connector ?? { type: decl.connector.callee.name, args: {} }, type, keyType: null, window: null, span: decl.name.span };
    this.result.sources.set(decl.name.name, s);
    return s;
  }

  /** The bad records of a source, as a stream: a source node of its own in the plan (connector `errors`). */
  private errorStream(name: A.Ident, source: A.SourceDecl): SourceStream {
    const known = this.result.sources.get(name.name);
    if (known) return known;
    this.used.add(source.name.name);
    const s: SourceStream = { kind: "source", name: name.name, decl: source, connector: { type: ERRORS_CONNECTOR, args: { source: source.name.name } }, type: ERROR_RECORD, keyType: null, window: null, span: name.span };
    this.result.sources.set(name.name, s);
    return s;
  }

  private stream(name: string): Stream | null {
    const known = this.result.streams.get(name);
    if (known) return known;
    const decl = this.decls.get(name);
    if (decl?.kind !== "stream") return null;
    if (this.resolvingStreams.has(name)) {
      if (this.cyclic.has(name)) return null;
      this.cyclic.add(name);
      this.report("FLOW3007", decl.name.span, `The stream \`${name}\` is defined in terms of itself.`, { hints: ["a stream can only use sources and streams that do not depend on it"] });
      return null;
    }
    this.resolvingStreams.add(name);
    const s = this.streamExpr(decl.value, false);
    this.resolvingStreams.delete(name);
    if (s) {
      if (s.window) this.windowWithoutAggregate(s, decl.value.span);
      this.result.streams.set(name, s);
    }
    return s;
  }

  /** The stream an expression denotes; null (after reporting) when it is not one. */
  private streamExpr(e: A.Expr, topLevel: boolean): Stream | null {
    switch (e.kind) {
      case "paren":
        return this.streamExpr(e.expr, topLevel);
      case "name": {
        const d = this.decls.get(e.name.name);
        this.used.add(e.name.name);
        const errors = this.errorStreams.get(e.name.name);
        if (errors) return this.errorStream(errors.name, errors.source);
        if (d?.kind === "source") return this.source(d);
        if (d?.kind === "stream") return this.stream(e.name.name);
        if (d?.kind === "const") {
          this.report("FLOW2014", e.span, `\`${e.name.name}\` is a constant, not a stream.`, { label: "not a stream" });
          return null;
        }
        if (this.lateDecls.has(e.name.name)) return this.lateStream(e.name.name, e.span);
        const streams = [...this.decls].filter(([, x]) => x.kind === "source" || x.kind === "stream").map(([n]) => n);
        const close = suggest(e.name.name, streams);
        this.report("FLOW2001", e.name.span, `I cannot find a source or stream named \`${e.name.name}\`.`, { label: "not defined", hints: close ? [`did you mean \`${close}\`?`] : ["declare it with `source NAME: TYPE = ...` or `stream NAME = ...`"] });
        return null;
      }
      case "pipe": {
        let s = this.streamExpr(e.head, false);
        for (let i = 0; i < e.steps.length; i++) {
          const step = e.steps[i]!;
          if (step.kind === "sink") {
            if (!topLevel) this.report("FLOW3008", step.span, "A sink can only end a pipeline statement, not a stream used inside another expression.", { hints: ["move this pipeline to a statement of its own"] });
            else if (i !== e.steps.length - 1) this.report("FLOW3002", e.steps[i + 1]!.span, "Nothing can follow a sink: it ends the pipeline.", { labels: [{ span: step.span, message: "the sink" }], hints: ["to send a stream to two places, declare it with `stream NAME = ...` and use it twice"] });
            if (s && topLevel) this.sink(s, step);
            if (topLevel) return s;
            continue;
          }
          s = this.step(s, step);
          if (s) this.result.steps.set(step, s);
        }
        return s;
      }
      case "missing":
        return null;
      default:
        this.report("FLOW2014", e.span, "Expected a stream here: the name of a source or stream, or a pipeline.", { label: "not a stream" });
        return null;
    }
  }

  private pipeline(item: A.PipelineStmt): void {
    this.checkedPipelines.add(item);
    this.pipelinesInProgress.add(item);
    try {
      this.pipelineSteps(item);
    } finally {
      this.pipelinesInProgress.delete(item);
    }
  }

  private pipelineSteps(item: A.PipelineStmt): void {
    const steps = item.pipe.steps;
    const last = steps[steps.length - 1];
    const s = this.streamExpr(item.pipe, true);
    if (!steps.some((x) => x.kind === "sink")) {
      if (s?.window) this.windowWithoutAggregate(s, item.pipe.span);
      this.report("FLOW3001", last ? last.span : item.pipe.span, "This pipeline has no sink, so its results would go nowhere.", {
        hints: ["end it with `|> sink stdout()` or `|> sink file(\"out/NAME\", format: \"jsonl\")`; to name a stream for later use, write `stream NAME = ...`"],
      });
    }
  }

  // ------------------------------------------------------------ operators

  private step(input: Stream | null, step: A.OperatorStep): Stream | null {
    const call = step.call;
    const name = call.callee.name;
    const info = OPERATOR_MAP.get(name);
    if (!info) {
      const hints: string[] = [];
      const close = suggest(name, OPERATORS.map((o) => o.name));
      if (close) hints.push(`did you mean \`${close}\`?`);
      else if (BUILTIN_MAP.has(name)) hints.push(`\`${name}\` is a function, not an operator: use it inside one, as in \`map(x => ${name}(x))\``);
      else if (name === "sink") hints.push("write `|> sink CONNECTOR(...)`");
      this.report("FLOW2002", call.callee.span, `I cannot find an operator named \`${name}\`.`, { label: "unknown operator", hints });
      for (const a of call.args) if (a.value.kind !== "lambda") this.exprs.check(a.value, this.constScope());
      return null;
    }
    if (input?.window && info.kind !== "aggregate") {
      this.windowWithoutAggregate(input, step.span);
      input = { ...input, window: null };
    }
    this.origin = input;
    const out = this.operator(input, step, name);
    this.origin = null;
    if (out && !info.supported) {
      this.report("FLOW2018", call.callee.span, `The operator \`${name}\` is not supported yet: it is parsed and checked, but this release cannot run it.`, { label: "not supported yet", hints: ["see docs/language.md for what runs today"] });
    }
    return out;
  }

  private operator(input: Stream | null, step: A.OperatorStep, name: string): Stream | null {
    const call = step.call;
    const elem = input?.type ?? T.unknown;
    const op = (o: Omit<OpStream, "kind" | "input" | "step" | "span">): Stream | null =>
      input ? { kind: "op", input, step, span: step.span, ...o } : null;
    switch (name) {
      case "map": {
        const l = this.lambdaArg(call, [elem], 1);
        return l && op({ op: "map", lambda: l.lambda, type: l.body, keyType: null, window: null });
      }
      case "flatMap": {
        const l = this.lambdaArg(call, [elem], 1);
        if (!l) return null;
        let t: FlowType = T.unknown;
        if (l.body.kind === "array") t = l.body.element;
        else if (l.body.kind !== "unknown") this.report("FLOW2006", l.lambda.body.span, `flatMap needs a lambda that returns an array, but this returns ${show(l.body)}.`, { label: show(l.body), hints: ["to transform one element into one element, use `map`"] });
        return op({ op: "flatMap", lambda: l.lambda, type: t, keyType: null, window: null });
      }
      case "filter": {
        const l = this.lambdaArg(call, [elem], 1);
        if (!l) return null;
        if (l.body.kind !== "bool" && l.body.kind !== "unknown") this.report("FLOW2006", l.lambda.body.span, `filter needs a condition (a bool), but this is ${show(l.body)}.`, { label: show(l.body) });
        return op({ op: "filter", lambda: l.lambda, type: elem, keyType: null, window: null });
      }
      case "keyBy": {
        const l = this.lambdaArg(call, [elem], 1);
        if (!l) return null;
        if (!isKeyable(l.body)) this.report("FLOW2006", l.lambda.body.span, `A key must compare by value (int, float, string, bool, timestamp, duration, or arrays and records of them), but this is ${show(l.body)}.`, { label: show(l.body), hints: l.body.kind === "optional" ? ["give a default with `??`"] : [] });
        return op({ op: "keyBy", lambda: l.lambda, type: elem, keyType: l.body.kind === "optional" ? T.unknown : l.body, window: null });
      }
      case "window":
        return this.window(input, step);
      case "union": {
        this.arity(call, 1, 1);
        const arg = call.args[0];
        if (!arg) return null;
        if (arg.name) this.report("FLOW2008", arg.name.span, "`union` takes the other stream as its only argument, without a name.");
        const other = this.streamExpr(arg.value, false);
        if (!input || !other) return null;
        if (other.window) this.windowWithoutAggregate(other, arg.value.span);
        if (!assignable(other.type, input.type) || !assignable(input.type, other.type)) {
          this.report("FLOW2006", arg.value.span, `Only streams of one type can be merged: this one has elements of ${show(other.type)}, the other of ${show(input.type)}.`, { label: show(other.type), hints: ["map one of them to the other's type first"] });
        }
        this.sameTime(input, other, arg.value.span, "union");
        return { kind: "union", inputs: [input, other], step, span: step.span, type: input.type, keyType: null, window: null };
      }
      case "watermark": {
        const named = this.namedArgs(call, 1, ["delay"], ["delay"]);
        const l = this.lambdaArg(call, [elem], 1);
        // An int counts as milliseconds since the epoch, as in data that stores times as numbers.
        if (l && !["timestamp", "int", "unknown"].includes(l.body.kind)) this.report("FLOW2006", l.lambda.body.span, `watermark needs the element's timestamp, but this is ${show(l.body)}.`, { label: show(l.body) });
        const delay = this.durationArg(named.get("delay"));
        if (delay !== undefined && delay < 0) this.report("FLOW2006", named.get("delay")!.span, "The delay of a watermark cannot be negative.");
        // A watermark keeps the key: `keyBy(...) |> watermark(...) |> window(...)` is keyed.
        return l ? op({ op: "watermark", lambda: l.lambda, durationMs: Math.max(0, delay ?? 0), type: elem, keyType: input?.keyType ?? null, window: null }) : null;
      }
      case "distinct": {
        const named = this.namedArgs(call, 1, ["within"], ["within"]);
        const l = this.lambdaArg(call, [elem], 1);
        if (l && !isKeyable(l.body)) this.report("FLOW2006", l.lambda.body.span, `distinct needs a key that compares by value, but this is ${show(l.body)}.`);
        const within = this.durationArg(named.get("within"), true);
        return l ? op({ op: "distinct", lambda: l.lambda, durationMs: within ?? 1, type: elem, keyType: null, window: null }) : null;
      }
      case "join": {
        const named = this.namedArgs(call, 1, ["on", "within"], ["on", "within"]);
        const arg = call.args.find((a) => !a.name);
        const other = arg ? this.streamExpr(arg.value, false) : null;
        const on = named.get("on");
        let keys: ReturnType<typeof splitJoinCondition> = null;
        if (on) {
          if (on.kind !== "lambda" || on.params.length !== 2) this.report("FLOW2010", on.span, "`on:` needs a lambda of two parameters, as in `on: (a, b) => a.user == b.id`.");
          else {
            const t = this.lambda(on, [elem, other?.type ?? T.unknown], [input, other]);
            if (t.kind !== "bool" && t.kind !== "unknown") this.report("FLOW2006", on.body.span, `\`on:\` needs a condition (a bool), but this is ${show(t)}.`);
            else {
              keys = splitJoinCondition(on);
              if (!keys) {
                const [a, b] = on.params.map((p) => p.name);
                this.report("FLOW3009", on.body.span, `A join's \`on:\` must be one equality with one side per stream: \`${a}\` on one side of \`==\` and \`${b}\` on the other.`, {
                  label: "not one equality of the two streams' keys",
                  hints: [`as in \`on: (${a}, ${b}) => ${a}.user == ${b}.user\`; to match on several fields, compare one combined key, as in \`${a}.user + "/" + ${a}.day == ${b}.user + "/" + ${b}.day\``],
                });
              }
            }
          }
        }
        const within = this.durationArg(named.get("within"));
        if (within !== undefined && within < 0) this.report("FLOW2006", named.get("within")!.span, "`within:` cannot be negative.");
        const type = T.record([
          { name: "left", type: elem, optional: false },
          { name: "right", type: other?.type ?? T.unknown, optional: false },
        ]);
        if (!input || !other || !keys) return null;
        if (other.window) this.windowWithoutAggregate(other, arg!.value.span);
        const event = this.sameTime(input, other, arg!.value.span, "join");
        return { kind: "join", inputs: [input, other], step, span: step.span, type, keyType: null, window: null, leftKey: keys.left, rightKey: keys.right, withinMs: Math.max(0, within ?? 0), time: event ? "event" : "processing" };
      }
      default:
        if ((AGGREGATES as readonly string[]).includes(name) || name === "aggregate") return this.aggregate(input, step, name);
        return null;
    }
  }

  private window(input: Stream | null, step: A.OperatorStep): Stream | null {
    const call = step.call;
    const windowNamed = this.namedArgs(call, 1, ["late"], []);
    const arg = call.args.find((a) => !a.name);
    if (!arg) {
      this.arity(call, 1, 1);
      return null;
    }
    const lateArg = windowNamed.get("late");
    if (lateArg && lateArg.kind !== "name") this.report("FLOW2006", lateArg.span, "`late:` needs a new name for the window's late elements, as in `late: lateClicks`.", { label: "not a name" });
    const v = arg.value;
    if (v.kind !== "call" || !WINDOW_KINDS.some((w) => w.name === v.callee.name)) {
      const close = v.kind === "call" ? suggest(v.callee.name, WINDOW_KINDS.map((w) => w.name)) : undefined;
      this.report("FLOW2006", v.span, "window needs a window kind: `tumbling(size)`, `sliding(size, every: slide)` or `session(gap: g)`.", { hints: close ? [`did you mean \`${close}\`?`] : [] });
      return null;
    }
    const kind = WINDOW_KINDS.find((w) => w.name === v.callee.name)!;
    let spec: WindowSpec | null = null;
    if (kind.name === "tumbling") {
      const named = this.namedArgs(v, 1, ["size"], []);
      const size = this.durationArg(named.get("size") ?? v.args.find((a) => !a.name)?.value, true);
      if (size !== undefined) spec = { kind: "tumbling", sizeMs: size, time: "processing" };
    } else if (kind.name === "sliding") {
      const named = this.namedArgs(v, 1, ["size", "every"], ["every"]);
      const size = this.durationArg(named.get("size") ?? v.args.find((a) => !a.name)?.value, true);
      const every = this.durationArg(named.get("every"), true);
      if (size !== undefined && every !== undefined) spec = { kind: "sliding", sizeMs: size, slideMs: every, time: "processing" };
    } else {
      const named = this.namedArgs(v, 0, ["gap"], ["gap"]);
      const gap = this.durationArg(named.get("gap"), true);
      if (gap !== undefined) spec = { kind: "session", gapMs: gap, time: "processing" };
    }
    if (!kind.supported) this.report("FLOW2018", v.callee.span, `\`${kind.name}\` windows are not supported yet; \`tumbling\` windows are.`, { label: "not supported yet" });
    if (!input) return null;
    if (!input.keyType) {
      this.report("FLOW3003", call.callee.span, "window needs a keyed stream: put `keyBy(...)` right before it.", { label: "stream not keyed", hints: ["for example `|> keyBy(x => x.user) |> window(tumbling(1m)) |> count()`"] });
    }
    // After an error in the window's arguments a placeholder spec keeps the aggregate checkable.
    const window: WindowSpec = { ...(spec ?? { kind: "tumbling", sizeMs: 1 }), time: hasEventTime(input) ? "event" : "processing" } as WindowSpec;
    const ws: OpStream = { kind: "op", op: "window", input, step, span: step.span, type: input.type, keyType: input.keyType, window };
    // Only the first declaration of a name (a duplicate was reported in collect()).
    const late = lateArg?.kind === "name" && this.lateDecls.get(lateArg.name.name)?.ident === lateArg.name ? this.lateStreamEntry(lateArg.name.name) : undefined;
    if (late) {
      late.windowStream = ws;
      late.type = input.type;
      ws.late = late;
    }
    return ws;
  }

  private aggregate(input: Stream | null, step: A.OperatorStep, name: string): Stream | null {
    const call = step.call;
    const elem = input?.type ?? T.unknown;
    let agg: OpStream["aggregate"];
    const fields: RecordField[] = [];
    if (name === "aggregate") {
      this.arity(call, 1, 1);
      const arg = call.args[0];
      if (!arg) return null;
      if (arg.value.kind !== "record") {
        this.report("FLOW2006", arg.value.span, "aggregate needs a record of named aggregates, as in `aggregate({ n: count(), total: sum(x => x.ms) })`.");
        return null;
      }
      const parts: { name: string; aggregate: LogicalAggregate }[] = [];
      for (const f of arg.value.fields) {
        if (f.name.name === "key") {
          this.report("FLOW2016", f.name.span, "The field `key` is the aggregate's key; choose another name.");
          continue;
        }
        if (parts.some((p) => p.name === f.name.name)) {
          this.report("FLOW2016", f.name.span, `The field \`${f.name.name}\` is given twice.`);
          continue;
        }
        if (f.value.kind !== "call" || !(AGGREGATES as readonly string[]).includes(f.value.callee.name)) {
          const close = f.value.kind === "call" ? suggest(f.value.callee.name, AGGREGATES) : undefined;
          this.report("FLOW2006", f.value.span, `Each field of aggregate({...}) must be one of ${AGGREGATES.map((a) => `\`${a}\``).join(", ")}.`, { hints: close ? [`did you mean \`${close}\`?`] : [] });
          continue;
        }
        const r = this.simpleAggregate(f.value, elem);
        if (!r) continue;
        parts.push({ name: f.name.name, aggregate: r.agg });
        fields.push({ name: f.name.name, type: r.type, optional: false });
      }
      agg = { kind: "multi", fields: parts };
    } else {
      const r = this.simpleAggregate(call, elem);
      if (!r) return null;
      agg = r.agg;
      fields.push({ name: name === "reduce" ? "value" : name, type: r.type, optional: false });
    }
    if (!input) return null;
    if (!input.keyType) {
      this.report("FLOW3003", call.callee.span, `\`${name}\` aggregates per key, but this stream is not keyed.`, {
        label: "stream not keyed",
        hints: ["put `keyBy(x => ...)` right before it (or before its window); map and filter after keyBy drop the key"],
      });
      return null;
    }
    const out: RecordField[] = [{ name: "key", type: input.keyType, optional: false }, ...fields];
    if (input.window) out.push({ name: "start", type: T.timestamp, optional: false }, { name: "end", type: T.timestamp, optional: false });
    // The planner reads the window from the aggregate's input (the `window` step).
    const result: OpStream = { kind: "op", op: "aggregate", input, step, span: step.span, aggregate: agg, type: T.record(out), keyType: null, window: null };
    if (input.kind === "op" && input.op === "window") input.aggregateAfter = result;
    return result;
  }

  private simpleAggregate(call: A.CallExpr, elem: FlowType): { agg: LogicalAggregate; type: FlowType } | null {
    const name = call.callee.name as (typeof AGGREGATES)[number];
    if (name === "count") {
      this.arity(call, 0, 0);
      return { agg: { kind: "count" }, type: T.int };
    }
    if (name === "reduce") {
      const l = this.lambdaArg(call, [elem, elem], 2);
      if (!l) return null;
      if (!assignable(l.body, elem)) this.report("FLOW2006", l.lambda.body.span, `reduce must combine two values into one of the same type ${show(elem)}, but this is ${show(l.body)}.`, { label: show(l.body) });
      return { agg: { kind: "reduce", lambda: l.lambda }, type: elem };
    }
    const l = this.lambdaArg(call, [elem], 1);
    if (!l) return null;
    const t = l.body;
    const numeric = t.kind === "int" || t.kind === "float";
    const ordered = numeric || t.kind === "timestamp" || t.kind === "duration";
    if (t.kind !== "unknown" && (name === "min" || name === "max" ? !ordered : !numeric)) {
      this.report("FLOW2006", l.lambda.body.span, `${name} needs ${name === "min" || name === "max" ? "a number, timestamp or duration" : "a number"}, but this is ${show(t)}.`, { label: show(t) });
    }
    const type = name === "avg" ? T.float : name === "sum" && !numeric ? T.float : t;
    return { agg: { kind: name, lambda: l.lambda }, type };
  }

  // ------------------------------------------------------------ arguments

  private arity(call: A.CallExpr, min: number, max: number): void {
    const n = call.args.length;
    if (n >= min && n <= max) return;
    const info = OPERATOR_MAP.get(call.callee.name);
    const want = min === max ? `${min}` : `${min} to ${max}`;
    this.report("FLOW2007", call.argsSpan, `\`${call.callee.name}\` takes ${want} argument${max === 1 ? "" : "s"}, but ${n === 1 ? "1 was" : `${n} were`} given.`, { hints: info ? [info.signature] : [] });
  }

  /** The lambda that is the call's first positional argument, checked with the given parameter types. */
  private lambdaArg(call: A.CallExpr, params: FlowType[], arity: number): { lambda: A.LambdaExpr; body: FlowType } | null {
    const positional = call.args.filter((a) => !a.name);
    const sig = OPERATOR_MAP.get(call.callee.name)?.signature ?? `${call.callee.name}(x => ...)`;
    if (positional.length === 0) {
      this.report("FLOW2010", call.argsSpan, `\`${call.callee.name}\` needs a lambda argument, as in \`${sig}\`.`, { label: "missing lambda" });
      return null;
    }
    const extra = positional.slice(1);
    for (const a of extra) this.report("FLOW2007", a.span, `\`${call.callee.name}\` takes one lambda argument.`, { hints: [sig] });
    const l = positional[0]!.value;
    if (l.kind !== "lambda") {
      // A bare function name (`map(lower)`) is the likely mistake: say how to write it, nothing more.
      const fn = l.kind === "name" && BUILTIN_MAP.has(l.name.name) ? l.name.name : undefined;
      if (!fn) this.exprs.check(l, this.constScope());
      this.report("FLOW2010", l.span, `\`${call.callee.name}\` needs a lambda here, as in \`${sig}\`.`, { label: "not a lambda", hints: fn ? [`write \`${call.callee.name}(x => ${fn}(x))\``] : [] });
      return null;
    }
    if (l.params.length !== arity) {
      this.report("FLOW2010", l.span, `The lambda of \`${call.callee.name}\` takes ${arity} parameter${arity === 1 ? "" : "s"}, but this one has ${l.params.length}.`, { hints: [sig] });
      return null;
    }
    return { lambda: l, body: this.lambda(l, params) };
  }

  private lambda(l: A.LambdaExpr, params: FlowType[], origins: (Stream | null)[] = params.map(() => this.origin)): FlowType {
    const names = new Map<string, Binding>();
    l.params.forEach((p, i) => {
      const t = params[i] ?? T.unknown;
      if (names.has(p.name)) this.report("FLOW2009", p.span, `The parameter \`${p.name}\` is declared twice.`);
      const origin = this.originLabel(p.name, origins[i] ?? null);
      names.set(p.name, origin ? { kind: "param", type: t, ident: p, origin } : { kind: "param", type: t, ident: p });
      this.result.paramTypes.set(p, t);
    });
    return this.exprs.check(l.body, this.constScope().child(names));
  }

  /**
   * Where a lambda parameter's type comes from: the declared type of a source, or the step that
   * made the stream's elements (operators that keep the elements, such as filter, are skipped).
   */
  private originLabel(param: string, s: Stream | null): Label | undefined {
    while (s?.kind === "op" && (s.op === "filter" || s.op === "keyBy" || s.op === "window")) s = s.input;
    if (!s || s.type.kind === "unknown") return undefined;
    if (s.kind === "source") {
      if (this.errorStreams.has(s.name)) return { span: s.span, message: `\`${param}\` is a bad record of \`${s.decl.name.name}\`: ${show(s.type)}` };
      return { span: s.decl.type.span, message: `\`${param}\` is an element of \`${s.name}\`, declared here` };
    }
    const made = s.kind === "op" && s.lambda && (s.op === "map" || s.op === "flatMap") ? s.lambda.body.span : s.kind === "op" ? s.step.call.span : s.kind === "late" ? s.ident.span : s.step.span;
    return { span: made, message: `\`${param}\` is an element of ${show(s.type)}, made here` };
  }

  /** Checks named arguments against the allowed names; returns them by name. Positional ones are left to the caller. */
  private namedArgs(call: A.CallExpr, maxPositional: number, allowed: string[], required: string[]): Map<string, A.Expr> {
    const out = new Map<string, A.Expr>();
    let positional = 0;
    for (const a of call.args) {
      if (!a.name) {
        positional++;
        if (positional > maxPositional) this.report("FLOW2007", a.span, `\`${call.callee.name}\` takes ${maxPositional === 0 ? "only named arguments" : `${maxPositional} positional argument${maxPositional === 1 ? "" : "s"}`}.`, { hints: [this.signatureOf(call.callee.name)] });
        continue;
      }
      const n = a.name.name;
      if (!allowed.includes(n)) {
        const close = suggest(n, allowed);
        this.report("FLOW2008", a.name.span, `\`${call.callee.name}\` has no argument named \`${n}\`.`, { hints: [close ? `did you mean \`${close}\`?` : this.signatureOf(call.callee.name)] });
      } else if (out.has(n)) this.report("FLOW2008", a.name.span, `The argument \`${n}\` is given twice.`);
      else out.set(n, a.value);
    }
    for (const r of required) {
      if (!out.has(r) && !(r === "size" && positional > 0)) this.report("FLOW2008", call.argsSpan, `\`${call.callee.name}\` needs the argument \`${r}:\`.`, { hints: [this.signatureOf(call.callee.name)] });
    }
    return out;
  }

  private signatureOf(name: string): string {
    return OPERATOR_MAP.get(name)?.signature ?? WINDOW_KINDS.find((w) => w.name === name)?.signature ?? name;
  }

  /** A constant duration argument; returns milliseconds. */
  private durationArg(e: A.Expr | undefined, positive = false): number | undefined {
    if (!e) return undefined;
    const t = this.exprs.check(e, this.constScope());
    if (t.kind !== "duration" && t.kind !== "unknown") {
      this.report("FLOW2006", e.span, `Expected a duration such as \`10s\` or \`5m\`, but this is ${show(t)}.`, { label: show(t) });
      return undefined;
    }
    const v = evalConst(e, (n) => this.constValue(n));
    if (typeof v !== "number") {
      if (t.kind !== "unknown") this.report("FLOW2013", e.span, "This duration must be a constant.");
      return undefined;
    }
    if (positive && v <= 0) {
      this.report("FLOW2006", e.span, "This duration must be longer than zero.");
      return undefined;
    }
    return v;
  }

  // ------------------------------------------------------------ connectors and sinks

  private connector(call: A.CallExpr, role: "source" | "sink", elem: FlowType): ConnectorSpec | null {
    const name = call.callee.name;
    const info = findConnector(name);
    const candidates = CONNECTORS.filter((c) => c.roles.includes(role)).map((c) => c.name);
    if (!info || !info.roles.includes(role)) {
      for (const a of call.args) this.exprs.check(a.value, this.constScope());
      const close = suggest(name, candidates);
      this.report("FLOW2011", call.callee.span, info ? `\`${name}\` cannot be used as a ${role}.` : `I cannot find a ${role} connector named \`${name}\`.`, {
        label: `unknown ${role}`,
        hints: [close && close !== name ? `did you mean \`${close}\`?` : `${role} connectors: ${candidates.map((c) => `\`${c}\``).join(", ")}`],
      });
      return null;
    }
    const args: Record<string, ConstValue> = {};
    const sig = `${name}(${info.params.map((p) => `${p.name}${p.default !== undefined ? "?" : ""}: ${p.type}`).join(", ")})`;
    let pos = 0;
    let ok = true;
    for (const a of call.args) {
      const t = this.exprs.check(a.value, this.constScope());
      let param;
      if (a.name) {
        param = info.params.find((p) => p.name === a.name!.name);
        if (!param) {
          const close = suggest(a.name.name, info.params.map((p) => p.name));
          this.report("FLOW2008", a.name.span, `\`${name}\` has no argument named \`${a.name.name}\`.`, { hints: [close ? `did you mean \`${close}\`?` : sig] });
          ok = false;
          continue;
        }
      } else {
        param = info.params[pos++];
        if (!param) {
          this.report("FLOW2007", a.span, `\`${name}\` takes at most ${info.params.length} argument${info.params.length === 1 ? "" : "s"}.`, { hints: [sig] });
          ok = false;
          continue;
        }
      }
      if (param.name in args) {
        this.report("FLOW2008", a.span, `The argument \`${param.name}\` is given twice.`, { hints: [sig] });
        ok = false;
        continue;
      }
      const want = param.type === "float" ? ["int", "float"] : [param.type];
      if (t.kind !== "unknown" && !want.includes(t.kind)) {
        this.report("FLOW2006", a.value.span, `The argument \`${param.name}\` of \`${name}\` must be ${param.type === "int" ? "an int" : `a ${param.type}`}, but this is ${show(t)}.`, { label: show(t), hints: [sig] });
        ok = false;
        continue;
      }
      const v = evalConst(a.value, (n) => this.constValue(n));
      if (v === undefined) {
        if (t.kind !== "unknown") this.report("FLOW2013", a.value.span, `Connector arguments must be constants.`, { label: "not a constant" });
        ok = false;
        continue;
      }
      if (param.oneOf && !param.oneOf.includes(String(v))) {
        const close = suggest(String(v), param.oneOf);
        this.report("FLOW2006", a.value.span, `\`${param.name}\` must be one of ${param.oneOf.map((x) => `"${x}"`).join(", ")}.`, { hints: close ? [`did you mean "${close}"?`] : [] });
        ok = false;
        continue;
      }
      if (param.type === "int" && (!Number.isInteger(v) || (v as number) < 0)) {
        this.report("FLOW2006", a.value.span, `\`${param.name}\` must be a whole number of at least 0.`);
        ok = false;
        continue;
      }
      args[param.name] = v;
    }
    for (const p of info.params) {
      if (!(p.name in args) && p.default === undefined && ok) {
        this.report("FLOW2008", call.argsSpan, `\`${name}\` needs the argument \`${p.name}\`.`, { hints: [sig] });
        ok = false;
      }
    }
    const format = args.format ?? info.params.find((p) => p.name === "format")?.default;
    if (ok && role === "source" && format === "csv" && elem.kind !== "record" && elem.kind !== "unknown" && elem.kind !== "string") {
      this.report("FLOW2006", call.span, `A csv source needs a record type (one field per column), but the declared type is ${show(elem)}.`);
    }
    return ok ? { type: name, args } : null;
  }

  private sink(input: Stream, step: A.SinkStep): void {
    const connector = this.connector(step.connector, "sink", input.type);
    const name = step.as?.name ?? null;
    const sink: Sink = { input, step, connector: connector ?? { type: step.connector.callee.name, args: {} }, name, type: input.type };
    if (input.window) this.windowWithoutAggregate(input, step.span);
    if (step.as) {
      const prev = this.sinkNames.get(step.as.name);
      if (prev) this.report("FLOW3006", step.as.span, `A sink named \`${step.as.name}\` already exists.`, { labels: prev.step.as ? [{ span: prev.step.as.span, message: "first named here" }] : [] });
      else this.sinkNames.set(step.as.name, sink);
    }
    this.result.sinks.push(sink);
  }

  /**
   * Two streams that meet (union, join) must both have event time or both not: records of one
   * would have times and the other's not. Returns whether they have event time.
   */
  private sameTime(a: Stream, b: Stream, at: A.Span, what: "union" | "join"): boolean {
    const ea = hasEventTime(a);
    const eb = hasEventTime(b);
    if (ea !== eb) {
      this.report("FLOW3010", at, `This ${what} mixes a stream with event time and one without: ${ea ? "this one has no `watermark`, the other has" : "this one has a `watermark`, the other has not"}.`, {
        label: ea ? "no event time" : "event time",
        hints: ["add `|> watermark(x => x.ts, delay: 5s)` to the stream without one"],
      });
    }
    return ea && eb;
  }

  private windowWithoutAggregate(s: Stream, at: A.Span): void {
    const w = s.kind === "op" && s.op === "window" ? s.step : null;
    this.report("FLOW3004", w ? w.span : at, "A window must be followed by an aggregate (count, sum, min, max, avg, reduce or aggregate).", {
      label: "window without aggregate",
      hints: ["for example `|> window(tumbling(1m)) |> count()`"],
    });
  }

  // ------------------------------------------------------------ tests and unused names

  /**
   * The records of a `given` or `expect`: an array literal is checked element by element against the
   * stream's type (so records may leave optional fields out, and a wrong one is pointed at); the
   * type of anything else is returned for the caller to compare.
   */
  private testRecords(value: A.Expr, elem: FlowType | undefined, what: string): FlowType | null {
    if (value.kind !== "array" || !elem) return this.exprs.check(value, this.constScope());
    for (const x of value.elements) {
      this.exprs.check(x, this.constScope());
      const m = findMismatch(x, elem, this.result.types, what);
      if (m) this.report("FLOW2006", m.span, m.message, { label: m.label, hints: elem.kind === "record" && elem.name ? [`\`${elem.name}\` is \`${typeToString(elem, true)}\``] : [] });
    }
    this.result.types.set(value, T.array(elem));
    return null;
  }

  private test(item: A.TestDecl): void {
    for (const s of item.body) {
      if (s.kind === "given") {
        const d = this.decls.get(s.source.name);
        const given = d?.kind === "source" ? (this.errorStreams.has(s.source.name) ? this.result.sources.get(s.source.name) : this.source(d)) : undefined;
        const t = this.testRecords(s.value, given?.type, `The records given to \`${s.source.name}\``);
        if (!t) continue;
        if (d?.kind !== "source") {
          const close = suggest(s.source.name, [...this.result.sources.keys()]);
          this.report("FLOW2001", s.source.span, `I cannot find a source named \`${s.source.name}\`.`, { hints: close ? [`did you mean \`${close}\`?`] : [] });
          continue;
        }
        const src = this.result.sources.get(s.source.name);
        if (src && !assignable(t, T.array(src.type))) this.report("FLOW2006", s.value.span, `The given records must be an array of ${show(src.type)}, but this is ${show(t)}.`, { label: show(t) });
      } else {
        const sink = this.sinkNames.get(s.sink.name);
        const t = this.testRecords(s.value, sink?.type, `The records expected at \`${s.sink.name}\``);
        if (!t) continue;
        if (!sink) {
          const close = suggest(s.sink.name, [...this.sinkNames.keys()]);
          this.report("FLOW2001", s.sink.span, `I cannot find a sink named \`${s.sink.name}\`.`, { hints: [close ? `did you mean \`${close}\`?` : "name a sink with `|> sink stdout() as NAME`"] });
          continue;
        }
        if (!assignable(t, T.array(sink.type))) this.report("FLOW2006", s.value.span, `The expected records must be an array of ${show(sink.type)}, but this is ${show(t)}.`, { label: show(t) });
      }
    }
  }

  private unused(): void {
    for (const [name, d] of this.decls) {
      if ((d.kind === "source" || d.kind === "stream") && !this.used.has(name)) {
        this.report("FLOW3005", d.name.span, `The ${d.kind} \`${name}\` is never used.`, { severity: "warning", label: "unused", hints: [`use it in a pipeline, as in \`${name} |> sink stdout()\`, or remove it`] });
      }
    }
    for (const [name, d] of this.lateDecls) {
      if (!this.used.has(name)) this.report("FLOW3005", d.ident.span, `The late elements \`${name}\` are never used.`, { severity: "warning", label: "unused", hints: [`use them in a pipeline, as in \`${name} |> sink stdout()\`, or remove \`late: ${name}\` to count and drop them`] });
    }
  }
}
