// Partitions in worker threads (RunOptions.threads): thread 0 is the calling thread and runs every
// single-instance node (sources, a gathered sink) and the partitions p with p mod threads = 0; each
// worker thread runs a `Job` of its own over the same plan module with the partitions
// p mod threads = its index. Every pair of threads shares one MessagePort, so everything one thread
// sends another arrives in order; batches travel as columns (transport/columns.ts). This is the
// cluster's Placement with threads instead of workers, and without ZooKeeper: nothing of it
// survives a crash, and checkpoints are not taken across threads (yet).
import { createHash } from "node:crypto";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type { PlanNode } from "../plan.js";
import { sameType } from "../types.js";
import { codecFor, type BatchCodec, type EncodedBatch } from "../transport/columns.js";
import type { ControlEvent, Batch } from "./messages.js";
import type { Receiver } from "./output.js";
import type { JobStats, Placement, RecordFailure, RunSummary } from "./job.js";

/** What identifies a plan across threads: the SHA-256 of its JSON. */
export function planHash(plan: unknown): string {
  return createHash("sha256").update(JSON.stringify(plan)).digest("hex");
}

/** The thread that runs instance `partition` of `node`. */
export function threadOf(node: PlanNode, partition: number, threads: number): number {
  return node.parallelism === "single" ? 0 : partition % threads;
}

/** Between two threads: batches, control events, and acknowledgements for backpressure. */
type PeerMessage =
  | { t: "data"; node: string; partition: number; channel: number; batch: EncodedBatch }
  | { t: "control"; node: string; partition: number; channel: number; event: ControlEvent }
  | { t: "ack"; n: number };

/** How long a cancelled worker thread has to close its sinks before it is terminated (ms). */
const STOP_MS = 2000;

/** Messages a receiver acknowledges at a time. */
const ACK_EVERY = 16;
/** Messages a sender has in flight before its sources wait (each at most a batch). */
const WINDOW = 128;

/** One end of the port between two threads. */
export class PeerLink {
  private unacked = 0;
  private waiting: { promise: Promise<void>; resolve: () => void } | null = null;
  private received = 0;

  constructor(
    private readonly port: MessagePort,
    private readonly codecs: (node: string) => BatchCodec,
  ) {}

  /** A receiver for a task instance on the other thread. */
  receiver(node: string, partition: number): Receiver {
    const codec = this.codecs(node);
    return {
      receive: (batch: Batch, channel: number) => {
        const { message, transfer } = codec.encode(batch);
        this.send({ t: "data", node, partition, channel, batch: message }, transfer);
      },
      control: (event: ControlEvent, channel: number) => this.send({ t: "control", node, partition, channel, event }, []),
    };
  }

  private send(m: PeerMessage, transfer: ArrayBuffer[]): void {
    this.unacked++;
    this.port.postMessage(m, transfer);
  }

