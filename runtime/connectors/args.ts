// A connector's arguments with the catalog's defaults filled in. The compiler has already checked
// names, types and `oneOf` values against catalog.ts, so anything wrong here is a bug, not a user
// mistake; the plan may simply omit arguments that have defaults.
import type { ConnectorSpec, ConstValue } from "../plan.js";
import { findConnector } from "./catalog.js";

export type TextFormat = "lines" | "csv" | "jsonl";

export class ConnectorArgs {
  private readonly values: Record<string, ConstValue>;

  constructor(spec: ConnectorSpec) {
    const info = findConnector(spec.type);
    if (!info) throw new Error(`internal: no connector \`${spec.type}\` in the catalog`);
    this.values = {};
    for (const p of info.params) {
      const v = spec.args[p.name] ?? p.default;
      if (v === undefined) throw new Error(`internal: connector \`${spec.type}\` is missing its argument \`${p.name}\``);
      this.values[p.name] = v;
    }
  }

  string(name: string): string {
    const v = this.values[name];
    if (typeof v !== "string") throw new Error(`internal: argument \`${name}\` should be a string, is ${JSON.stringify(v)}`);
    return v;
  }

  int(name: string): number {
    const v = this.values[name];
    if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`internal: argument \`${name}\` should be an int, is ${JSON.stringify(v)}`);
    return v;
  }

  format(): TextFormat {
    const v = this.string("format");
    if (v !== "lines" && v !== "csv" && v !== "jsonl") throw new Error(`internal: unknown format "${v}"`);
    return v;
  }
}
