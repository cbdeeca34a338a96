// Names to declarations: every name a .flow file declares (types, constants, sources, streams,
// imported functions, named sinks, lambda parameters) with the identifier that declares it and
// every identifier that refers to it. The rules are the checker's: a lambda's parameters hide
// constants and streams; `given NAME` names a source and `expect NAME` a sink's `as NAME`; a call
// names an imported function when one is imported under its name. For go to definition, find
// references, rename and semantic highlighting.
import type * as A from "../ast.js";
import { children, type AstNode } from "./nodes.js";

export type SymbolKind = "type" | "const" | "source" | "stream" | "udf" | "sink" | "param";

export interface FlowSymbol {
  name: string;
  kind: SymbolKind;
  /** The identifier that declares it. */
  decl: A.Ident;
  /** The declaration: the item, the import, the sink step or the lambda. */
  node: A.Item | A.SinkStep | A.LambdaExpr;
  /** Identifiers that refer to it (not the declaration). */
  refs: A.Ident[];
}

export interface SymbolTable {
  symbols: FlowSymbol[];
  /** Every declaring or referring identifier, to its symbol. */
  byIdent: Map<A.Ident, FlowSymbol>;
}

export function symbolsOf(program: A.Program): SymbolTable {
  const symbols: FlowSymbol[] = [];
  const byIdent = new Map<A.Ident, FlowSymbol>();
  const values = new Map<string, FlowSymbol>();
  const types = new Map<string, FlowSymbol>();
  const sinks = new Map<string, FlowSymbol>();

  const declare = (table: Map<string, FlowSymbol>, name: A.Ident, kind: SymbolKind, node: FlowSymbol["node"]): FlowSymbol | undefined => {
    if (name.name === "") return undefined;
    const s: FlowSymbol = { name: name.name, kind, decl: name, node, refs: [] };
    symbols.push(s);
    byIdent.set(name, s);
    // A duplicate is an error the checker reports; references go to the first declaration.
    if (!table.has(name.name)) table.set(name.name, s);
    return s;
  };
  const refer = (s: FlowSymbol | undefined, ident: A.Ident): void => {
    if (!s || ident.name === "" || byIdent.has(ident)) return;
    s.refs.push(ident);
    byIdent.set(ident, s);
  };

  for (const item of program.items) {
    switch (item.kind) {
      case "type":
        declare(types, item.name, "type", item);
        break;
      case "const":
      case "source":
      case "stream":
        declare(values, item.name, item.kind, item);
        break;
      case "import":
        for (const n of item.names) declare(values, n, "udf", item);
        break;
    }
  }
  // Sinks are named inside pipelines; tests refer to them from anywhere in the file.
  const visitSinks = (n: AstNode): void => {
    if (n.kind === "sink" && n.as) declare(sinks, n.as, "sink", n);
    for (const k of children(n)) visitSinks(k);
  };
  visitSinks(program);

  const visit = (n: AstNode, scope: Map<string, FlowSymbol>[]): void => {
    const lookup = (name: string): FlowSymbol | undefined => {
      for (let i = scope.length - 1; i >= 0; i--) {
        const s = scope[i]!.get(name);
        if (s) return s;
      }
      return values.get(name);
    };
    switch (n.kind) {
      case "name":
        refer(lookup(n.name.name), n.name);
        return;
      case "namedType":
        refer(types.get(n.name.name), n.name);
        return;
      case "call": {
        const s = values.get(n.callee.name);
        if (s?.kind === "udf") refer(s, n.callee);
        break;
      }
      case "given":
        refer(values.get(n.source.name)?.kind === "source" ? values.get(n.source.name) : undefined, n.source);
        break;
      case "expect":
        refer(sinks.get(n.sink.name), n.sink);
        break;
      case "lambda": {
        const params = new Map<string, FlowSymbol>();
        for (const p of n.params) {
          const s = declare(new Map(), p, "param", n);
          if (s && !params.has(p.name)) params.set(p.name, s);
        }
        visit(n.body, [...scope, params]);
        return;
      }
    }
    for (const k of children(n)) visit(k, scope);
  };
  visit(program, []);
  return { symbols, byIdent };
}
