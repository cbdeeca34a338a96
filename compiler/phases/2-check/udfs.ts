// Imported TypeScript functions (UDFs): reads the module an `import { f } from "./udfs.ts"` names
// with ts-morph's bundled TypeScript, maps each imported function's parameter and return types to
// Flow types, and checks calls against them. A module is read again only when it or a local module
// it imports changed (the editor re-checks on every keystroke).
//
// TypeScript → Flow: `number` → float (an alias named `int`, `timestamp` or `duration`, as in
// `type int = number`, gives that Flow type); `string`; `boolean` → bool; `T[]` and
// `ReadonlyArray<T>` → arrays; object literal types and interfaces → records (an optional property
// is an optional field); `T | undefined` (or `| null`) → a value that may be missing. Everything
// else (any, unknown, unions of unrelated types, functions, Map, Date, tuples, index signatures,
// generics, overloads) has no Flow equivalent and is error FLOW2032 at the import.
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { Node, Project, ts, type Signature, type Symbol as TsSymbol, type Type } from "ts-morph";
import type * as A from "../../ast.js";
import type { Label } from "../../diagnostics/diagnostic.js";
import { suggest } from "../../util/suggest.js";
import { T, typeToString, type FlowType, type RecordField } from "../../../runtime/types.js";
import type { Report } from "./expressions.js";
import { findMismatch } from "./mismatch.js";
import { assignable } from "./types.js";

export interface UdfParam {
  name: string;
  type: FlowType;
  optional: boolean;
}

/** An imported function as the checker and the emitter see it. */
export interface Udf {
  name: string;
  /** Absolute path of the TypeScript module. */
  module: string;
  /** The import's path as written in the .flow file. */
  specifier: string;
  params: UdfParam[];
  result: FlowType;
  /** `slug(s: string): string`, in Flow types, for hints. */
  signature: string;
  /** The module and the local TypeScript modules it imports (absolute paths): what a plan must ship. */
  files: string[];
}

type Export = { ok: true; params: UdfParam[]; result: FlowType } | { ok: false; message: string; label: string; at: Label };

interface ModuleInfo {
  /** Modification times of the module and the local modules it imports, when read. */
  mtimes: Map<string, number>;
  exports: Map<string, Export>;
  /** Every export's name, functions or not, for "did you mean". */
  names: string[];
  files: string[];
}

const cache = new Map<string, ModuleInfo>();

/** The modules a .flow file's imports name, resolved against the file's directory. */
export function resolveImport(file: { path: string; baseDir?: string }, specifier: string): string {
  return isAbsolute(specifier) ? specifier : resolve(file.baseDir ?? dirname(file.path), specifier);
}

/** Reads an import: reports what is wrong at the import and returns the functions that are usable. */
export function loadImport(decl: A.ImportDecl, modulePath: string, report: Report): Map<string, Udf> {
  const out = new Map<string, Udf>();
  const spec = decl.from.value;
  if (!/\.(m|c)?ts$/.test(spec) || /\.d\.(m|c)?ts$/.test(spec)) {
    report("FLOW2030", decl.from.span, `An import must name a TypeScript module (a \`.ts\` file), not ${JSON.stringify(spec)}.`, { label: "not a .ts file", hints: ['write the path with its extension, as in `import { f } from "./udfs.ts"`'] });
    return out;
  }
  if (!existsSync(modulePath) || !statSync(modulePath).isFile()) {
    report("FLOW2030", decl.from.span, `I cannot find the module ${JSON.stringify(spec)}.`, { label: "no such file", hints: ["the path is relative to the directory of the .flow file"] });
    return out;
  }
  let info: ModuleInfo;
  try {
    info = readModule(modulePath);
  } catch (e) {
    report("FLOW2030", decl.from.span, `I cannot read the module ${JSON.stringify(spec)}: ${(e as Error).message}.`, { label: "unreadable module" });
    return out;
  }
  for (const n of decl.names) {
    const ex = info.exports.get(n.name);
    if (!ex) {
      const functions = [...info.exports.keys()];
      const close = suggest(n.name, functions);
      const isOther = info.names.includes(n.name);
      report("FLOW2031", n.span, isOther ? `\`${n.name}\` in ${JSON.stringify(spec)} is not a function.` : `${JSON.stringify(spec)} has no exported function named \`${n.name}\`.`, {
        label: isOther ? "not a function" : "no such export",
        hints: [close ? `did you mean \`${close}\`?` : functions.length > 0 ? `its exported functions are ${functions.map((f) => `\`${f}\``).join(", ")}` : "export the function with `export function NAME(...)`"],
      });
      continue;
    }
    if (!ex.ok) {
      report("FLOW2032", n.span, `\`${n.name}\` cannot be called from Flow: ${ex.message}.`, {
        label: ex.label,
        labels: [ex.at],
        hints: ["Flow calls functions that take and return number, string, boolean, arrays and object types of them (optional properties allowed); wrap this one in a function with such types"],
      });
      continue;
    }
    const params = ex.params.map((p) => `${p.name}${p.optional ? "?" : ""}: ${typeToString(p.type)}`).join(", ");
    out.set(n.name, { name: n.name, module: modulePath, specifier: spec, params: ex.params, result: ex.result, signature: `${n.name}(${params}): ${typeToString(ex.result)}`, files: info.files });
  }
  return out;
}

