// `flowc worker` processes for cluster tests: started as a user starts them, their log captured,
// killed, paused and resumed on demand, and always stopped when the test process exits.
import { spawn, type ChildProcess } from "node:child_process";
import { FLOWC, flowcAsync, type CliResult } from "./cli.js";

export const AUTH = "flow:cluster-test-secret";

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) {
    p.kill("SIGCONT");
    p.kill("SIGKILL");
  }
});

export interface WorkerProcess {
  id: string;
  proc: ChildProcess;
  /** Everything the worker logged so far. */
  log(): string;
  /** Resolves when the log matches (rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

export function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, CI: "", FLOW_ZK_AUTH: AUTH, ...extra };
}

export async function startWorker(zk: string, id: string, opts: { cwd: string; slots?: number; sessionTimeoutMs?: number; extra?: string[]; env?: Record<string, string> }): Promise<WorkerProcess> {
  const args = [FLOWC, "worker", "--zookeeper", zk, "--id", id, "--slots", String(opts.slots ?? 2), "--metrics-port", "0", "--session-timeout", String(opts.sessionTimeoutMs ?? 4000), ...(opts.extra ?? [])];
  const proc = spawn(process.execPath, args, { cwd: opts.cwd, env: env(opts.env), stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  let text = "";
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    if (process.env.FLOW_DEBUG) process.stderr.write(`[${id}] ${d}`);
    for (const w of [...waiters]) {
      const m = text.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) =>
    proc.on("exit", (code) => {
      live.delete(proc);
      r(code);
    }),
  );
  const w: WorkerProcess = {
    id,
    proc,
    log: () => text,
    waitFor: (re, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const m = text.match(re);
        if (m) return resolve(m);
        const entry = { re, resolve };
        waiters.push(entry);
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(entry), 1);
          reject(new Error(`worker ${id}: no ${re} within ${ms} ms; its log:\n${text}`));
        }, ms);
        exited.then(() => setTimeout(() => reject(new Error(`worker ${id} exited; its log:\n${text}`)), 100));
        const done = entry.resolve;
        entry.resolve = (m) => {
          clearTimeout(t);
          done(m);
        };
      }),
    kill: (signal = "SIGKILL") => void proc.kill(signal),
    exited,
  };
  await w.waitFor(/joined .*: data port \d+/);
  return w;
}

export async function stopWorkers(ws: WorkerProcess[]): Promise<void> {
  for (const w of ws) {
    w.proc.kill("SIGCONT");
    w.proc.kill("SIGTERM");
  }
  await Promise.all(
    ws.map((w) =>
      Promise.race([
        w.exited,
        new Promise((r) =>
          setTimeout(() => {
            w.proc.kill("SIGKILL");
            r(null);
          }, 5000),
        ),
      ]),
    ),
  );
}

/** Runs a flowc command with the cluster's credentials. */
export function cluster(args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return flowcAsync(args, { cwd, env: env(extraEnv) });
}

export interface StatusJson {
  workers: { id: string; host: string; dataPort: number; metricsPort?: number; session?: string }[];
  jobs: { name: string; state?: { status: string; epoch: number; message?: string }; leader?: string; epoch?: number; assignment?: Record<string, string>; workers: { worker: string; state: string; epoch: number; recordsIn: number }[] }[];
}

export async function status(zk: string, cwd: string, job?: string): Promise<StatusJson> {
  const r = await cluster(["status", ...(job ? [job] : []), "--zookeeper", zk, "--format", "json"], cwd);
  if (r.code !== 0) throw new Error(`flowc status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

/** Polls `flowc status` until `pred` holds (rejects after `ms`). */
export async function until(zk: string, cwd: string, pred: (s: StatusJson) => boolean, ms = 60_000): Promise<StatusJson> {
  const deadline = Date.now() + ms;
  let last: StatusJson | undefined;
  while (Date.now() < deadline) {
    last = await status(zk, cwd);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`cluster status never matched; last: ${JSON.stringify(last)}`);
}
