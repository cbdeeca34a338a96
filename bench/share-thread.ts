// A thread of a "shares" task (bench/child.ts, W4's ceiling): runs one plan module with 1 partition,
// then says so. Its own module, so that the thread imports the runtime and the plan only, as a
// worker thread of `threads: 2` does, not the libraries the other contenders need.
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";

const job = new Job((await import(pathToFileURL(workerData as string).href)) as PlanModule, { partitions: 1 });
await job.open();
await job.run();
parentPort!.postMessage("done");