/** Checks a call of an imported function; returns its result type. */
export function checkUdfCall(udf: Udf, call: A.CallExpr, argTypes: FlowType[], report: Report, types: ReadonlyMap<A.Expr, FlowType>): FlowType {
  const show = (t: FlowType) => `\`${typeToString(t)}\``;
  const min = udf.params.filter((p) => !p.optional).length;
  const max = udf.params.length;
  for (const a of call.args) if (a.name) report("FLOW2008", a.name.span, `\`${udf.name}\` takes no named arguments.`, { hints: [udf.signature] });
  if (call.args.length < min || call.args.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    report("FLOW2007", call.argsSpan, `\`${udf.name}\` takes ${want} argument${max === 1 ? "" : "s"}, but ${call.args.length === 1 ? "1 was" : `${call.args.length} were`} given.`, { hints: [udf.signature] });
    return udf.result;
  }
  call.args.forEach((a, i) => {
    const p = udf.params[i]!;
    const t = argTypes[i]!;
    const want = p.optional && p.type.kind !== "optional" ? { kind: "optional" as const, inner: p.type } : p.type;
    if (!assignable(t, want)) {
      const missing = t.kind === "optional" && assignable(t.inner, want);
      // A record or array literal: point at the part that does not fit.
      const m = !missing && (a.value.kind === "record" || a.value.kind === "array") ? findMismatch(a.value, want, types, `The parameter \`${p.name}\` of \`${udf.name}\``) : undefined;
      if (m) {
        report("FLOW2006", m.span, m.message, { label: m.label, hints: [udf.signature] });
        return;
      }
      report("FLOW2006", a.value.span, missing ? `This value may be missing, but the parameter \`${p.name}\` of \`${udf.name}\` needs one.` : `The parameter \`${p.name}\` of \`${udf.name}\` is ${show(p.type)}, but this is ${show(t)}.`, {
        label: show(t),
        hints: missing ? ["give a default with `??`"] : [udf.signature],
      });
    }
  });
  return udf.result;
}

// ---------------------------------------------------------------- reading TypeScript

