// What a worker needs from the data plane: links that carry one job's batches and control events
// to another worker, and small application messages (reports to the coordinator). The TCP
// implementation authenticates with the job's secret and uses credit-based flow control; the
// in-process one here lets tests run several workers in one process.
import type { Batch, ControlEvent } from "../exec/messages.js";
import type { WorkerRecord } from "./protocol.js";

export interface TaskAddress {
  node: string;
  partition: number;
}

export interface DataLink {
  data(target: TaskAddress, channel: number, batch: Batch): void;
  control(target: TaskAddress, channel: number, event: ControlEvent): void;
  /** Pending while this link's send buffer is full. */
  pressure(): Promise<void> | undefined;
  close(): void;
}

/**
 * What arrives at a worker. Every message carries the job and epoch it belongs to. A handler may
 * return a promise: the TCP network then counts the message as consumed (and returns its credit to
 * the sender) only when it settles; otherwise as soon as the handler returns.
 */
export interface Inbound {
  data(job: string, epoch: number, target: TaskAddress, channel: number, message: { batch: Batch } | { event: ControlEvent }): void | Promise<void>;
  app(job: string, epoch: number, from: string, topic: string, body: unknown): void | Promise<void>;
}

export interface Network {
  link(to: WorkerRecord, job: string, epoch: number): Promise<DataLink>;
  app(to: WorkerRecord, job: string, epoch: number, topic: string, body: unknown): Promise<void>;
}

/** Workers in one process; messages are delivered asynchronously and in order, like a connection. */
export class InProcessNetwork {
  private readonly inbound = new Map<string, Inbound>();

  attach(workerId: string, inbound: Inbound): Network {
    this.inbound.set(workerId, inbound);
    const deliver = (to: string, f: (i: Inbound) => void) =>
      setImmediate(() => {
        const i = this.inbound.get(to);
        if (i) f(i);
      });
    return {
      link: async (to, job, epoch) => ({
        data: (target, channel, batch) => {
          const copy = structuredClone(batch);
          deliver(to.id, (i) => i.data(job, epoch, target, channel, { batch: copy }));
        },
        control: (target, channel, event) => deliver(to.id, (i) => i.data(job, epoch, target, channel, { event })),
        pressure: () => undefined,
        close: () => {},
      }),
      app: async (to, job, epoch, topic, body) => {
        deliver(to.id, (i) => i.app(job, epoch, workerId, topic, body));
      },
    };
  }

  /** The worker is gone: nothing reaches it any more. */
  detach(workerId: string): void {
    this.inbound.delete(workerId);
  }
}
