// A worker thread of a job run with RunOptions.threads (threads.ts): imports the plan module, runs
// its share of the partitions as a Job of its own, and reports to thread 0.
import { parentPort, workerData } from "node:worker_threads";
import type { PlanModule } from "../plan.js";
import { Job, JobError } from "./job.js";
import { codecsOf, PeerLink, planHash, threadPlacement, type ThreadCommand, type ThreadReport, type ThreadStart } from "./threads.js";

const start = workerData as ThreadStart;
const port = parentPort!;
const report = (m: ThreadReport) => port.postMessage(m);
let links: (PeerLink | null)[] = [];

/** Nothing more is sent here: the thread may exit once what it has is done. */
function letGo(): void {
  for (const l of links) l?.unref();
  port.unref();
}

async function main(): Promise<void> {
  const mod = (await import(start.moduleUrl)) as PlanModule;
  if (planHash(mod.plan) !== start.planHash) {
    throw new JobError(`the plan module ${start.moduleUrl} changed after the job started: partition thread ${start.index} would run another plan`, undefined, "do not overwrite a plan module while a job runs it");
  }
  const codecs = codecsOf(mod.plan.nodes);
  links = start.ports.map((p) => (p ? new PeerLink(p, codecs) : null));
  const abort = new AbortController();
  const job = new Job(mod, {
    partitions: start.partitions,
    baseDir: start.baseDir,
    placement: threadPlacement(mod.plan.nodes, start.index, start.threads, links),
    signal: abort.signal,
    ...(start.failOnError === undefined ? {} : { failOnError: start.failOnError }),
    ...(start.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: start.idleTimeoutMs }),
    reporter: { recordFailed: (failure) => report({ t: "failed", failure }) },
  });
  port.on("message", (m: ThreadCommand) => {
    if (m.t === "abort") abort.abort();
    else void job.cancel(m.reason);
  });
  await job.open();
  const failed = (e: unknown) => void job.cancel(`internal error on partition thread ${start.index}: ${(e as Error)?.message ?? String(e)}`);
  for (const l of links) l?.listen((node, partition, channel, message) => job.deliver(node, partition, channel, message), failed, () => job.sinkPressure());
  report({ t: "opened" });
  const ticker = setInterval(() => report({ t: "stats", stats: job.snapshotStats() }), STATS_MS);
  try {
    const summary = await job.run();
    report({ t: "done", summary });
  } finally {
    clearInterval(ticker);
  }
  // Nothing more arrives (every input of this thread's tasks has ended).
  letGo();
}

/** Milliseconds between a worker thread's stats reports (progress lines and bars). */
const STATS_MS = 200;

main().catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  report({
    t: "error",
    error: {
      message: err.message,
      job: e instanceof JobError,
      ...(e instanceof JobError && e.loc ? { loc: e.loc } : {}),
      ...(e instanceof JobError && e.hint ? { hint: e.hint } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
    },
  });
  letGo();
});