  /** Pending while the other thread has too many of this link's messages not yet handled. */
  pressure(): Promise<void> | undefined {
    if (this.unacked < WINDOW) return undefined;
    if (!this.waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }

  /**
   * Hands what arrives to `deliver` (the local Job), and acknowledges it. With `hold` (a worker
   * thread: its sinks' writers when their buffers are full), an acknowledgement waits until the
   * sinks can take more, so the sources on the other thread wait for them as they would on one.
   * `failed` gets what `deliver` throws (a bug, not a user's mistake): the job fails with it.
   */
  listen(
    deliver: (node: string, partition: number, channel: number, message: { batch: Batch } | { event: ControlEvent }) => void,
    failed: (e: unknown) => void,
    hold?: () => Promise<void> | undefined,
  ): void {
    this.port.on("message", (m: PeerMessage) => {
      if (m.t === "ack") {
        this.unacked -= m.n;
        if (this.waiting && this.unacked <= WINDOW / 2) {
          this.waiting.resolve();
          this.waiting = null;
        }
        return;
      }
      try {
        if (m.t === "data") deliver(m.node, m.partition, m.channel, { batch: this.codecs(m.node).decode(m.batch) });
        else deliver(m.node, m.partition, m.channel, { event: m.event });
      } catch (e) {
        failed(e);
        return;
      }
      if (++this.received === ACK_EVERY) {
        this.received = 0;
        const ack = () => this.port.postMessage({ t: "ack", n: ACK_EVERY } satisfies PeerMessage);
        const wait = hold?.();
        if (wait) wait.then(ack, ack);
        else ack();
      }
    });
  }

  /** Lets the thread exit with the port open (the peer may still acknowledge). */
  unref(): void {
    this.port.unref();
  }

  close(): void {
    this.port.close();
  }
}

/**
 * The codec of batches to a node: columns when every input of the node carries the same type of
 * numbers and booleans. Both ends of a port compute it from the plan, so they agree.
 */
export function codecsOf(nodes: readonly PlanNode[]): (node: string) => BatchCodec {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const codecs = new Map<string, BatchCodec>();
  return (id) => {
    let c = codecs.get(id);
    if (!c) {
      const node = byId.get(id)!;
      const types = node.inputs.map((i) => (i.port === "late" ? undefined : byId.get(i.from)?.outputType));
      const first = types[0];
      // (A field whose value is not what the type says makes that batch a clone: encode checks.)
      const same = first !== undefined && types.every((t) => t !== undefined && sameType(t, first));
      c = codecFor(same ? first : undefined);
      codecs.set(id, c);
    }
    return c;
  };
}

/** Where each task instance runs, seen from thread `index`. */
export function threadPlacement(nodes: readonly PlanNode[], index: number, threads: number, links: readonly (PeerLink | null)[]): Placement {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const owner = (id: string, p: number) => threadOf(byId.get(id)!, p, threads);
  return {
    isLocal: (id, p) => owner(id, p) === index,
    remote: (id, p) => links[owner(id, p)]!.receiver(id, p),
    pressure: () => {
      for (const l of links) {
        const p = l?.pressure();
        if (p) return p;
      }
      return undefined;
    },
  };
}

/** What a worker thread starts with (workerData); its ports come in `ports`, null at its own index. */
export interface ThreadStart {
  moduleUrl: string;
  /** planHash of the plan thread 0 runs: a worker thread that imports another (the file changed) refuses to start. */
  planHash: string;
  index: number;
  threads: number;
  partitions: number;
  baseDir: string;
  failOnError?: boolean;
  idleTimeoutMs?: number;
  ports: (MessagePort | null)[];
}

/** From a worker thread to thread 0. */
export type ThreadReport =
  | { t: "opened" }
  | { t: "stats"; stats: JobStats }
  | { t: "failed"; failure: RecordFailure }
  | { t: "done"; summary: RunSummary }
  | { t: "error"; error: { message: string; job: boolean; loc?: unknown; hint?: string; stack?: string } };

/** From thread 0 to a worker thread. */
export type ThreadCommand = { t: "abort" } | { t: "cancel"; reason: string };

/** The worker threads of a job, seen from thread 0. */
export class ThreadGroup {
  readonly links: (PeerLink | null)[];
  private readonly workers: Worker[] = [];
  private readonly stats = new Map<number, JobStats>();
  private readonly summaries = new Map<number, RunSummary>();
  private failure!: (e: Error & { loc?: unknown; hint?: string; job?: boolean }) => void;
  readonly failed: Promise<never>;
  /** Settles when every worker thread's job has finished. */
  readonly done: Promise<void>;
  readonly opened: Promise<void>;
  private exiting = false;
  private readonly exited = new Set<Worker>();

