// `errors: NAME` on a source: NAME is a new stream of the source's bad records (a line that is not
// valid JSON, a missing field, a value of the wrong type), each one a record of ERROR_RECORD, which
// can go through operators and to any sink like another source's records.
import type * as A from "../../ast.js";
import { T, type FlowType } from "../../../runtime/types.js";

/** Matches runtime/exec/error-streams.ts's ErrorRecord. */
export const ERROR_RECORD: FlowType = T.record([
  { name: "source", type: T.string, optional: false },
  { name: "origin", type: T.string, optional: false },
  { name: "line", type: T.int, optional: false },
  { name: "message", type: T.string, optional: false },
  { name: "text", type: T.string, optional: false },
]);

export function errorsArg(call: A.CallExpr): A.Arg | undefined {
  return call.args.find((a) => a.name?.name === "errors");
}

/** The connector call as the connector sees it: `errors:` belongs to the source, not the connector. */
export function withoutErrorsArg(call: A.CallExpr): A.CallExpr {
  return errorsArg(call) ? { ...call, args: call.args.filter((a) => a.name?.name !== "errors") } : call;
}
