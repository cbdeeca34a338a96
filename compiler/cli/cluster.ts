// The cluster commands: `flowc worker` (join a cluster and run what it is assigned), `flowc submit`
// (store a compiled plan and create the job in ZooKeeper), `flowc status` and `flowc cancel`.
// Every command reaches ZooKeeper with the cluster's digest credentials from FLOW_ZK_AUTH.
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { BAD_RECORDS_LOG } from "../../runtime/checkpoint/bad-records.js";
import { DEFAULT_MAX_DECLINES, DEFAULT_RETAIN, defaultStateDir, planHash as graphHash } from "../../runtime/checkpoint/embedded.js";
import { checkSavepointFits, loadSavepoint, SavepointError, writeSavepoint, type SavepointInfo } from "../../runtime/checkpoint/savepoint.js";
import { CheckpointStore } from "../../runtime/checkpoint/store.js";
import { startWorkerNode } from "../../runtime/cluster/node.js";
import { loadPlan, PlanIntegrityError, storePlan } from "../../runtime/cluster/plans.js";
import { isTerminal, type JobCheckpointConfig, type JobRecord, type JobState, type WorkerRecord } from "../../runtime/cluster/protocol.js";
import type { JobStatusOnWorker } from "../../runtime/cluster/worker.js";
import { tcpDataServer } from "../../runtime/cluster/data-server.js";
import { ZkClusterStore } from "../../runtime/cluster/zk-store.js";
import { codeOf, ZkSession } from "../../runtime/cluster/zk-session.js";
import type { PlanModule } from "../../runtime/plan.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { readSource } from "../source.js";
import { loadCompiler } from "./compiler.js";
import { durationMs, positiveDurationMs } from "./main.js";
import { colors, formatCount, printDiagnostics, printProblem, type Io } from "./output.js";
import { jobBaseDir, loadJob } from "./run.js";

const CONNECT = /^[^\s,/:]+:\d{1,5}(,[^\s,/:]+:\d{1,5})*(\/[^\s]*)?$/;

function zookeeperOption(): Option {
  return new Option("-z, --zookeeper <connect>", "ZooKeeper servers: host:port[,host:port…][/chroot]")
    .env("FLOW_ZOOKEEPER")
    .makeOptionMandatory()
    .argParser((v) => {
      if (!CONNECT.test(v)) throw new InvalidArgumentError("expected host:port[,host:port…][/chroot], e.g. 127.0.0.1:2181 or zk1:2181,zk2:2181,zk3:2181/flow");
      return v;
    });
}

function wholeNumber(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };
}

const port = (v: string): number => {
  const n = wholeNumber(0)(v);
  if (n > 65535) throw new InvalidArgumentError("expected a port number from 0 to 65535");
  return n;
};

/** The cluster's digest credentials (`user:password`), or a printed explanation and undefined. */
function credentials(io: Io): string | undefined {
  const auth = io.env.FLOW_ZK_AUTH;
  if (auth && /^[^:]+:.+$/.test(auth)) return auth;
  printProblem(
    io,
    auth ? "FLOW_ZK_AUTH must have the form user:password" : "FLOW_ZK_AUTH is not set: the cluster's znodes are protected by a digest ACL",
    undefined,
    "set FLOW_ZK_AUTH=user:password to the same value for every worker and every flowc command of this cluster",
  );
  return undefined;
}

/** A ZooKeeper session for one command, or a printed reason. */
async function connect(io: Io, zk: string): Promise<{ session: ZkSession; store: ZkClusterStore } | undefined> {
  const auth = credentials(io);
  if (!auth) return undefined;
  const session = new ZkSession({ connect: zk, auth });
  try {
    await session.start(10_000);
  } catch (e) {
    printProblem(io, (e as Error).message, undefined, "check --zookeeper (or FLOW_ZOOKEEPER) and that the servers are running");
    return undefined;
  }
  const store = new ZkClusterStore(session);
  try {
    await store.init();
  } catch (e) {
    session.close();
    printProblem(io, zkMessage(e, zk), undefined, codeOf(e) === "NO_AUTH" ? "FLOW_ZK_AUTH differs from the credentials the cluster was created with" : undefined);
    return undefined;
  }
  return { session, store };
}

function zkMessage(e: unknown, zk: string): string {
  const code = codeOf(e);
  if (code === "NO_AUTH") return `ZooKeeper at ${zk} refused access (NO_AUTH)`;
  return `ZooKeeper at ${zk}: ${(e as Error).message}`;
}