  constructor(
    nodes: readonly PlanNode[],
    start: Omit<ThreadStart, "index" | "ports">,
    onFailedRecord: (f: RecordFailure) => void,
  ) {
    const n = start.threads;
    const ports: (MessagePort | null)[][] = Array.from({ length: n }, () => Array<MessagePort | null>(n).fill(null));
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const { port1, port2 } = new MessageChannel();
        ports[i]![j] = port1;
        ports[j]![i] = port2;
      }
    const codecs = codecsOf(nodes);
    this.links = ports[0]!.map((p) => (p ? new PeerLink(p, codecs) : null));
    this.failed = new Promise<never>((_, reject) => (this.failure = reject));
    this.failed.catch(() => {});
    const opened: Promise<void>[] = [];
    const done: Promise<void>[] = [];
    for (let i = 1; i < n; i++) {
      const mine = ports[i]!;
      const data: ThreadStart = { ...start, index: i, ports: mine };
      const w = new Worker(workerUrl(), { workerData: data, transferList: mine.filter((p): p is MessagePort => p !== null) });
      this.workers.push(w);
      let open!: () => void;
      let finish!: () => void;
      opened.push(new Promise<void>((r) => (open = r)));
      done.push(new Promise<void>((r) => (finish = r)));
      w.on("message", (m: ThreadReport) => {
        switch (m.t) {
          case "opened":
            return open();
          case "stats":
            return void this.stats.set(i, m.stats);
          case "failed":
            return onFailedRecord(m.failure);
          case "done":
            this.summaries.set(i, m.summary);
            this.stats.set(i, m.summary);
            return finish();
          case "error":
            return this.fail(Object.assign(new Error(m.error.message), { loc: m.error.loc, hint: m.error.hint, job: m.error.job, stack: m.error.stack }));
        }
      });
      w.on("error", (e) => this.fail(Object.assign(new Error(`partition thread ${i} failed: ${e.message}`), { stack: e.stack })));
      w.on("exit", (code) => {
        this.exited.add(w);
        if (!this.summaries.has(i) && !this.exiting)
          this.fail(
            Object.assign(new Error(`partition thread ${i} stopped (exit code ${code}) before its partitions finished`), {
              job: true,
              hint: "an imported function may have ended the thread (process.exit), or it ran out of memory; its partitions' output is incomplete",
            }),
          );
      });
    }
    this.opened = Promise.race([Promise.all(opened).then(() => {}), this.failed]);
    this.done = Promise.race([Promise.all(done).then(() => {}), this.failed]);
    // Awaited by open() and run() when they get there; a failure before is not unhandled.
    this.opened.catch(() => {});
    this.done.catch(() => {});
  }

  fail(e: Error & { loc?: unknown; hint?: string; job?: boolean }): void {
    if (this.exiting) return;
    this.failure(e);
  }

  send(command: ThreadCommand): void {
    for (const w of this.workers) w.postMessage(command);
  }

  /** Every worker's latest stats (from its periodic report, or its summary). */
  workerStats(): JobStats[] {
    return [...this.stats.values()];
  }

  workerSummaries(): RunSummary[] {
    return [...this.summaries.values()];
  }

  /**
   * Stops every worker thread (after a failure or cancel; after done, they exit by themselves):
   * each is told to cancel, which closes its sinks, and is terminated if it has not exited within
   * STOP_MS.
   */
  async terminate(): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    this.send({ t: "cancel", reason: "the job stopped" });
    await Promise.all(
      this.workers.map(async (w) => {
        if (this.exited.has(w)) return;
        const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), STOP_MS)));
        const how = await Promise.race([exited, late]);
        clearTimeout(timer);
        if (how === "late") await w.terminate();
      }),
    );
    for (const l of this.links) l?.close();
  }

  /** After done: lets this thread's ports go. */
  release(): void {
    this.exiting = true;
    for (const l of this.links) l?.close();
  }
}

/** The worker script: next to this module when built, from dist when running the TypeScript (tests). */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("../../dist/runtime/exec/thread-worker.js", import.meta.url) : new URL("./thread-worker.js", import.meta.url);
}
