// `flowc run`: compiles a .flow file (or loads an emitted plan module), runs it in this process
// and reports as it goes: bad records with their position, progress over bounded input (a bar on
// a terminal, plain periodic lines otherwise), and a summary at the end.
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import cliProgress from "cli-progress";
import { Job, JobError, type JobStats, type RunSummary } from "../../runtime/exec/job.js";
import type { PlanModule } from "../../runtime/plan.js";
import type { BadRecord } from "../../runtime/connectors/api.js";
import { DEFAULT_MAX_DECLINES, DEFAULT_RETAIN, defaultStateDir, EmbeddedCheckpoints } from "../../runtime/checkpoint/embedded.js";
import type { CheckpointStats } from "../../runtime/checkpoint/coordinator.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import type { DiagnosticFormat } from "../diagnostics/render.js";
import { readSource } from "../source.js";
import { loadCompiler } from "./compiler.js";
import { loadEmitted } from "./load-plan.js";
import { colors, formatBytes, formatCount, printDiagnostics, printProblem, type Io } from "./output.js";

export interface RunFlags {
  partitions?: number;
  /** Threads to run the partitions on (RunOptions.threads). */
  threads?: number;
  format: DiagnosticFormat;
  progress: "auto" | "bar" | "lines" | "none";
  /** Seconds between plain progress lines. */
  progressInterval: number;
  quiet: boolean;
  /** Stop at the first record that fails inside an operator. */
  failOnError?: boolean;
  /** Milliseconds between checkpoints; overrides the plan's `checkpoint:` config. 0 turns them off. */
  checkpointIntervalMs?: number;
  stateDir?: string;
  retainCheckpoints?: number;
  maxDeclinedCheckpoints?: number;
  checkpointTimeoutMs?: number;
  /** A savepoint to start from (`flowc savepoint`). */
  from?: string;
  /** Bad and failed records shown one by one before only counting (default SHOW_PROBLEMS). */
  maxProblems?: number;
}

/** Bad records and failed records shown one by one before only counting. */
const SHOW_PROBLEMS = 20;

export async function runCommand(target: string, flags: RunFlags, io: Io): Promise<number> {
  // Worker threads import the plan module again: its files stay until the job has ended.
  const loaded = await loadJob(target, flags.format, io, (flags.threads ?? 1) > 1);
  if (!loaded) return 1;
  // (A second Ctrl-C ends the process at once: the files go then too.)
  process.on("exit", loaded.dispose);
  try {
    return await execute(loaded.mod, loaded.moduleUrl, loaded.baseDir, flags, io);
  } finally {
    process.off("exit", loaded.dispose);
    loaded.dispose();
  }
}