async function withStore(io: Io, zk: string, f: (store: ZkClusterStore) => Promise<number>): Promise<number> {
  const c = await connect(io, zk);
  if (!c) return 1;
  try {
    return await f(c.store);
  } catch (e) {
    printProblem(io, zkMessage(e, zk));
    return 1;
  } finally {
    c.session.close();
  }
}

export function registerClusterCommands(program: Command, io: Io, setCode: (code: number) => void): void {
  program
    .command("worker")
    .description("join a cluster: register in ZooKeeper and run the tasks assigned to this worker")
    .addOption(zookeeperOption())
    .option("--slots <n>", "task slots this worker offers", wholeNumber(1), 2)
    .option("--port <port>", "data port other workers connect to (0: any free port)", port, 0)
    .option("--host <address>", "address to bind and to advertise to other workers", "127.0.0.1")
    .option("--metrics-port <port>", "serve Prometheus metrics (/metrics) and status (/status) on this port", port)
    .option("--id <id>", "worker id, unique in the cluster (default: host name and process id)")
    .option("--work-dir <dir>", "where relative paths of jobs submitted without a directory resolve", ".")
    .option("--session-timeout <ms>", "ZooKeeper session timeout requested (the server may clamp it)", wholeNumber(1000), 6000)
    .action(async (o: { zookeeper: string; slots: number; port: number; host: string; metricsPort?: number; id?: string; workDir: string; sessionTimeout: number }) => {
      setCode(await workerCommand(o, io));
    });

  program
    .command("submit")
    .description("submit a job to the cluster: compile it, store the plan, create the job in ZooKeeper")
    .argument("<file>", "a .flow file, or a .plan.js made by `flowc compile`")
    .addOption(zookeeperOption())
    .option("-p, --partitions <n>", "parallel partitions (overrides config)", wholeNumber(1))
    .option("--name <job>", "job name (default: the file's name)")
    .option("--plans-dir <dir>", "where the plan is stored; shared storage when workers run on several hosts (default: .flow/plans next to the file)")
    .option("--wait", "wait until the job ends; exit 1 unless it finished")
    .option("--checkpoint-interval <duration>", "checkpoint every interval (5s, 500ms, or ms; 0: off); overrides `checkpoint:` in config", durationMs)
    .option("--state-dir <dir>", "where checkpoints go: shared storage every worker can write (default: .flow-state/<job> next to the file)")
    .option("--retain-checkpoints <n>", "completed checkpoints to keep (default 3)", wholeNumber(1))
    .option("--max-declined-checkpoints <n>", "declined checkpoints in a row that fail the job (default 3)", wholeNumber(1))
    .option("--checkpoint-timeout <duration>", "decline a checkpoint not complete after this long (default: 10 intervals, at least 30s)", positiveDurationMs)
    .option("--from <savepoint>", "start from a savepoint (`flowc savepoint`): its state, source offsets and output")
    .option("--max-problems <n>", "bad records each worker logs one by one per attempt before only counting them (default 20)", wholeNumber(1))
    .action(async (file: string, o: SubmitFlags) => {
      setCode(await submitCommand(file, o, io));
    });

  program
    .command("savepoint")
    .description("copy a job's latest completed checkpoint into a savepoint: a directory kept until you delete it, to start from with `run --from` or `submit --from`")
    .argument("<job>", "a .flow file (or .plan.js) run with `flowc run`, or the name of a cluster job (with --zookeeper)")
    .option("-o, --out <dir>", "the savepoint's directory, which must not exist (default: savepoints/<job>-<checkpoint> next to the job's file)")
    .option("--state-dir <dir>", "a `flowc run` job's state directory, if it was run with --state-dir")
    .addOption(new Option("-z, --zookeeper <connect>", "ZooKeeper servers, for a cluster job").env("FLOW_ZOOKEEPER"))
    .action(async (job: string, o: SavepointFlags) => {
      setCode(await savepointCommand(job, o, io));
    });

  program
    .command("status")
    .description("show workers, jobs, leaders, epochs, assignments and task progress")
    .argument("[job]", "one job (default: all)")
    .addOption(zookeeperOption())
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (job: string | undefined, o: { zookeeper: string; format: "text" | "json" }) => {
      setCode(await withStore(io, o.zookeeper, (store) => statusCommand(store, job, o.format, io)));
    });

  program
    .command("cancel")
    .description("cancel a job: its tasks stop everywhere and its staged output is discarded")
    .argument("<job>", "job name")
    .addOption(zookeeperOption())
    .action(async (job: string, o: { zookeeper: string }) => {
      setCode(await withStore(io, o.zookeeper, (store) => cancelCommand(store, job, io)));
    });
}