function readModule(path: string): ModuleInfo {
  const known = cache.get(path);
  if (known && [...known.mtimes].every(([f, t]) => mtimeOf(f) === t)) return known;
  const project = new Project({
    compilerOptions: {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
    },
    skipAddingFilesFromTsConfig: true,
  });
  const sf = project.addSourceFileAtPath(path);
  project.resolveSourceFileDependencies();
  const program = project.getProgram().compilerObject;
  const isLib = (s: TsSymbol | undefined) =>
    (s?.getDeclarations() ?? []).some((d) => {
      const f = d.getSourceFile();
      return program.isSourceFileDefaultLibrary(f.compilerNode) || f.isInNodeModules();
    });
  const exports = new Map<string, Export>();
  const names: string[] = [];
  for (const [name, decls] of sf.getExportedDeclarations()) {
    names.push(name);
    const decl = decls[0];
    if (!decl) continue;
    const type = decl.getType();
    const sigs = type.getCallSignatures();
    if (sigs.length === 0 || !(Node.isFunctionDeclaration(decl) || Node.isVariableDeclaration(decl))) continue;
    exports.set(name, signature(name, decl, sigs, isLib));
  }
  const files = project
    .getSourceFiles()
    .filter((f) => !f.isDeclarationFile() && !f.isInNodeModules() && !program.isSourceFileDefaultLibrary(f.compilerNode))
    .map((f) => resolve(f.getFilePath()));
  const info = { mtimes: new Map([path, ...files].map((f) => [f, mtimeOf(f)])), exports, names, files };
  cache.set(path, info);
  return info;
}

/** A type with no Flow equivalent: what kind of type it is, and how it is written. */
function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

class Unsupported extends Error {
  constructor(
    readonly what: string,
    readonly text: string,
  ) {
    super(what);
  }
}

/** `has the TypeScript type `X`, a union of unrelated types,` or, for a part of X, which part it is. */
function describe(whole: string, e: Unsupported): string {
  return e.text === whole ? `has the TypeScript type \`${whole}\`, ${e.what}, which has no Flow equivalent` : `has the TypeScript type \`${whole}\`: \`${e.text}\` in it is ${e.what}, which has no Flow equivalent`;
}

function labelAt(node: Node, message: string): Label {
  return { file: node.getSourceFile().getFilePath(), span: { start: node.getStart(), end: node.getEnd() }, message };
}

function signature(name: string, decl: Node, sigs: Signature[], isLib: (s: TsSymbol | undefined) => boolean): Export {
  const fail = (message: string, label: string, node: Node): Export => ({ ok: false, message, label, at: labelAt(node, label) });
  if (sigs.length > 1) return fail("it has several overloads", "overloaded", decl);
  const sig = sigs[0]!;
  if (sig.getTypeParameters().length > 0) return fail("it is generic (it has type parameters)", "generic function", decl);
  const params: UdfParam[] = [];
  for (const p of sig.getParameters()) {
    const pd = p.getValueDeclaration();
    if (!pd || !Node.isParameterDeclaration(pd)) return fail(`its parameter \`${p.getName()}\` has no declaration`, "parameter", decl);
    if (pd.isRestParameter()) return fail(`its parameter \`...${p.getName()}\` is a rest parameter`, "rest parameter", pd);
    const optional = pd.isOptional();
    try {
      let t = toFlow(pd.getType(), pd.getTypeNode(), pd, isLib, new Set());
      // An optional parameter's type includes `undefined`: the parameter itself says it may be missing.
      if (optional && t.kind === "optional") t = t.inner;
      params.push({ name: p.getName(), type: t, optional });
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      return fail(`its parameter \`${p.getName()}\` ${describe(pd.getType().getText(pd), e)}`, "no Flow equivalent", pd);
    }
  }
  const returnNode = Node.isFunctionDeclaration(decl) ? decl.getReturnTypeNode() : Node.isVariableDeclaration(decl) ? returnTypeNodeOf(decl) : undefined;
  const rt = sig.getReturnType();
  const at = returnNode ?? decl;
  if (rt.isAny() && !returnNode) return fail("its result type is not known (annotate the return type)", "result type not known", at);
  try {
    if (rt.getSymbol()?.getName() === "Promise") throw new Unsupported("a promise (Flow calls functions synchronously)", rt.getText(decl));
    if (rt.getFlags() & ts.TypeFlags.Void) throw new Unsupported("no value (a function called from Flow must return one)", rt.getText(decl));
    const result = toFlow(rt, returnNode, at, isLib, new Set());
    return { ok: true, params, result };
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    return fail(`its result ${describe(rt.getText(decl), e)}`, "no Flow equivalent", at);
  }
  void name;
}

