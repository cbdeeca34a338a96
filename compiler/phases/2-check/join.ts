// The `on:` condition of a join: one equality with one side per stream, `(a, b) => ka == kb`,
// split into the key of each side (ka uses only `a`, kb only `b`, in either order). Anything else
// cannot be computed by hashing both streams on a key, and is FLOW3009.
import type * as A from "../../ast.js";

export function splitJoinCondition(on: A.LambdaExpr): { left: A.LambdaExpr; right: A.LambdaExpr } | null {
  const [a, b] = on.params;
  if (!a || !b) return null;
  let body = on.body;
  while (body.kind === "paren") body = body.expr;
  if (body.kind !== "binary" || body.op !== "==") return null;
  const l = namesIn(body.left);
  const r = namesIn(body.right);
  const only = (s: Set<string>, p: A.Ident, q: A.Ident) => s.has(p.name) && !s.has(q.name);
  const key = (p: A.Ident, e: A.Expr): A.LambdaExpr => ({ kind: "lambda", params: [p], body: e, span: e.span });
  if (only(l, a, b) && only(r, b, a)) return { left: key(a, body.left), right: key(b, body.right) };
  if (only(l, b, a) && only(r, a, b)) return { left: key(a, body.right), right: key(b, body.left) };
  return null;
}

/** The names an expression refers to (not field names after `.`). */
function namesIn(e: A.Expr): Set<string> {
  const out = new Set<string>();
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n === null || typeof n !== "object") return;
    const node = n as { kind?: string; name?: A.Ident };
    if (node.kind === "name") {
      out.add(node.name!.name);
      return;
    }
    if (node.kind === "member") return walk((n as A.MemberExpr).object);
    for (const [k, v] of Object.entries(n)) if (k !== "span") walk(v);
  };
  walk(e);
  return out;
}