// ---------------------------------------------------------------- worker

async function workerCommand(o: { zookeeper: string; slots: number; port: number; host: string; metricsPort?: number; id?: string; workDir: string; sessionTimeout: number }, io: Io): Promise<number> {
  const auth = credentials(io);
  if (!auth) return 1;
  const log = (line: string) => io.stderr.write(`${new Date().toISOString()} ${line}\n`);
  let node;
  try {
    node = await startWorkerNode({
      zookeeper: o.zookeeper,
      auth,
      host: o.host,
      port: o.port,
      slots: o.slots,
      workDir: resolve(o.workDir),
      sessionTimeoutMs: o.sessionTimeout,
      log,
      dataServer: tcpDataServer,
      ...(o.id ? { id: o.id } : {}),
      ...(o.metricsPort === undefined ? {} : { metricsPort: o.metricsPort }),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE") printProblem(io, `port ${o.port} on ${o.host} is in use`, undefined, "choose another --port (or --metrics-port), or 0 for any free port");
    else printProblem(io, zkMessage(e, o.zookeeper), undefined, codeOf(e) === "NO_AUTH" ? "FLOW_ZK_AUTH differs from the credentials the cluster was created with" : "check --zookeeper and that the servers are running");
    return 1;
  }
  log(`worker ${node.id} joined ${o.zookeeper}: data port ${node.dataPort}${node.metricsPort === undefined ? "" : `, metrics on http://${o.host}:${node.metricsPort}/metrics`}, ${o.slots} slots`);
  const signal = await new Promise<string>((r) => {
    process.once("SIGINT", () => r("SIGINT"));
    process.once("SIGTERM", () => r("SIGTERM"));
  });
  log(`${signal}: leaving the cluster`);
  await node.stop();
  return 0;
}

// ---------------------------------------------------------------- submit

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

interface SubmitFlags {
  zookeeper: string;
  partitions?: number;
  name?: string;
  plansDir?: string;
  wait?: boolean;
  checkpointInterval?: number;
  stateDir?: string;
  retainCheckpoints?: number;
  maxDeclinedCheckpoints?: number;
  from?: string;
  maxProblems?: number;
  checkpointTimeout?: number;
}

async function submitCommand(file: string, o: SubmitFlags, io: Io): Promise<number> {
  const name = o.name ?? basename(file).replace(/\.(flow|plan\.m?js|m?js)$/, "");
  if (!JOB_NAME.test(name)) {
    printProblem(io, `\`${name}\` is not a valid job name`, undefined, "use letters, digits, `_`, `.` and `-` (pass --name)");
    return 2;
  }
  const js = await planSource(file, io);
  if (js === undefined) return 1;
  const dir = dirname(resolve(file));
  let stored: { path: string; hash: string };
  let mod: PlanModule;
  try {
    stored = await storePlan(o.plansDir ?? join(dir, ".flow", "plans"), name, js);
    mod = await loadPlan(stored.path, stored.hash);
  } catch (e) {
    printProblem(io, e instanceof PlanIntegrityError ? e.message : `cannot store the plan: ${(e as Error).message}`);
    return 1;
  }
  if (!mod.plan || !mod.functions) {
    printProblem(io, `${file} is not a plan module: it exports no \`plan\` and \`functions\``, undefined, "pass a .flow file or a .plan.js file made by `flowc compile`");
    return 1;
  }
  const partitions = o.partitions ?? mod.plan.config.partitions;
  if (partitions > mod.plan.config.keyGroups) {
    printProblem(io, `partitions must be at most ${mod.plan.config.keyGroups} (the plan's key groups), not ${partitions}`);
    return 2;
  }
  const intervalMs = o.checkpointInterval ?? mod.plan.config.checkpointIntervalMs ?? 0;
  const checkpoint: JobCheckpointConfig | undefined =
    intervalMs > 0
      ? {
          intervalMs,
          dir: resolve(o.stateDir ?? join(dir, ".flow-state", name)),
          retain: o.retainCheckpoints ?? DEFAULT_RETAIN,
          maxDeclines: o.maxDeclinedCheckpoints ?? DEFAULT_MAX_DECLINES,
          ...(o.checkpointTimeout === undefined ? {} : { timeoutMs: o.checkpointTimeout }),
        }
      : undefined;
  if (o.from !== undefined) {
    if (!checkpoint) {
      printProblem(io, "--from needs checkpoints: the job restores its state through them", undefined, "add --checkpoint-interval (for example 5s), or `checkpoint:` in the pipeline's config");
      return 2;
    }
    const from = resolve(o.from);
    try {
      const sp = await loadSavepoint(from);
      checkSavepointFits(from, sp.info, mod.plan.name, graphHash(mod.plan), mod.plan.config.keyGroups);
      checkpoint.from = { dir: from, checkpoint: sp.info.checkpoint };
    } catch (e) {
      if (!(e instanceof SavepointError)) throw e;
      printProblem(io, e.message);
      return 1;
    }
  }
  return withStore(io, o.zookeeper, async (store) => {
    const record: JobRecord = {
      name,
      planPath: stored.path,
      planHash: stored.hash,
      partitions,
      secret: randomBytes(32).toString("base64url"),
      submittedAt: Date.now(),
      baseDir: dir,
      ...(checkpoint ? { checkpoint } : {}),
      ...(o.maxProblems === undefined ? {} : { maxProblems: o.maxProblems }),
    };
    // A new job of this name: bad records reported by an earlier one are not this one's.
    if (checkpoint && !(await store.job(name))) rmSync(join(checkpoint.dir, BAD_RECORDS_LOG), { force: true });
    try {
      await store.submit(record);
    } catch (e) {
      if (codeOf(e) !== "UNKNOWN") throw e;
      printProblem(io, (e as Error).message, undefined, `pick another name with --name, or see \`flowc status ${name}\``);
      return 1;
    }
    const every = checkpoint ? `, checkpoints every ${checkpoint.intervalMs} ms in ${checkpoint.dir}${checkpoint.from ? `, starting from the savepoint ${checkpoint.from.dir}` : ""}` : "";
    io.stderr.write(`submitted ${name}: ${partitions} partition${partitions === 1 ? "" : "s"}, plan ${stored.hash.slice(0, 12)}${every}\n`);
    if (!o.wait) return 0;
    const state = await waitForEnd(store, name);
    io.stderr.write(`${name} ${state.status}${state.message ? `: ${state.message}` : ""} (epoch ${state.epoch})\n`);
    return state.status === "finished" ? 0 : 1;
  });
}

// ---------------------------------------------------------------- savepoint

interface SavepointFlags {
  out?: string;
  stateDir?: string;
  zookeeper?: string;
}

/** Tries a copy a few times: retention may delete the checkpoint being copied, and a newer one is then taken. */
async function copyLatest(take: () => Promise<SavepointInfo | undefined>): Promise<SavepointInfo | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await take();
    } catch (e) {
      if (!(e instanceof SavepointError) || attempt === 3 || !/try again/.test(e.message)) throw e;
    }
  }
}

