// One measurement in a fresh process (so that every contender starts with a cold JIT and its own
// heap): runs one workload with one contender, or compiles one example, and prints one JSON line
// { ms, checksum, maxRssKb } on standard output. Started by bench/main.ts; not meant to be run by hand.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { EmbeddedCheckpoints } from "../runtime/checkpoint/embedded.js";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";
import { NEXMARK, type NexmarkQuery } from "./nexmark.js";
import { LIBRARY_RUNS, planChecksum, type LibraryContender, type WorkloadId, type WorkloadInput } from "./workloads.js";

export type ChildTask =
  | { kind: "library"; workload: WorkloadId; contender: LibraryContender; input: WorkloadInput }
  /** `out` is the directory the plan's file sink writes; it is cleared before the run. */
  /** A Nexmark query's hand-written loop over `count` bids. */
  | { kind: "nexmark"; query: NexmarkQuery; count: number }
  | {
      kind: "plan";
      workload: WorkloadId | NexmarkQuery;
      module: string;
      out: string;
      partitions: number;
      /** Threads to run the partitions on (RunOptions.threads); default 1. */
      threads?: number;
      checkpoint?: { intervalMs: number; stateDir: string };
      /** Plan modules to load and run first (bench/others.ts), in this process, before the measured run. */
      others?: string[];
    }
  /**
   * W4's ceiling: each module (a share of the events as a program of its own, 1 partition) runs in
   * a worker thread of its own, all at once: nothing exchanged, nothing shared but the machine.
   */
  | { kind: "shares"; workload: WorkloadId; modules: string[]; outs: string[] }
  | { kind: "compile"; file: string; repeat: number };

export interface ChildResult {
  ms: number;
  checksum: string;
  /** Peak resident set size of the whole process (getrusage), in kilobytes. */
  maxRssKb: number;
  /** Compile only: the first compile in the process, before the JIT has warmed up. */
  coldMs?: number;
  /** With checkpoints: per completed checkpoint, how long the record path stood still (ms). */
  pauses?: number[];
  /** With checkpoints: per completed checkpoint, the longest stretch writing its state held the thread (ms). */
  stalls?: number[];
}

async function main(task: ChildTask): Promise<ChildResult> {
  switch (task.kind) {
    case "library": {
      rmSync(task.input.out, { recursive: true, force: true });
      const t0 = performance.now();
      await LIBRARY_RUNS[task.workload][task.contender](task.input);
      const ms = performance.now() - t0;
      const maxRssKb = process.resourceUsage().maxRSS;
      return { ms, checksum: planChecksum(task.workload, rowsIn([task.input.out])), maxRssKb };
    }
    case "nexmark": {
      const t0 = performance.now();
      const checksum = NEXMARK[task.query].hand(task.count);
      return { ms: performance.now() - t0, checksum, maxRssKb: process.resourceUsage().maxRSS };
    }
    case "plan": {
      for (const other of task.others ?? []) {
        const job = new Job((await import(pathToFileURL(other).href)) as PlanModule);
        await job.open();
        await job.run();
      }
      const mod = (await import(pathToFileURL(task.module).href)) as PlanModule;
      rmSync(task.out, { recursive: true, force: true });
      if (task.checkpoint) rmSync(task.checkpoint.stateDir, { recursive: true, force: true });
      // End to end: opening the connectors, running every record through, closing the sinks (with
      // checkpoints: publishing the last output, as `flowc run --checkpoint-interval` does).
      const t0 = performance.now();
      const ckpt = task.checkpoint
        ? await EmbeddedCheckpoints.open(mod.plan, task.out, task.partitions, { intervalMs: task.checkpoint.intervalMs, stateDir: task.checkpoint.stateDir, retain: 3, maxDeclines: 3 }, (m) => process.stderr.write(`${m}\n`))
        : undefined;
      const job = new Job(mod, { ...(ckpt ? ckpt.runOptions() : {}), partitions: task.partitions, ...(task.threads ? { threads: task.threads, moduleUrl: pathToFileURL(task.module).href } : {}) });
      await job.open();
      await job.run();
      await ckpt?.finish(job);
      const ms = performance.now() - t0;
      const maxRssKb = process.resourceUsage().maxRSS;
      const rows = rowsIn(readdirSync(task.out).map((f) => join(task.out, f)));
      const checksum = task.workload.startsWith("q") ? NEXMARK[task.workload as NexmarkQuery].checksum(rows) : planChecksum(task.workload as WorkloadId, rows);
      return { ms, checksum, maxRssKb, ...(ckpt ? { pauses: ckpt.stats.pauses, stalls: ckpt.stats.stalls } : {}) };
    }
    case "shares": {
      for (const out of task.outs) rmSync(out, { recursive: true, force: true });
      // From starting the threads to the last one's sinks closed: the threads' start and their
      // import of the runtime and the plan count, as they do for `threads: 2` (Job.open).
      const t0 = performance.now();
      await Promise.all(
        task.modules.map(
          (module) =>
            new Promise<void>((resolveShare, reject) => {
              const w = new Worker(new URL("./share-thread.js", import.meta.url), { workerData: module });
              w.once("message", () => resolveShare());
              w.once("error", reject);
              w.once("exit", (code) => reject(new Error(`the thread running ${module} exited with ${code} before it finished`)));
            }),
        ),
      );
      const ms = performance.now() - t0;
      const maxRssKb = process.resourceUsage().maxRSS;
      const rows = rowsIn(task.outs.flatMap((out) => readdirSync(out).map((f) => join(out, f))));
      return { ms, checksum: planChecksum(task.workload, rows), maxRssKb };
    }
    case "compile": {
      // Imported here only: the compiler's dependencies would otherwise count in every run's memory.
      const { compile, readSource } = await import("../compiler/index.js");
      const file = readSource(task.file);
      const times: number[] = [];
      let size = 0;
      for (let i = 0; i < task.repeat; i++) {
        const t0 = performance.now();
        const r = await compile(file, { outDir: join(task.file, "..", "out"), sourceDir: join(task.file, "..") });
        times.push(performance.now() - t0);
        if (!r.emitted) throw new Error(`${task.file} does not compile: ${r.diagnostics.map((d) => d.message).join("; ")}`);
        size = r.emitted.js.length;
      }
      const warm = times.length > 1 ? times.slice(1) : times;
      return { ms: median(warm), coldMs: times[0]!, checksum: `${size} bytes of js`, maxRssKb: process.resourceUsage().maxRSS };
    }
  }
}

/** The JSON lines of these files, parsed: the result rows a contender wrote (read after its time was taken). */
function rowsIn(files: string[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) if (line !== "") rows.push(JSON.parse(line) as Record<string, unknown>);
  }
  return rows;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// Only as the entry point: main.ts imports this module for its types and median().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(JSON.parse(process.argv[2]) as ChildTask).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
