// Positions to nodes: every node of the AST with its children in source order, and the path from
// the program down to the innermost node at an offset. For the language server (hover,
// definition, completion); names are nodes of their own here, so a cursor on `x` in `x.word`
// finds the identifier, its name expression, the member expression, and so on up.
import type * as A from "../ast.js";

export type AstNode =
  | A.Program
  | A.Item
  | A.Ident
  | A.ConfigEntry
  | A.TestStmt
  | A.TypeExpr
  | A.FieldTypeExpr
  | A.Expr
  | A.RecordFieldInit
  | A.Arg
  | A.PipeStep;

/** The children of a node, in source order. */
export function children(n: AstNode): AstNode[] {
  switch (n.kind) {
    case "program":
      return n.items;
    case "header":
      return [n.name];
    case "import":
      return [...n.names, n.from];
    case "type":
      return [n.name, n.type];
    case "const":
      return [n.name, n.value];
    case "config":
      return n.entries;
    case "configEntry":
      return [n.key, n.value];
    case "source":
      return [n.name, n.type, n.connector];
    case "stream":
      return [n.name, n.value];
    case "pipeline":
      return [n.pipe];
    case "test":
      return [n.name, ...n.body];
    case "given":
      return [n.source, n.value];
    case "expect":
      return [n.sink, n.value];
    case "namedType":
      return [n.name];
    case "arrayType":
      return [n.element];
    case "recordType":
      return n.fields;
    case "fieldType":
      return [n.name, n.type];
    case "array":
      return n.elements;
    case "record":
      return n.fields;
    case "fieldInit":
      return [n.name, n.value];
    case "name":
      return [n.name];
    case "unary":
      return [n.operand];
    case "binary":
      return [n.left, n.right];
    case "conditional":
      return [n.test, n.then, n.else];
    case "member":
      return [n.object, n.property];
    case "index":
      return [n.object, n.index];
    case "call":
      return [n.callee, ...n.args];
    case "arg":
      return n.name ? [n.name, n.value] : [n.value];
    case "lambda":
      return [...n.params, n.body];
    case "pipe":
      return [n.head, ...n.steps];
    case "op":
      return [n.call];
    case "sink":
      return n.as ? [n.connector, n.as] : [n.connector];
    case "paren":
      return [n.expr];
    case "ident":
    case "int":
    case "float":
    case "string":
    case "bool":
    case "duration":
    case "missing":
    case "missingType":
      return [];
  }
}

/**
 * The nodes that contain `offset`, outermost first. A node contains the offsets from its start to
 * just before its end; with `touching`, also its end (a cursor right after a name is on it).
 */
export function pathAt(program: A.Program, offset: number, touching = false): AstNode[] {
  const path: AstNode[] = [program];
  let node: AstNode = program;
  for (;;) {
    const kids = children(node);
    const inside = kids.find((k) => k.span.start <= offset && offset < k.span.end) ?? (touching ? kids.findLast((k) => k.span.end === offset && k.span.end > k.span.start) : undefined);
    if (!inside) return path;
    path.push(inside);
    node = inside;
  }
}

/** Calls `visit` on every node under `n` (n included), parents before children. */
export function walk(n: AstNode, visit: (node: AstNode, parent: AstNode | undefined) => void, parent?: AstNode): void {
  visit(n, parent);
  for (const k of children(n)) walk(k, visit, n);
}