async function savepointCommand(job: string, o: SavepointFlags, io: Io): Promise<number> {
  const done = (info: SavepointInfo, dir: string, again: string) => {
    io.stderr.write(`savepoint of ${info.pipeline} at checkpoint ${info.checkpoint} (${info.partitions} partition${info.partitions === 1 ? "" : "s"}) written to ${dir}\nstart from it with: ${again} --from ${dir}\n`);
    return 0;
  };
  const fail = (e: unknown) => {
    if (!(e instanceof SavepointError)) throw e;
    printProblem(io, e.message);
    return 1;
  };
  if (/\.(flow|m?js)$/.test(job)) {
    const loaded = await loadJob(job, "pretty", io);
    if (!loaded) return 1;
    const { mod } = loaded;
    const base = jobBaseDir(mod, loaded.moduleUrl, loaded.baseDir);
    const stateDir = resolve(o.stateDir ?? defaultStateDir(base, mod.plan.name));
    const store = new CheckpointStore(stateDir);
    let target = "";
    try {
      const info = await copyLatest(async () => {
        const found = await store.latestIntact((m) => io.stderr.write(`${colors(io).yellow("warning")}: ${m}\n`));
        if (!found) return undefined;
        target = resolve(o.out ?? join(base, "savepoints", `${mod.plan.name}-${found.loaded.manifest.id}`));
        return writeSavepoint(found.dir, "manifest.json", undefined, target, { graphHash: graphHash(mod.plan), takenFrom: stateDir });
      });
      if (!info) {
        printProblem(io, `${stateDir} holds no completed checkpoint of ${mod.plan.name}`, undefined, "a savepoint copies the latest completed checkpoint of a job run with checkpoints (running, stopped or crashed); a job that finished has cleared its state");
        return 1;
      }
      return done(info, target, `flowc run ${job}`);
    } catch (e) {
      return fail(e);
    }
  }
  if (!o.zookeeper) {
    printProblem(io, `\`${job}\` is not a .flow file, and no ZooKeeper was given for a cluster job of that name`, undefined, "pass a .flow file run with `flowc run`, or --zookeeper (or FLOW_ZOOKEEPER) for a cluster job");
    return 2;
  }
  return withStore(io, o.zookeeper, async (store) => {
    const record = await store.job(job);
    if (!record) {
      printProblem(io, `no job named \`${job}\` in the cluster`, undefined, "`flowc status` lists the jobs");
      return 1;
    }
    if (!record.checkpoint) {
      printProblem(io, `job ${job} runs without checkpoints, so it has no state to save`, undefined, "submit it with --checkpoint-interval");
      return 1;
    }
    const config = record.checkpoint;
    let mod: PlanModule;
    try {
      mod = await loadPlan(record.planPath, record.planHash);
    } catch (e) {
      printProblem(io, `cannot load the plan of ${job}: ${(e as Error).message}`);
      return 1;
    }
    let target = "";
    try {
      const info = await copyLatest(async () => {
        const pointer = await store.latestCheckpoint(job);
        if (!pointer) return undefined;
        const manifest = join(config.dir, pointer.manifest);
        target = resolve(o.out ?? join(record.baseDir ?? ".", "savepoints", `${job}-${pointer.id}`));
        return writeSavepoint(dirname(manifest), basename(manifest), pointer.sha256, target, { graphHash: graphHash(mod.plan), takenFrom: `cluster job ${job}` });
      });
      if (!info) {
        printProblem(io, `job ${job} has completed no checkpoint yet`, undefined, `checkpoints are taken every ${config.intervalMs} ms while it runs; try again in a moment`);
        return 1;
      }
      return done(info, target, `flowc submit FILE.flow --name ${job}`);
    } catch (e) {
      return fail(e);
    }
  });
}

