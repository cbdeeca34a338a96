// A fleet of `flowc worker` processes for the cluster fault tests: restarted when they die (unless
// told not to), their logs searchable, and jobs submitted with checkpoints and a fault injected.
import { join } from "node:path";
import { staged } from "./outputs.js";
import { cluster, startWorker, stopWorkers, type WorkerProcess } from "./workers.js";

export { mulberry32 } from "./corpus.js";

/** Every fleet started: a test that timed out is cleaned up after it (its workers would join the next test's jobs). */
export const fleets = new Set<Fleet>();

/** Workers of one test; a worker that dies is replaced (without the fault's environment) when `restart`. */
export class Fleet {
  readonly all: WorkerProcess[] = [];
  private readonly current = new Map<string, WorkerProcess>();
  restart = true;
  /** Runs when a worker has died, before it is restarted. */
  onExit: (w: WorkerProcess) => void = () => {};
  private stopped = false;

  constructor(
    private readonly cwd: string,
    readonly zk: string,
  ) {
    fleets.add(this);
  }

  async start(ids: string[], env: Record<string, string> = {}): Promise<void> {
    await Promise.all(ids.map((id) => this.spawn(id, env)));
  }

  private async spawn(id: string, env: Record<string, string>): Promise<void> {
    const w = await startWorker(this.zk, id, { cwd: this.cwd, sessionTimeoutMs: 4000, env });
    this.all.push(w);
    this.current.set(id, w);
    void w.exited.then(() => {
      if (!this.stopped) this.onExit(w);
      if (this.stopped || !this.restart || this.current.get(id) !== w) return;
      void this.spawn(id, {}).catch(() => {});
    });
  }

  get(id: string): WorkerProcess {
    return this.current.get(id)!;
  }

  /** Everything every worker (also dead ones) logged. */
  log(): string {
    return this.all.map((w) => w.log()).join("\n");
  }

  async waitLog(re: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.log().match(re);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no ${re} within ${ms} ms; logs:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The worker leading `job`, from the coordinator's log line. */
  leader(job: string): string {
    const lines = this.log().match(new RegExp(`\\[([^\\]]+)\\] coordinating job ${job}`, "g")) ?? [];
    return /\[([^\]]+)\]/.exec(lines.at(-1) ?? "")?.[1] ?? "";
  }

  async stop(): Promise<void> {
    fleets.delete(this);
    this.stopped = true;
    await stopWorkers([...this.current.values()]);
  }
}

/** Submits with checkpoints, lets `fault` act, waits for the end and for every staged file to be published. */
export async function runJob(dir: string, name: string, fleet: Fleet, fault: () => Promise<void>, extra: string[] = []): Promise<{ status: string; out: string }> {
  const submitted = cluster(["submit", "job.flow", "--zookeeper", fleet.zk, "--name", name, "--checkpoint-interval", "300ms", "--wait", ...extra], dir);
  await fault();
  // A job that does not end: fail with what the workers logged, well before the test's timeout.
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    submitted,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`job ${name} did not end within 120 s; logs:\n${fleet.log()}`)), 120_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const out = join(dir, "out");
  // Workers publish the last staged segments once they see the job finished.
  for (let i = 0; i < 100 && staged(out).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
  return { status: r.code === 0 ? "finished" : `exit ${r.code}: ${r.stderr}`, out };
}

/**
 * After each test: a test that failed or timed out left workers (and a running job) behind; stop
 * both, so that they do not take part in the next test's jobs. A passing test that left a fleet
 * running is an error of the test.
 */
export async function stopLeftFleets(zk: string, cwd: string, failed: boolean): Promise<void> {
  if (fleets.size === 0) return;
  const left = [...fleets];
  for (const f of left) await f.stop();
  const st = await cluster(["status", "--zookeeper", zk, "--format", "json"], cwd);
  for (const j of (JSON.parse(st.stdout || "{}") as { jobs?: { name: string; state?: { status: string } }[] }).jobs ?? []) {
    if (j.state && !["finished", "failed", "cancelled"].includes(j.state.status)) await cluster(["cancel", j.name, "--zookeeper", zk], cwd);
  }
  if (!failed) throw new Error(`${left.length} fleet(s) were still running after the test`);
}