/** A job to run: compiled from a .flow file, or an emitted plan module; undefined after printing why not. */
export async function loadJob(target: string, format: DiagnosticFormat, io: Io, keep = false): Promise<{ mod: PlanModule; moduleUrl: string; baseDir: string | undefined; dispose(): void } | undefined> {
  let mod: PlanModule;
  let moduleUrl: string;
  let baseDir: string | undefined;
  let dispose = () => {};
  if (/\.m?js$/.test(target)) {
    moduleUrl = pathToFileURL(resolve(target)).href;
    try {
      mod = (await import(moduleUrl)) as PlanModule;
    } catch (e) {
      printProblem(io, `cannot load the plan module ${target}: ${(e as Error).message}`, undefined, "compile a .flow file with `flowc compile FILE.flow`");
      return undefined;
    }
    if (!mod.plan || !mod.functions) {
      printProblem(io, `${target} is not a plan module: it exports no \`plan\` and \`functions\``, undefined, "pass a .flow file or a .plan.js file made by `flowc compile`");
      return undefined;
    }
  } else {
    let file;
    try {
      file = readSource(target);
    } catch (e) {
      printProblem(io, `cannot read ${target}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
      return undefined;
    }
    const dir = join(tmpdir(), "flowc-plans", createHash("sha256").update(resolve(target)).digest("hex").slice(0, 16));
    const { compile } = await loadCompiler();
    const r = await compile(file, { outDir: dir, sourceDir: dirname(resolve(target)) });
    printDiagnostics(io, r.diagnostics, [file], format);
    if (hasErrors(r.diagnostics) || !r.emitted) return undefined;
    // The plan's sourceDir is relative to `dir`; a run directory inside it would shift it, so the
    // .flow file's directory is passed as baseDir.
    ({ mod, moduleUrl, dispose } = await loadEmitted(r.emitted, dir, keep));
    baseDir = dirname(resolve(target));
  }
  return { mod, moduleUrl, baseDir, dispose };
}

/** The directory a job's relative paths (file sources and sinks, the state directory) resolve against. */
export function jobBaseDir(mod: PlanModule, moduleUrl: string, baseDir: string | undefined): string {
  return baseDir ?? resolve(dirname(fileURLToPath(moduleUrl)), mod.plan.sourceDir);
}

async function execute(mod: PlanModule, moduleUrl: string, baseDir: string | undefined, flags: RunFlags, io: Io): Promise<number> {
  const c = colors(io);
  let shown = 0;
  const limit = flags.maxProblems ?? SHOW_PROBLEMS;
  const problem = (text: string) => {
    if (shown < limit) io.stderr.write(`${c.yellow("warning")}: ${text}\n`);
    else if (shown === limit) io.stderr.write(`${c.yellow("warning")}: more bad records follow; they are counted in the summary\n`);
    shown++;
  };
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      io.stderr.write("\nStopping: ending the sources and flushing windows and sinks (Ctrl-C again to quit at once)\n");
      abort.abort();
    } else process.exit(130);
  };
  let job: Job;
  let ckpt: EmbeddedCheckpoints | undefined;
  const intervalMs = flags.checkpointIntervalMs ?? mod.plan.config.checkpointIntervalMs ?? 0;
  if ((flags.threads ?? 1) > 1 && (flags.partitions ?? mod.plan.config.partitions) > 1 && intervalMs > 0) {
    printProblem(io, "--threads cannot be combined with checkpoints yet: a checkpoint's barriers and snapshots do not cross threads", undefined, "run with one thread, or turn checkpoints off with --checkpoint-interval 0");
    return 1;
  }
  try {
    if (intervalMs > 0) {
      const dir = jobBaseDir(mod, moduleUrl, baseDir);
      ckpt = await EmbeddedCheckpoints.open(mod.plan, dir, flags.partitions ?? mod.plan.config.partitions, {
        intervalMs,
        stateDir: resolve(flags.stateDir ?? defaultStateDir(dir, mod.plan.name)),
        retain: flags.retainCheckpoints ?? DEFAULT_RETAIN,
        maxDeclines: flags.maxDeclinedCheckpoints ?? DEFAULT_MAX_DECLINES,
        ...(flags.from ? { from: resolve(flags.from) } : {}),
        ...(flags.checkpointTimeoutMs === undefined ? {} : { timeoutMs: flags.checkpointTimeoutMs }),
      }, (m) => io.stderr.write(`${c.yellow("warning")}: ${m}\n`));
      const from = ckpt.stats.resumedFrom;
      if (from !== undefined && !flags.quiet) io.stderr.write(flags.from ? `Starting ${mod.plan.name} from the savepoint ${flags.from} (checkpoint ${from})\n` : `Resuming ${mod.plan.name} from checkpoint ${from}\n`);
    } else if (flags.from) {
      printProblem(io, "--from needs checkpoints: the job restores its state through them", undefined, "add --checkpoint-interval (for example 5s), or `checkpoint:` in the pipeline's config");
      return 1;
    }
    job = new Job(mod, {
      ...(ckpt ? ckpt.runOptions() : {}),
      ...(flags.partitions === undefined ? {} : { partitions: flags.partitions }),
      ...(flags.threads === undefined ? {} : { threads: flags.threads }),
      ...(flags.failOnError ? { failOnError: true } : {}),
      ...(baseDir ? { baseDir } : {}),
      moduleUrl,
      signal: abort.signal,
      reporter: {
        badRecord: (b: BadRecord) => (ckpt && !ckpt.firstReport(b) ? undefined : problem(`bad record at ${b.origin}:${b.line} (source \`${b.source}\`): ${b.message}${b.text ? `\n    ${truncate(b.text)}` : ""}`)),
        recordFailed: (f) => problem(`record failed at ${f.where}: ${f.message}\n    ${truncate(JSON.stringify(f.record) ?? String(f.record))}`),
      },
    });
    await job.open();
  } catch (e) {
    return reportFailure(e, io);
  }
  process.on("SIGINT", onSigint);
  const progress = startProgress(job, flags, io);
  let summary: RunSummary;
  try {
    summary = await job.run();
    await ckpt?.finish(job);
  } catch (e) {
    progress.stop();
    await ckpt?.abandon();
    return reportFailure(e, io);
  } finally {
    process.off("SIGINT", onSigint);
  }
  progress.stop();
  if (!flags.quiet) io.stderr.write(renderSummary(mod.plan.name, summary, io, ckpt?.stats));
  return 0;
}

