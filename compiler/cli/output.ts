// How the CLI talks to a person: colour decided here (not by picocolors' own detection, which turns
// colour on under CI), diagnostics in the chosen format, and runtime problems without stack traces.
import { readFileSync } from "node:fs";
import pc from "picocolors";
import type { SourceLoc } from "../../runtime/plan.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostics, summarize, type DiagnosticFormat } from "../diagnostics/render.js";
import { SourceFile } from "../source.js";

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function colors(io: Io, stream: "stdout" | "stderr" = "stderr") {
  return pc.createColors(useColor(io[stream], io.env));
}

export function printDiagnostics(io: Io, diags: readonly Diagnostic[], files: SourceFile[], format: DiagnosticFormat): void {
  // Labels may point into an imported TypeScript module: read it to show the lines.
  const others = new Map<string, SourceFile | undefined>();
  const lookup = (p: string) => {
    const known = files.find((f) => f.path === p);
    if (known || !/\.(m|c)?ts$/.test(p)) return known;
    if (!others.has(p)) {
      try {
        others.set(p, new SourceFile(p, readFileSync(p, "utf8")));
      } catch {
        others.set(p, undefined);
      }
    }
    return others.get(p);
  };
  if (format === "json") {
    io.stdout.write(renderDiagnostics(diags, lookup, "json") + "\n");
    return;
  }
  if (diags.length === 0) return;
  const color = useColor(io.stderr, io.env);
  io.stderr.write(renderDiagnostics(diags, lookup, format, color) + "\n");
  if (format === "pretty") io.stderr.write(`\n${summarize(diags)}\n`);
}

/** A runtime problem the user can fix: message, where in the .flow file, and the likely fix. */
export function printProblem(io: Io, message: string, loc?: SourceLoc, hint?: string): void {
  const c = colors(io);
  io.stderr.write(`${c.bold(c.red("error"))}${c.bold(`: ${message}`)}\n`);
  if (loc) io.stderr.write(`${c.blue(" -->")} ${loc.file}:${loc.line}:${loc.column}\n`);
  if (hint) io.stderr.write(`${c.blue("  = help:")} ${hint}\n`);
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
