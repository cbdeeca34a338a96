// A worker process's parts, wired: a ZooKeeper session and the job store on it, the data server
// other workers connect to, the Worker that runs assigned tasks, and (optionally) the metrics and
// status server. `flowc worker` is this plus signal handling; tests start it in child processes.
import { hostname } from "node:os";
import { loadPlan } from "./plans.js";
import { WorkerMetrics } from "./metrics.js";
import type { Inbound, Network } from "./network.js";
import { Worker } from "./worker.js";
import { ZkClusterStore } from "./zk-store.js";
import { ZkSession } from "./zk-session.js";

export interface DataServer {
  network: Network;
  port: number;
  close(): Promise<void>;
}

export interface WorkerNodeOptions {
  /** host:port[,host:port…][/chroot] */
  zookeeper: string;
  /** `user:password` of the cluster's digest ACL. */
  auth: string;
  id?: string;
  /** The address this worker binds and advertises to other workers. */
  host: string;
  /** Data port; 0 picks a free one. */
  port: number;
  slots: number;
  metricsPort?: number;
  /** Where relative connector paths resolve for jobs submitted without a directory. */
  workDir: string;
  sessionTimeoutMs?: number;
  log(line: string): void;
  /** Starts the data server (TCP in a real cluster). */
  dataServer(opts: { host: string; port: number; workerId: string; inbound: Inbound; secretFor(job: string): Promise<string | undefined>; log(line: string): void }): Promise<DataServer>;
}

export interface WorkerNode {
  id: string;
  dataPort: number;
  metricsPort: number | undefined;
  session: ZkSession;
  stop(): Promise<void>;
}

export async function startWorkerNode(o: WorkerNodeOptions): Promise<WorkerNode> {
  const session = new ZkSession({ connect: o.zookeeper, auth: o.auth, ...(o.sessionTimeoutMs ? { sessionTimeoutMs: o.sessionTimeoutMs } : {}) });
  await session.start();
  session.on("lost", (why: string) => o.log(`ZooKeeper session lost (${why}); starting a new one`));
  session.on("session", (id: string) => o.log(`new ZooKeeper session ${id}: registered again`));
  session.on("suspended", () => o.log("ZooKeeper is not answering: waiting (tasks keep running until the session times out)"));
  const store = new ZkClusterStore(session);
  let worker: Worker | null = null;
  const id = o.id ?? `${hostname()}-${process.pid}`;
  let data: DataServer | null = null;
  let metrics: WorkerMetrics | null = null;
  try {
    await store.init();
    // Messages that arrive before the Worker exists are for jobs it has not joined yet: dropped, as
    // a worker that has not joined a job drops them anyway.
    const inbound: Inbound = {
      data: (...a) => worker?.data(...a),
      app: (...a) => worker?.app(...a),
    };
    data = await o.dataServer({
      host: o.host,
      port: o.port,
      workerId: id,
      inbound,
      secretFor: async (job) => (await store.job(job))?.secret,
      log: o.log,
    });
    let metricsPort: number | undefined;
    if (o.metricsPort !== undefined) {
      metrics = new WorkerMetrics(id, () => worker?.running() ?? [], () => worker?.status() ?? []);
      metricsPort = await metrics.listen(o.metricsPort, o.host);
    }
    worker = new Worker(store, {
      record: { id, host: o.host, dataPort: data.port, slots: o.slots, ...(metricsPort === undefined ? {} : { metricsPort }) },
      loadPlan: (job) => loadPlan(job.planPath, job.planHash),
      baseDir: o.workDir,
      log: o.log,
      onCoordinatorEvent: (job, e) => o.log(`coordinator of ${job}: ${describe(e)}`),
    });
    await worker.start(data.network);
    const w = worker;
    const d = data;
    const m = metrics;
    return {
      id,
      dataPort: data.port,
      metricsPort,
      session,
      stop: async () => {
        await w.stop();
        await d.close();
        await m?.close();
        session.close();
      },
    };
  } catch (e) {
    await worker?.stop().catch(() => {});
    await data?.close().catch(() => {});
    await metrics?.close().catch(() => {});
    session.close();
    throw e;
  }
}

function describe(e: Parameters<NonNullable<ConstructorParameters<typeof Worker>[1]["onCoordinatorEvent"]>>[1]): string {
  switch (e.kind) {
    case "assigned":
      return `epoch ${e.epoch}: ${Object.entries(e.tasks)
        .map(([t, w]) => `${t}→${w}`)
        .join(", ")}`;
    case "status":
      return `${e.status} (epoch ${e.epoch})`;
    case "stepped-down":
      return `stepped down: ${e.reason}`;
    case "checkpoint": {
      const c = e.event;
      return c.kind === "completed"
        ? `checkpoint ${c.id} completed (epoch ${c.epoch}) in ${c.durationMs} ms, pause ${c.pauseMs?.toFixed(1)} ms`
        : `checkpoint ${c.id} declined (epoch ${c.epoch}): ${c.reason}`;
    }
  }
}