function reportFailure(e: unknown, io: Io): number {
  if (e instanceof JobError) {
    printProblem(io, e.message, e.loc, e.hint);
    return 1;
  }
  const err = e as Error;
  printProblem(io, `internal error while running the job: ${err?.message ?? String(e)}`, undefined, "this is a bug in flowc; please report it with the .flow file");
  if (err?.stack) io.stderr.write(err.stack + "\n");
  return 2;
}

function truncate(s: string, n = 200): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

interface Progress {
  stop(): void;
}

function startProgress(job: Job, flags: RunFlags, io: Io): Progress {
  const bounded = (s: JobStats) => s.sources.every((x) => x.progress !== undefined);
  let mode = flags.progress;
  if (flags.quiet) mode = "none";
  if (mode === "auto") mode = io.stderr.isTTY ? "bar" : "lines";
  if (mode === "none") return { stop() {} };
  const total = (s: JobStats) => s.sources.reduce((n, x) => n + (x.progress?.total ?? 0), 0);
  const done = (s: JobStats) => s.sources.reduce((n, x) => n + (x.progress?.done ?? 0), 0);
  const unit = (s: JobStats) => s.sources[0]?.progress?.unit ?? "records";
  const rate = (s: JobStats) => s.recordsIn / Math.max(0.001, (Date.now() - s.startedAt) / 1000);

  if (mode === "bar") {
    const bar = new cliProgress.SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream as never,
        format: "{bar} {percentage}% | {records} records | {rate} rec/s",
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    const t = setInterval(() => {
      const s = job.snapshotStats();
      if (!bounded(s) || total(s) === 0) return;
      const payload = { records: formatCount(s.recordsIn), rate: formatCount(Math.round(rate(s))) };
      if (!started) {
        bar.start(total(s), done(s), payload);
        started = true;
      } else bar.update(done(s), payload);
    }, 200);
    return {
      stop() {
        clearInterval(t);
        if (started) bar.stop();
      },
    };
  }
  const t = setInterval(() => {
    const s = job.snapshotStats();
    const part = bounded(s) && total(s) > 0 ? `, ${unit(s) === "bytes" ? `${formatBytes(done(s))} of ${formatBytes(total(s))}` : `${formatCount(done(s))} of ${formatCount(total(s))}`} (${Math.floor((100 * done(s)) / total(s))}%)` : "";
    io.stderr.write(`flowc: ${formatCount(s.recordsIn)} records in, ${formatCount(s.recordsOut)} out${part}, ${formatCount(Math.round(rate(s)))} records/s\n`);
  }, flags.progressInterval * 1000);
  t.unref();
  return { stop: () => clearInterval(t) };
}

export function renderSummary(name: string, s: RunSummary, io: Io, checkpoints?: CheckpointStats): string {
  const c = colors(io);
  const secs = s.durationMs / 1000;
  const lines = [
    `${c.green("Finished")} ${c.bold(name)} in ${secs.toFixed(2)} s (${s.partitions} partition${s.partitions === 1 ? "" : "s"}${s.threads > 1 ? ` on ${s.threads} threads` : ""})`,
    `  records in:   ${formatCount(s.recordsIn)}${s.sources.length > 0 ? ` (${s.sources.map((x) => `${x.name}: ${formatCount(x.records)}`).join(", ")})` : ""}`,
    `  records out:  ${formatCount(s.recordsOut)}${s.sinks.length > 0 ? ` (${s.sinks.map((x) => `${x.name}: ${formatCount(x.records)}`).join(", ")})` : ""}`,
    `  bad records:  ${formatCount(s.badRecords)}${s.failedRecords > 0 ? `, failed records: ${formatCount(s.failedRecords)}` : ""}${s.lateRecords > 0 ? `, late records dropped: ${formatCount(s.lateRecords)}` : ""}`,
    `  throughput:   ${formatCount(Math.round(s.recordsIn / Math.max(secs, 0.001)))} records/s`,
  ];
  if (checkpoints) {
    const p = checkpoints.pauses;
    const st = checkpoints.stalls;
    const pause =
      p.length > 0
        ? `; pause per barrier p50 ${percentile(p, 0.5).toFixed(2)} ms, p99 ${percentile(p, 0.99).toFixed(2)} ms; longest stretch writing state p99 ${percentile(st, 0.99).toFixed(2)} ms`
        : "";
    const resumed = checkpoints.resumedFrom === undefined ? "" : ` (resumed from checkpoint ${checkpoints.resumedFrom})`;
    lines.push(`  checkpoints:  ${checkpoints.completed} completed, ${checkpoints.declined} declined${pause}${resumed}`);
  }
  return lines.join("\n") + "\n";
}

/** Nearest-rank percentile of a non-empty list. */
function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
