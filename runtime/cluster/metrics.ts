// Prometheus metrics of a worker (prom-client), read from the running jobs when scraped: records
// in and out per operator instance, throughput, time backpressured, watermark lag. Served over HTTP
// on the worker's --metrics-port. Nothing here is written to ZooKeeper.
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Job } from "../exec/job.js";
import type { JobStatusOnWorker } from "./worker.js";

export interface RunningJob {
  name: string;
  epoch: number;
  job: Job;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  private server: Server | null = null;

  constructor(
    workerId: string,
    jobs: () => RunningJob[],
    private readonly status: () => JobStatusOnWorker[] = () => [],
  ) {
    this.registry.setDefaultLabels({ worker: workerId });
    collectDefaultMetrics({ register: this.registry, prefix: "flow_process_" });
    const labels = ["job", "node", "kind", "partition"] as const;
    const tasks = () => jobs().flatMap((j) => j.job.taskStats().map((t) => ({ j, t, l: { job: j.name, node: t.node, kind: t.kind, partition: String(t.partition) } })));
    new Counter({
      name: "flow_records_in_total",
      help: "Records that entered an operator instance.",
      labelNames: labels,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { t, l } of tasks()) this.inc(l, t.recordsIn);
      },
    });
    new Counter({
      name: "flow_records_out_total",
      help: "Records an operator instance emitted.",
      labelNames: labels,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { t, l } of tasks()) this.inc(l, t.recordsOut);
      },
    });
    new Gauge({
      name: "flow_watermark_lag_seconds",
      help: "Wall-clock time minus the operator instance's event time (absent before the first watermark).",
      labelNames: labels,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const { t, l } of tasks()) if (Number.isFinite(t.watermark)) this.set(l, (now - t.watermark) / 1000);
      },
    });
    new Gauge({
      name: "flow_source_throughput_records_per_second",
      help: "Records read by the job's local sources per second since the attempt started.",
      labelNames: ["job"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const j of jobs()) {
          const s = j.job.snapshotStats();
          this.set({ job: j.name }, s.recordsIn / Math.max(0.001, (Date.now() - s.startedAt) / 1000));
        }
      },
    });
    new Counter({
      name: "flow_backpressured_seconds_total",
      help: "Time the job's local sources waited for full buffers downstream.",
      labelNames: ["job"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const j of jobs()) this.inc({ job: j.name }, j.job.snapshotStats().backpressuredMs / 1000);
      },
    });
    new Counter({
      name: "flow_late_records_total",
      help: "Elements behind the watermark that windows, joins and distinct dropped.",
      labelNames: ["job"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const j of jobs()) this.inc({ job: j.name }, j.job.snapshotStats().lateRecords);
      },
    });
    new Gauge({
      name: "flow_job_epoch",
      help: "The assignment epoch of the job's tasks on this worker.",
      labelNames: ["job"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const j of jobs()) this.set({ job: j.name }, j.epoch);
      },
    });
  }

  /** Serves /metrics (Prometheus) and /status (JSON, for `flowc status`); returns the port. */
  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    this.server = createServer((req, res) => {
      if (req.url === "/status") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.status()));
        return;
      }
      if (req.url !== "/metrics") {
        res.writeHead(404).end("see /metrics or /status\n");
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (e) => res.writeHead(500).end(String(e)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, resolve);
    });
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
