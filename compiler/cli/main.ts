// The `flowc` command line: check, compile, run, explain, fmt, lsp, and the cluster's worker,
// submit, status and cancel. Exit codes as tsc's: 0 ok, 1 errors in the user's program (or a job
// that failed for a reason the user can fix), 2 usage or internal error.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { hasErrors } from "../diagnostics/diagnostic.js";
import type { DiagnosticFormat } from "../diagnostics/render.js";
import { readSource, type SourceFile } from "../source.js";
import { FLOWC_VERSION } from "../version.js";
import { loadCompiler } from "./compiler.js";
import { registerClusterCommands } from "./cluster.js";
import { EXPLAIN_FORMATS, renderExplain, type ExplainFormat } from "./explain.js";
import { printDiagnostics, printProblem, type Io } from "./output.js";
import { runCommand } from "./run.js";

const formatOption = () =>
  new Option("--format <format>", "diagnostics as a code frame (pretty), file:line:col lines (plain) or JSON").choices(["pretty", "plain", "json"]).default("pretty");

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
}

/** A duration above zero (a timeout). */
export function positiveDurationMs(v: string): number {
  const n = durationMs(v);
  if (n <= 0) throw new InvalidArgumentError("expected a duration above zero, such as 500ms or 30s");
  return n;
}

/** A duration as in .flow files (`500ms`, `5s`, `1m`, `1h`) or plain milliseconds. */
export function durationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError("expected a duration such as 500ms, 5s or 1m, or milliseconds");
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms"];
  return Math.round(n);
}

