// The TCP data plane between cluster workers: a server that accepts authenticated connections and
// delivers their frames to the worker's Inbound, and a pool of outgoing connections, one per
// (peer worker, job, epoch), that carry the links' batches and control events and the app messages
// to that peer, all in order. See README.md in this folder for the wire format and the guarantees.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { DataLink, Inbound, Network } from "../cluster/network.js";
import type { WorkerRecord } from "../cluster/protocol.js";
import { Receiver, Sender, TransportError, type CloseReason, type ConnectionOptions } from "./connection.js";
import { acceptHandshake, openHandshake } from "./handshake.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./wire.js";

export { TransportError, type CloseReason } from "./connection.js";

export interface TcpNetworkOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port: read it from `.port`. */
  port?: number;
  /** This worker's id: sent to peers in the handshake, the `from` of the app messages it sends. */
  workerId: string;
  /** Where messages from other workers go. */
  inbound: Inbound;
  /** A job's secret, for both directions; undefined for an unknown job (its connections are refused). */
  secretFor(job: string): Promise<string | undefined>;
  /** Largest frame accepted (default 64 MiB); a sender splits a larger batch to fit. */
  maxFrameBytes?: number;
  /** Connect plus handshake must finish within this (default 5 s). */
  handshakeTimeoutMs?: number;
  /** A connection with nothing received for this long is closed (default 30 s); quiet sides send pings at a third of it. */
  idleTimeoutMs?: number;
  /** Unconsumed messages a sender may have in flight per connection (default 32: a checkpoint barrier waits behind them). */
  creditWindow?: number;
  /** Bytes waiting to be sent on one connection above which `pressure()` is pending (default 1 MiB: what waits here delays a checkpoint barrier queued behind it). */
  highWaterBytes?: number;
  /** An outgoing connection no link holds closes after this long without app messages (default 10 s). */
  lingerMs?: number;
  log?(line: string): void;
}

/** A link over TCP: adds how to learn that the connection under it has ended. */
export interface TcpDataLink extends DataLink {
  /**
   * Resolves (never rejects) once the connection has ended: undefined after a deliberate close,
   * the error otherwise (the peer died, refused a frame, went silent). Messages sent after that
   * are dropped; the job's epoch protocol is what recovers.
   */
  readonly closed: Promise<CloseReason>;
}

interface Outgoing {
  sender: Sender;
  /** Links handed out and not closed yet. */
  refs: number;
  linger?: NodeJS.Timeout;
}

interface PoolEntry {
  job: string;
  epoch: number;
  promise: Promise<Outgoing>;
  /** Set once connected. */
  out?: Outgoing;
}

export class TcpNetwork implements Network {
  private readonly server: Server;
  private readonly incoming = new Set<Receiver>();
  private readonly outgoing = new Map<string, PoolEntry>();
  private readonly connection: ConnectionOptions;
  private stopped = false;

  private constructor(private readonly opts: TcpNetworkOptions) {
    const log = opts.log ?? (() => {});
    this.connection = {
      maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 5000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
      log,
    };
    this.server = createServer((socket) => this.accept(socket));
    this.server.on("error", (e) => log(`data server: ${e.message}`));
  }

