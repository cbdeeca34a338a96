// Event time for the checker: whether a stream's elements carry event time (they have passed a
// `watermark`), which decides whether its windows, joins and distinct run in event or processing
// time; and the `late: NAME` names of windows, collected before checking so that a pipeline can use
// a window's late elements wherever it stands in the file.
import type * as A from "../../ast.js";
import type { Stream } from "./logical.js";

/** True when the stream's elements have event time: after `watermark`, or derived from such a stream. */
export function hasEventTime(s: Stream): boolean {
  switch (s.kind) {
    case "source":
      return false;
    case "op":
      return s.op === "watermark" || hasEventTime(s.input);
    case "union":
      return s.inputs.every(hasEventTime);
    case "join":
      return s.time === "event";
    case "late":
      return true;
  }
}

/** A `late: NAME` argument of a `window(...)` step, with the top-level item it stands in. */
export interface LateDecl {
  ident: A.Ident;
  item: A.StreamDecl | A.PipelineStmt;
}

/** Every `late: NAME` of a window in the program's streams and pipelines. */
export function collectLateNames(program: A.Program): LateDecl[] {
  const out: LateDecl[] = [];
  const visit = (e: A.Expr, item: LateDecl["item"]): void => {
    if (e.kind === "paren") return visit(e.expr, item);
    if (e.kind !== "pipe") return;
    visit(e.head, item);
    for (const step of e.steps) {
      if (step.kind !== "op") continue;
      for (const a of step.call.args) {
        if (step.call.callee.name === "window" && a.name?.name === "late" && a.value.kind === "name") out.push({ ident: a.value.name, item });
        else visit(a.value, item);
      }
    }
  };
  for (const item of program.items) {
    if (item.kind === "stream") visit(item.value, item);
    else if (item.kind === "pipeline") visit(item.pipe, item);
  }
  return out;
}