function returnTypeNodeOf(decl: Node): Node | undefined {
  if (!Node.isVariableDeclaration(decl)) return undefined;
  const init = decl.getInitializer();
  if (init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) return init.getReturnTypeNode();
  return undefined;
}

const ALIASES: Record<string, FlowType> = { int: T.int, float: T.float, timestamp: T.timestamp, duration: T.duration };

/**
 * A TypeScript type as a Flow type; throws Unsupported. `node` is the type as written, when there
 * is one: it carries what the checker's types lose (an alias name such as `int`).
 */
function toFlow(type: Type, node: Node | undefined, at: Node, isLib: (s: TsSymbol | undefined) => boolean, seen: Set<Type>): FlowType {
  const no = (what: string) => new Unsupported(what, type.getText(at));
  if (type.isAny()) throw no("a type that is not checked");
  if (type.isUnknown()) throw no("a type that is not known");
  if (type.isNumber()) {
    if (node && Node.isTypeReference(node)) {
      const alias = ALIASES[node.getTypeName().getText()];
      if (alias) return alias;
    }
    return T.float;
  }
  if (type.isString()) return T.string;
  if (type.isBoolean()) return T.bool;
  if (type.isUnion()) {
    const parts = type.getUnionTypes();
    const present = parts.filter((t) => !t.isUndefined() && !t.isNull());
    if (present.length < parts.length && present.length > 0) {
      // `x?: int` has the type `number | undefined` but the type node `int`.
      const innerNode = node && Node.isUnionTypeNode(node) ? node.getTypeNodes().find((n) => !/^(undefined|null)$/.test(n.getText())) : node;
      const inner = present.length === 1 ? toFlow(present[0]!, innerNode, at, isLib, seen) : present.every((t) => t.isBooleanLiteral()) ? T.bool : undefined;
      if (!inner) throw no("a union of different types");
      return inner.kind === "optional" ? inner : { kind: "optional", inner };
    }
    if (present.every((t) => t.isBooleanLiteral())) return T.bool;
    throw no("a union of different types");
  }
  if (type.isEnum() || type.isEnumLiteral()) throw no("an enum");
  if (type.isLiteral() || type.isBooleanLiteral()) throw no("a literal type");
  if (type.isTuple()) throw no("a tuple");
  if (type.isArray() || type.isReadonlyArray()) {
    const elem = type.getArrayElementType() ?? type.getTypeArguments()[0];
    if (!elem) throw no("an array of unknown elements");
    const elemNode = node && Node.isArrayTypeNode(node) ? node.getElementTypeNode() : node && Node.isTypeReference(node) ? node.getTypeArguments()[0] : undefined;
    return T.array(toFlow(elem, elemNode, at, isLib, seen));
  }
  if (type.isObject() || type.isIntersection()) {
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) throw no("a function type");
    if (isLib(type.getSymbol())) throw no("a built-in class");
    if (type.getStringIndexType() || type.getNumberIndexType()) throw no("an object with an index signature");
    if (seen.has(type)) throw no("a recursive type");
    seen.add(type);
    const fields: RecordField[] = [];
    for (const p of type.getProperties()) {
      const pd = p.getValueDeclaration() ?? p.getDeclarations()[0];
      const ptype = p.getTypeAtLocation(at);
      const pnode = pd && (Node.isPropertySignature(pd) || Node.isPropertyDeclaration(pd)) ? pd.getTypeNode() : undefined;
      if (pd && (Node.isMethodSignature(pd) || Node.isMethodDeclaration(pd))) throw no(`an object with a method (\`${p.getName()}\`)`);
      const optional = p.isOptional();
      let t = toFlow(ptype, pnode, at, isLib, seen);
      if (optional && t.kind === "optional") t = t.inner;
      if (t.kind === "optional") throw no(`an object whose property \`${p.getName()}\` may be \`undefined\` without being optional (write \`${p.getName()}?:\`)`);
      fields.push({ name: p.getName(), type: t, optional });
    }
    seen.delete(type);
    return T.record(fields);
  }
  throw no("a type Flow does not know");
}