  /** Starts the data server; resolves once it listens. */
  static async listen(opts: TcpNetworkOptions): Promise<TcpNetwork> {
    const n = new TcpNetwork(opts);
    await new Promise<void>((resolve, reject) => {
      n.server.once("error", reject);
      n.server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
        n.server.off("error", reject);
        resolve();
      });
    });
    return n;
  }

  get port(): number {
    const a = this.server.address();
    if (!a || typeof a === "string") throw new Error("internal: the data server is not listening");
    return a.port;
  }

  // ---------------------------------------------------------------- receiving

  private accept(socket: Socket): void {
    if (this.stopped) return void socket.destroy();
    socket.setNoDelay(true);
    const r = new Receiver(socket, { ...this.connection, inbound: this.opts.inbound, creditWindow: this.opts.creditWindow ?? 32 });
    this.incoming.add(r);
    void r.closed.then(() => this.incoming.delete(r));
    acceptHandshake(r, {
      serverId: this.opts.workerId,
      idleTimeoutMs: this.connection.idleTimeoutMs,
      secretFor: (job) => this.opts.secretFor(job),
      initialCredits: this.opts.creditWindow ?? 32,
      maxFrameBytes: this.connection.maxFrameBytes,
    })
      .then(
        ({ job, epoch, clientId, peerIdleTimeoutMs }) => r.accepted(job, epoch, clientId, peerIdleTimeoutMs),
        (e: Error) => r.fail(`handshake refused: ${e.message}`),
      )
      .catch((e: Error) => r.fail(`internal: ${e.message}`));
  }

  // ---------------------------------------------------------------- sending

  /**
   * An authenticated link to `to` for one job and epoch; links to the same (worker, job, epoch)
   * share one connection, so everything sent through them arrives in the order it was sent.
   * Rejects (with a TransportError) when the peer cannot be reached or refuses the handshake.
   */
  async link(to: WorkerRecord, job: string, epoch: number): Promise<TcpDataLink> {
    const out = await this.connectionTo(to, job, epoch);
    out.refs++;
    clearTimeout(out.linger);
    let released = false;
    const s = out.sender;
    return {
      data: (target, channel, batch) => void (released || s.data(target, channel, batch)),
      control: (target, channel, event) => void (released || s.control(target, channel, event)),
      pressure: () => (released ? undefined : s.pressure()),
      close: () => {
        if (released) return;
        released = true;
        if (--out.refs === 0) this.linger(out);
      },
      closed: s.closed,
    };
  }

  /** Sends an app message over the connection to (to, job, epoch), after whatever its links sent. */
  async app(to: WorkerRecord, job: string, epoch: number, topic: string, body: unknown): Promise<void> {
    const out = await this.connectionTo(to, job, epoch);
    out.sender.app(topic, body);
    if (out.refs === 0) this.linger(out);
  }

  /** Closes a connection no link holds once it has been unused for `lingerMs`. */
  private linger(out: Outgoing): void {
    clearTimeout(out.linger);
    out.linger = setTimeout(() => out.refs === 0 && out.sender.end(), this.opts.lingerMs ?? 10_000);
    out.linger.unref();
  }

  /** The pooled connection for (to, job, epoch); a new one when there is none or it has ended. */
  private async connectionTo(to: WorkerRecord, job: string, epoch: number): Promise<Outgoing> {
    const out = await this.pooled(to, job, epoch);
    return out.sender.ended ? this.pooled(to, job, epoch) : out;
  }

  private pooled(to: WorkerRecord, job: string, epoch: number): Promise<Outgoing> {
    if (this.stopped) return Promise.reject(new TransportError("the data plane is closed"));
    const key = JSON.stringify([to.id, to.host, to.dataPort, job, epoch]);
    const e = this.outgoing.get(key);
    if (e && !e.out?.sender.ended) return e.promise;
    const entry: PoolEntry = { job, epoch, promise: this.open(to, job, epoch) };
    this.outgoing.set(key, entry);
    const forget = () => this.outgoing.get(key) === entry && this.outgoing.delete(key);
    entry.promise.then(
      (out) => {
        entry.out = out;
        void out.sender.closed.then(forget);
      },
      forget,
    );
    return entry.promise;
  }

  private async open(to: WorkerRecord, job: string, epoch: number): Promise<Outgoing> {
    const secret = await this.opts.secretFor(job);
    if (secret === undefined) throw new TransportError(`no secret for job ${JSON.stringify(job)}`);
    const socket = connect({ host: to.host, port: to.dataPort });
    socket.setNoDelay(true);
    const where = `worker ${to.id} at ${to.host}:${to.dataPort}`;
    const sender = new Sender(socket, { ...this.connection, highWaterBytes: this.opts.highWaterBytes ?? 1024 * 1024 }, `${to.host}:${to.dataPort}`);
    try {
      const hs = await openHandshake(sender, { clientId: this.opts.workerId, idleTimeoutMs: this.connection.idleTimeoutMs, serverId: to.id, job, epoch, secret });
      sender.accepted(`job ${job}, epoch ${epoch}, to ${where}`, hs.credits, hs.maxFrameBytes, hs.peerIdleTimeoutMs);
    } catch (e) {
      sender.fail(`handshake failed: ${(e as Error).message}`);
      const why = (await sender.closed)?.message ?? (e as Error).message;
      throw new TransportError(`cannot open a data link to ${where} for job ${job}: ${why}`);
    }
    if (this.stopped) {
      sender.fail("the data plane is closed");
      throw new TransportError("the data plane is closed");
    }
    return { sender, refs: 0 };
  }

  // ---------------------------------------------------------------- the end

  /**
   * Ends the connections of `job` with an epoch below `beforeEpoch` (all of the job's by default),
   * both ways: outgoing ones send what they hold first, incoming ones close at once. For the worker
   * once an attempt is superseded or the job is over; links on them report `closed`.
   */
  release(job: string, beforeEpoch = Infinity): void {
    for (const [key, e] of this.outgoing) {
      if (e.job !== job || e.epoch >= beforeEpoch) continue;
      this.outgoing.delete(key);
      e.promise.then(
        (out) => {
          clearTimeout(out.linger);
          out.sender.end();
        },
        () => {},
      );
    }
    for (const r of this.incoming) if (r.job === job && r.epoch < beforeEpoch) r.close();
  }

  /** Stops accepting, closes every connection (queued messages are dropped) and the server. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const r of this.incoming) r.close();
    for (const { promise } of this.outgoing.values()) {
      promise.then(
        (out) => {
          clearTimeout(out.linger);
          out.sender.fail("the data plane is closing");
        },
        () => {},
      );
    }
    this.outgoing.clear();
    await closed;
  }
}
