// Fault injection for the checkpoint tests, switched on by environment variables. Both are test
// hooks, documented in docs/fault-tolerance.md; nothing else reads them.
//
//   FLOW_TEST_CRASH_AT=<step>[:<checkpoint id>]  kill this process with SIGKILL (as `kill -9` would)
//       at a step between "checkpoint complete" and "every sink committed": after-manifest,
//       after-pointer, after-first-commit, mid-commit, after-commits; on a cluster also after-trigger
//       (the coordinator, once it asked every worker for the checkpoint). Without an id: the first time.
//   FLOW_TEST_FAIL_WRITES=ENOSPC[:<after n writes>]  writes into the state directory fail with ENOSPC
//       (the disk is full), from the first write or after n successful ones.
//   FLOW_TEST_HOLD_BARRIERS=1  sources never inject a barrier while they run (as a source stuck in a
//       read that is not idle would): checkpoints can only time out.
//   FLOW_TEST_SLOW_SINK=<ms>  a checkpointed file sink takes this long to be ready again after each
//       batch (a slow disk): the job's sources are held back by backpressure.

export type CrashStep = "after-trigger" | "after-manifest" | "after-pointer" | "after-first-commit" | "mid-commit" | "after-commits";

export function crashPoint(step: CrashStep, checkpoint: number): void {
  const spec = process.env.FLOW_TEST_CRASH_AT;
  if (!spec) return;
  const [want, id] = spec.split(":");
  if (want !== step) return;
  if (id !== undefined && Number(id) !== checkpoint) return;
  process.kill(process.pid, "SIGKILL");
}

/** FLOW_TEST_HOLD_BARRIERS: sources hold checkpoint barriers back. */
export function holdBarriers(): boolean {
  return process.env.FLOW_TEST_HOLD_BARRIERS === "1";
}

/** FLOW_TEST_SLOW_SINK: how long a file sink stays busy after each batch (0: not slowed). */
export function slowSinkMs(): number {
  return Number(process.env.FLOW_TEST_SLOW_SINK ?? 0) || 0;
}

let writes = 0;

/** Throws ENOSPC when FLOW_TEST_FAIL_WRITES says the state directory's disk is full. */
export function checkWrite(path: string): void {
  const spec = process.env.FLOW_TEST_FAIL_WRITES;
  if (!spec) return;
  const [code, after] = spec.split(":");
  if (writes++ < Number(after ?? 0)) return;
  throw Object.assign(new Error(`${code}: no space left on device, write '${path}'`), { code });
}