/** The plan module's JavaScript: compiled from a .flow file, or read from a plan.js. */
async function planSource(file: string, io: Io): Promise<string | undefined> {
  if (/\.m?js$/.test(file)) {
    try {
      return readFileSync(file, "utf8");
    } catch (e) {
      printProblem(io, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
      return undefined;
    }
  }
  let src;
  try {
    src = readSource(file);
  } catch (e) {
    printProblem(io, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    return undefined;
  }
  const tmp = await mkdtemp(join(tmpdir(), "flowc-submit-"));
  try {
    const { compile } = await loadCompiler();
    const r = await compile(src, { outDir: tmp, sourceDir: dirname(resolve(file)) });
    printDiagnostics(io, r.diagnostics, [src], "pretty");
    if (hasErrors(r.diagnostics) || !r.emitted) return undefined;
    if (r.emitted.files.length > 0) {
      printProblem(io, `${file} imports TypeScript functions: such jobs cannot run on a cluster yet (the plan is stored alone, without its functions)`, undefined, "run it with `flowc run`, or use built-in functions");
      return undefined;
    }
    return r.emitted.js;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function waitForEnd(store: ZkClusterStore, job: string): Promise<JobState> {
  // ZooKeeper may be briefly unreachable (a server of the ensemble died, the session is being
  // replaced): keep waiting through that, and give up only after a minute without an answer.
  let failingSince: number | null = null;
  for (;;) {
    const changed = new Promise<void>((r) => {
      const off = store.onStateChanged(job, () => {
        off();
        r();
      });
      setTimeout(() => {
        off();
        r();
      }, 2000).unref();
    });
    let s: JobState | undefined;
    try {
      s = (await store.state(job))?.value;
      failingSince = null;
    } catch (e) {
      failingSince ??= Date.now();
      if (Date.now() - failingSince > 60_000) throw e;
    }
    if (s && isTerminal(s.status)) return s;
    await changed;
  }
}

// ---------------------------------------------------------------- status

interface JobView {
  name: string;
  state: JobState | undefined;
  partitions: number;
  leader: string | undefined;
  epoch: number | undefined;
  assignment: Record<string, string> | undefined;
  workers: (JobStatusOnWorker & { worker: string })[];
}

async function workerStatus(w: WorkerRecord): Promise<JobStatusOnWorker[] | undefined> {
  if (w.metricsPort === undefined) return undefined;
  try {
    const res = await fetch(`http://${w.host}:${w.metricsPort}/status`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as JobStatusOnWorker[]) : undefined;
  } catch {
    return undefined;
  }
}

async function statusCommand(store: ZkClusterStore, only: string | undefined, format: "text" | "json", io: Io): Promise<number> {
  const workers = (await store.workers()).sort((a, b) => a.id.localeCompare(b.id));
  const names = only ? [only] : (await store.jobNames()).sort();
  const live = new Map(await Promise.all(workers.map(async (w) => [w.id, await workerStatus(w)] as const)));
  const jobs: JobView[] = [];
  for (const name of names) {
    const record = await store.job(name);
    if (!record) {
      printProblem(io, `no job named \`${name}\``, undefined, "`flowc status` lists every job");
      return 1;
    }
    const a = (await store.assignment(name))?.value;
    jobs.push({
      name,
      state: (await store.state(name))?.value,
      partitions: record.partitions,
      leader: await store.leader(name),
      epoch: a?.epoch,
      assignment: a?.tasks,
      workers: [...live].flatMap(([worker, list]) => (list ?? []).filter((j) => j.job === name).map((j) => ({ ...j, worker }))),
    });
  }
  if (format === "json") {
    io.stdout.write(JSON.stringify({ workers, jobs }, null, 2) + "\n");
    return 0;
  }
  const c = colors(io, "stdout");
  const out: string[] = [];
  out.push(c.bold(`workers (${workers.length})`));
  if (workers.length === 0) out.push("  none: start one with `flowc worker --zookeeper …`");
  for (const w of workers) out.push(`  ${w.id}  ${w.host}:${w.dataPort}  ${w.slots} slots${w.metricsPort === undefined ? "" : `  metrics :${w.metricsPort}`}${live.get(w.id) === undefined && w.metricsPort !== undefined ? "  (status unavailable)" : ""}`);
  out.push("");
  out.push(c.bold(`jobs (${jobs.length})`));
  for (const j of jobs) {
    out.push(`  ${c.bold(j.name)}  ${j.state?.status ?? "?"}${j.state?.message ? ` (${j.state.message})` : ""}  epoch ${j.epoch ?? 0}  leader ${j.leader ?? "none"}  ${j.partitions} partitions`);
    if (j.assignment) {
      const byWorker = new Map<string, string[]>();
      for (const [t, w] of Object.entries(j.assignment)) byWorker.set(w, [...(byWorker.get(w) ?? []), t]);
      for (const [w, ts] of [...byWorker].sort()) out.push(`    ${w}: ${ts.sort().join(", ")}`);
    }
    for (const s of j.workers) out.push(`    on ${s.worker}: ${s.state} (epoch ${s.epoch}${s.coordinator ? ", coordinator" : ""}), in ${formatCount(s.recordsIn)}, out ${formatCount(s.recordsOut)}, ${formatCount(Math.round(s.throughput))} records/s${s.badRecords ? `, ${formatCount(s.badRecords)} bad` : ""}`);
  }
  io.stdout.write(out.join("\n") + "\n");
  return 0;
}

// ---------------------------------------------------------------- cancel

async function cancelCommand(store: ZkClusterStore, job: string, io: Io): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const state = await store.state(job);
    if (!state) {
      printProblem(io, `no job named \`${job}\``, undefined, "`flowc status` lists every job");
      return 1;
    }
    if (isTerminal(state.value.status)) {
      io.stderr.write(`${job} already ${state.value.status}\n`);
      return 0;
    }
    const a = await store.assignment(job);
    // Nobody runs it yet (or nobody is left to finish cancelling it): it ends now. Otherwise the
    // workers stop their tasks and the coordinator marks it cancelled once all have stopped.
    const leader = await store.leader(job);
    const status = !a || leader === undefined ? "cancelled" : "cancelling";
    if (await store.writeState(job, { status, epoch: state.value.epoch, updatedAt: Date.now(), message: "cancelled by flowc cancel" }, a?.version ?? -1)) {
      io.stderr.write(`${job} ${status}\n`);
      return 0;
    }
    // The assignment moved between our read and write: read again.
  }
  printProblem(io, `could not cancel ${job}: its assignment kept changing`, undefined, "try again");
  return 1;
}
