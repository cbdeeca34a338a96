// Phase 4, emit: takes the planned program and returns the plan module as readable TypeScript
// (`NAME.plan.ts`: the plan as data plus one specialised function per fused chain, each commented
// with the .flow lines it came from) and as JavaScript that plain `node` runs (`NAME.plan.js`).
// ts-morph builds the module, prettier formats both.
import { relative } from "node:path";
import * as prettier from "prettier";
import { Project, ts, VariableDeclarationKind } from "ts-morph";
import type * as A from "../../ast.js";
import type { OpStream } from "../2-check/index.js";
import type { FunctionSpec, PlannedProgram } from "../3-plan/index.js";
import type { ConstValue, ExecutionPlan } from "../../../runtime/plan.js";
import type { FlowType } from "../../../runtime/types.js";
import { emitExpr, mangle, tsType, type ExprContext } from "./expressions.js";
import { PRELUDE, type PreludeName } from "./prelude.js";

export const RUNTIME_IMPORT = "flowc/runtime";
export const FLOWC_VERSION = "0.1.0";

export interface EmitOptions {
  /** Directory the module will be written to; the plan records the .flow file's directory relative to it. */
  outDir?: string;
  /** Directory of the .flow file. */
  sourceDir?: string;
}

export interface EmittedPlan {
  /** File name without extension: `NAME.plan`. */
  baseName: string;
  ts: string;
  js: string;
  plan: ExecutionPlan;
}

export async function emit(planned: PlannedProgram, opts: EmitOptions = {}): Promise<EmittedPlan> {
  const plan: ExecutionPlan = {
    ...planned.plan,
    sourceDir: opts.outDir !== undefined && opts.sourceDir !== undefined ? relative(opts.outDir, opts.sourceDir).split("\\").join("/") || "." : ".",
  };
  const text = new ModuleWriter(planned, plan).write();
  const tsText = await prettier.format(text, { parser: "typescript", printWidth: 100 });
  const js = ts.transpileModule(tsText, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: false },
  }).outputText;
  const jsText = await prettier.format(js, { parser: "babel", printWidth: 100 });
  return { baseName: `${planned.checked.name}.plan`, ts: tsText, js: jsText, plan };
}

class ModuleWriter {
  private readonly regexes = new Map<string, string>();
  private readonly prelude = new Set<PreludeName>();
  private readonly ctx: ExprContext;
  private readonly fileName: string;

  constructor(
    private readonly planned: PlannedProgram,
    private readonly plan: ExecutionPlan,
  ) {
    const c = planned.checked;
    this.fileName = c.file.path.split(/[\\/]/).pop()!;
    this.ctx = {
      types: c.types,
      constStrings: c.constStrings,
      regex: (source, flags) => {
        const key = `new RegExp(${JSON.stringify(source)}${flags ? `, ${JSON.stringify(flags)}` : ""})`;
        let name = this.regexes.get(key);
        if (!name) this.regexes.set(key, (name = `$re${this.regexes.size}`));
        return name;
      },
      helper: (name) => {
        this.prelude.add(name);
        return `$${name}`;
      },
      prelude: (name) => {
        this.prelude.add(name);
        return `$${name}`;
      },
    };
  }