function load(path: string, io: Io): SourceFile | undefined {
  try {
    return readSource(path);
  } catch (e) {
    printProblem(io, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    return undefined;
  }
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let code = 0;
  const program = new Command("flowc")
    .description("Flow: compile and run streaming dataflow programs (.flow files)")
    .version(FLOWC_VERSION)
    .showHelpAfterError("(run `flowc --help` for usage)")
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  program
    .command("check")
    .description("parse and type-check .flow files; report every error")
    .argument("<files...>", ".flow files")
    .addOption(formatOption())
    .action(async (files: string[], o: { format: DiagnosticFormat }) => {
      const { analyze } = await loadCompiler();
      const sources: SourceFile[] = [];
      const all = [];
      for (const f of files) {
        const src = load(f, io);
        if (!src) {
          code = Math.max(code, 1);
          continue;
        }
        sources.push(src);
        all.push(...analyze(src).diagnostics);
      }
      printDiagnostics(io, all, sources, o.format);
      if (hasErrors(all)) code = 1;
    });

  program
    .command("compile")
    .description("compile a .flow file to NAME.plan.ts and a runnable NAME.plan.js")
    .argument("<file>", ".flow file")
    .option("-o, --out-dir <dir>", "where to write the plan (default: next to the .flow file)")
    .addOption(formatOption())
    .action(async (file: string, o: { outDir?: string; format: DiagnosticFormat }) => {
      const src = load(file, io);
      if (!src) return void (code = 1);
      const outDir = resolve(o.outDir ?? dirname(file));
      const { compile } = await loadCompiler();
      const r = await compile(src, { outDir, sourceDir: dirname(resolve(file)) });
      printDiagnostics(io, r.diagnostics, [src], o.format);
      if (hasErrors(r.diagnostics) || !r.emitted) return void (code = 1);
      mkdirSync(outDir, { recursive: true });
      const tsPath = join(outDir, `${r.emitted.baseName}.ts`);
      const jsPath = join(outDir, `${r.emitted.baseName}.js`);
      writeFileSync(tsPath, r.emitted.ts);
      writeFileSync(jsPath, r.emitted.js);
      for (const f of r.emitted.files) {
        mkdirSync(dirname(join(outDir, f.path)), { recursive: true });
        writeFileSync(join(outDir, f.path), f.text);
      }
      if (o.format !== "json") io.stderr.write(`wrote ${tsPath}\nwrote ${jsPath}\n${r.emitted.files.some((f) => f.path.endsWith(".js")) ? `wrote ${join(outDir, `${r.emitted.baseName}.udfs`)}/ (the imported functions, as JavaScript)\n` : ""}`);
    });

  program
    .command("run")
    .description("compile (if needed) and run a job in this process")
    .argument("<file>", "a .flow file, or a .plan.js made by `flowc compile`")
    .option("-p, --partitions <n>", "parallel partitions (overrides config)", positiveInt)
    .option("--threads <n>", "threads to run the partitions on (default 1; at most one per partition; not with checkpoints)", positiveInt)
    .addOption(new Option("--progress <mode>", "progress display").choices(["auto", "bar", "lines", "none"]).default("auto"))
    .addOption(new Option("--progress-interval <seconds>", "seconds between plain progress lines").argParser(positiveInt).default(5))
    .option("-q, --quiet", "no progress and no summary")
    .option("--fail-on-error", "stop the job at the first record that fails inside an operator (overrides config `failOnError`)")
    .option("--max-problems <n>", "bad and failed records shown one by one before only counting them (default 20)", positiveInt)
    .option("--checkpoint-interval <duration>", "checkpoint every interval (5s, 500ms, or ms; 0: off); overrides `checkpoint:` in config", durationMs)
    .option("--state-dir <dir>", "where checkpoints go (default: .flow-state/<pipeline> next to the .flow file)")
    .option("--retain-checkpoints <n>", "completed checkpoints to keep (default 3)", positiveInt)
    .option("--max-declined-checkpoints <n>", "declined checkpoints in a row that fail the job (default 3)", positiveInt)
    .option("--checkpoint-timeout <duration>", "decline a checkpoint not complete after this long (default: 10 intervals, at least 30s)", positiveDurationMs)
    .option("--from <savepoint>", "start from a savepoint (`flowc savepoint`) instead of the state directory's latest checkpoint")
    .addOption(formatOption())
    .action(async (file: string, o: { partitions?: number; threads?: number; progress: "auto"; progressInterval: number; quiet?: boolean; failOnError?: boolean; format: DiagnosticFormat; checkpointInterval?: number; stateDir?: string; retainCheckpoints?: number; maxDeclinedCheckpoints?: number; maxProblems?: number; from?: string; checkpointTimeout?: number }) => {
      code = await runCommand(
        file,
        {
          ...(o.partitions === undefined ? {} : { partitions: o.partitions }),
          ...(o.threads === undefined ? {} : { threads: o.threads }),
          ...(o.failOnError ? { failOnError: true } : {}),
          progress: o.progress,
          progressInterval: o.progressInterval,
          quiet: o.quiet ?? false,
          format: o.format,
          ...(o.checkpointInterval === undefined ? {} : { checkpointIntervalMs: o.checkpointInterval }),
          ...(o.stateDir === undefined ? {} : { stateDir: o.stateDir }),
          ...(o.retainCheckpoints === undefined ? {} : { retainCheckpoints: o.retainCheckpoints }),
          ...(o.maxDeclinedCheckpoints === undefined ? {} : { maxDeclinedCheckpoints: o.maxDeclinedCheckpoints }),
          ...(o.maxProblems === undefined ? {} : { maxProblems: o.maxProblems }),
          ...(o.from === undefined ? {} : { from: o.from }),
          ...(o.checkpointTimeout === undefined ? {} : { checkpointTimeoutMs: o.checkpointTimeout }),
        },
        io,
      );
    });

  program
    .command("explain")
    .description("show the execution plan: stages, fused chains, exchanges and their keys, state, partitions")
    .argument("<file>", ".flow file")
    .option("-p, --partitions <n>", "partitions to show (overrides config)", positiveInt)
    .addOption(new Option("--format <format>", "text, json (docs/explain.md), Graphviz dot, mermaid or svg").choices(EXPLAIN_FORMATS).default("text"))
    .option("-o, --output <file>", "write to this file instead of standard output")
    .action(async (file: string, o: { partitions?: number; format: ExplainFormat; output?: string }) => {
      const src = load(file, io);
      if (!src) return void (code = 1);
      const { planOnly } = await loadCompiler();
      const r = planOnly(src);
      printDiagnostics(io, r.analysis.diagnostics, [src], "pretty");
      if (!r.planned) return void (code = 1);
      const text = await renderExplain(r.planned, o.format, o.partitions === undefined ? {} : { partitions: o.partitions });
      if (o.output === undefined) return void io.stdout.write(text);
      mkdirSync(dirname(resolve(o.output)), { recursive: true });
      writeFileSync(o.output, text);
      io.stderr.write(`wrote ${o.output}\n`);
    });

  program
    .command("test")
    .description("run the test blocks of .flow files (directories: every .flow file in them); exit 1 if one fails")
    .argument("[files...]", ".flow files or directories (default: the current directory)")
    .action(async (files: string[]) => {
      const { testCommand } = await import("./test.js");
      code = await testCommand(files, io);
    });

  program
    .command("fmt")
    .description("format .flow files in the canonical layout (standard input when no file is given)")
    .argument("[files...]", ".flow files")
    .option("--check", "list the files that are not formatted; exit 1 if there are any")
    .option("--write", "rewrite the files in place")
    .action(async (files: string[], o: { check?: boolean; write?: boolean }) => {
      const { fmtCommand } = await import("./fmt.js");
      code = fmtCommand(files, o, io);
    });

  program
    .command("lsp")
    .description("run the language server for editors (over standard input and output)")
    .option("--stdio", "talk over standard input and output (the default and only transport)")
    .action(async () => {
      const { startServer } = await import("../lsp/index.js");
      startServer();
    });

  registerClusterCommands(program, io, (c) => (code = c));

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2;
    }
    const err = e as Error;
    printProblem(io, `internal error: ${err?.message ?? String(e)}`, undefined, "this is a bug in flowc; please report it");
    if (err?.stack) io.stderr.write(err.stack + "\n");
    return 2;
  }
  return code;
}