  write(): string {
    const project = new Project({ useInMemoryFileSystem: true });
    const sf = project.createSourceFile(`${this.planned.checked.name}.plan.ts`);
    const c = this.planned.checked;
    // Functions first: generating them decides which helpers and regular expressions the module needs.
    const fns = this.planned.functions.map((f) => this.fn(f));
    const usedTypes = [...c.namedTypes].filter(([, t]) => t.kind === "record");

    sf.addImportDeclaration({ isTypeOnly: true, moduleSpecifier: RUNTIME_IMPORT, namedImports: ["Collector", "ExecutionPlan", "PlanModule"] });
    for (const [name, t] of usedTypes) {
      if (t.kind !== "record") continue;
      sf.addTypeAlias({ name, isExported: true, type: `{ ${t.fields.map((f) => `${f.name}${f.optional ? "?" : ""}: ${tsType(f.type)}`).join("; ")} }` });
    }
    if (c.constants.size > 0) {
      for (const [name, k] of c.constants) {
        sf.addVariableStatement({
          declarationKind: VariableDeclarationKind.Const,
          leadingTrivia: `// ${this.where(k.decl.span)}\n`,
          // Typed as declared in Flow: TypeScript would give `const mode = "prod"` the type "prod",
          // and reject `mode === "dev"` as a comparison that can never be true.
          declarations: [{ name: mangle(name), type: tsType(k.type), initializer: constLiteral(k.value) }],
        });
      }
    }
    for (const [key, name] of this.regexes) {
      sf.addVariableStatement({ declarationKind: VariableDeclarationKind.Const, declarations: [{ name, initializer: key }] });
    }
    for (const p of this.prelude) sf.addStatements(PRELUDE[p]);
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      leadingTrivia: "// The operator graph: what the runtime builds tasks from.\n",
      declarations: [{ name: "plan", type: "ExecutionPlan", initializer: JSON.stringify(this.plan, null, 2) }],
    });
    // One insertion for all functions: ts-morph re-parses the file at every insertion.
    sf.addStatements(fns.join("\n"));
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      declarations: [{ name: "functions", initializer: `{ ${this.planned.functions.map((f) => f.name).join(", ")} } satisfies PlanModule["functions"]` }],
    });
    const header = [
      `// Generated by flowc ${FLOWC_VERSION} from ${c.file.path}. Do not edit: change the .flow file and compile again.`,
      `// Job \`${this.plan.name}\`: ${this.plan.nodes.length} operators. Read it with \`flowc explain ${c.file.path}\`.`,
    ];
    return `${header.join("\n")}\n${sf.getFullText()}`;
  }

  private where(span: A.Span): string {
    return `${this.fileName}:${this.planned.checked.file.position(span.start).line}`;
  }

  private source(span: A.Span): string {
    return this.planned.checked.file.text.slice(span.start, span.end).replace(/\s+/g, " ").trim();
  }

  private fn(f: FunctionSpec): string {
    switch (f.kind) {
      case "chain":
        return this.chain(f);
      case "value": {
        const [p] = f.lambda.params;
        return `// ${this.where(f.step.span)}: ${this.source(f.lambda.span)}
export function ${f.name}(${mangle(p!.name)}: ${tsType(f.inputType)}): number {
  return ${emitExpr(f.lambda.body, this.ctx)};
}`;
      }
      case "reduce": {
        const [a, b] = f.lambda.params;
        const t = tsType(f.type);
        return `// ${this.where(f.step.span)}: ${this.source(f.lambda.span)}
export function ${f.name}(${mangle(a!.name)}: ${t}, ${mangle(b!.name)}: ${t}): ${t} {
  return ${emitExpr(f.lambda.body, this.ctx)};
}`;
      }
    }
  }

  /**
   * One loop over the batch; each operator is a block nested in the previous one, so a filter is a
   * `continue` and a flatMap an inner loop. A record whose code throws is reported and skipped.
   */
  private chain(f: FunctionSpec & { kind: "chain" }): string {
    const steps = f.steps;
    const body = this.step(steps, 0, "$r0", f.outputType);
    const first = steps[0]!.step.span;
    return `// ${steps.map((s) => s.op).join(" → ")}, fused (${this.where(first)}${steps.length > 1 ? `-${this.planned.checked.file.position(steps[steps.length - 1]!.step.span.start).line}` : ""})
export function ${f.name}($input: readonly ${wrapArrayElem(tsType(f.inputType))}[], $out: Collector<${tsType(f.outputType)}>): void {
  for (let $i = 0; $i < $input.length; $i++) {
    const $r0 = $input[$i]!;
    try {
      ${body}
    } catch ($e) {
      $out.fail($r0, $e, ${JSON.stringify(this.where(first))});
    }
  }
}`;
  }

  private step(steps: OpStream[], k: number, cur: string, outType: FlowType): string {
    if (k === steps.length) return `$out.emit(${cur});`;
    const s = steps[k]!;
    const l = s.lambda!;
    const p = mangle(l.params[0]!.name);
    const body = emitExpr(l.body, this.ctx);
    const comment = `// ${this.where(s.step.span)}: ${this.source(s.step.call.span)}`;
    const next = `$r${k + 1}`;
    switch (s.op) {
      case "map":
        return `{ ${comment}\nconst ${p} = ${cur};\nconst ${next} = ${body};\n${this.step(steps, k + 1, next, outType)} }`;
      case "filter":
        return `{ ${comment}\nconst ${p} = ${cur};\nif (!(${body})) continue;\n${this.step(steps, k + 1, cur, outType)} }`;
      case "flatMap":
        return `{ ${comment}\nconst ${p} = ${cur};\nfor (const ${next} of ${body}) {\n${this.step(steps, k + 1, next, outType)} } }`;
      case "keyBy":
        return `{ ${comment}\nconst ${p} = ${cur};\n$out.emitKeyed(${body}, ${cur}); }`;
      default:
        throw new Error(`internal: ${s.op} in a chain`);
    }
  }
}

/** A constant's value as TypeScript; unlike JSON, keeps `1 / 0` and `0 % 0` (Infinity, NaN) as they are. */
function constLiteral(v: ConstValue): string {
  if (typeof v === "number") return Number.isFinite(v) ? (Object.is(v, -0) ? "-0" : String(v)) : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  if (Array.isArray(v)) return `[${v.map(constLiteral).join(", ")}]`;
  if (v !== null && typeof v === "object") return `{ ${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${constLiteral(x)}`).join(", ")} }`;
  return JSON.stringify(v);
}

function wrapArrayElem(t: string): string {
  return /^[\w.]+$/.test(t) ? t : `(${t})`;
}
