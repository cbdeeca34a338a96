// One data-plane connection, after the socket exists: the bounded, time-limited handshake (plain
// bytes), then length-prefixed msgpack frames, liveness (pings while quiet, closed when the peer
// is silent too long) and the one place a connection ends. Two roles: the `Sender` (the side that
// connected: it sends data, control and app frames as far as its credit goes and buffers the rest)
// and the `Receiver` (the side that accepted: it delivers to the worker's Inbound and grants credit
// back as messages are consumed). A failure closes this connection only, and is never thrown.
import type { Socket } from "node:net";
import type { Inbound, TaskAddress } from "../cluster/network.js";
import type { Batch, ControlEvent } from "../exec/messages.js";
import { MAX_HANDSHAKE_BYTES, type HandshakeIO } from "./handshake.js";
import { consumesCredit, decodeFrame, encodeFrame, FrameError, FrameReader, Kind, newDecoder, type Frame } from "./wire.js";

export interface ConnectionOptions {
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  log(line: string): void;
}

/** Why a connection ended: undefined when this side closed it on purpose. */
export type CloseReason = Error | undefined;

export class TransportError extends Error {
  override name = "TransportError";
}

abstract class Connection implements HandshakeIO {
  readonly peer: string;
  /** Resolves (never rejects) when the connection has ended, with the error that ended it, if any. */
  readonly closed: Promise<CloseReason>;
  private resolveClosed!: (r: CloseReason) => void;
  protected isClosed = false;
  /** Set once the handshake succeeded: frames from then on. */
  private frames: FrameReader | null = null;
  private readonly decoder = newDecoder();
  // Bytes of the handshake not yet read, and the one pending read.
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private waiter: { n: number; resolve(b: Buffer): void; reject(e: Error): void } | null = null;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private liveness: NodeJS.Timeout | undefined;
  private lastReceived = Date.now();
  private lastSent = Date.now();
  /** Ping when nothing was sent for this long: a third of the shorter of both sides' idle timeouts. */
  private pingAfterMs = 0;
  /** Describes the connection in log lines once known (job, epoch, peer worker). */
  protected label = "";

  constructor(
    protected readonly socket: Socket,
    protected readonly opts: ConnectionOptions,
    peer?: string,
  ) {
    this.peer = peer ?? `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    socket.on("data", (chunk: Buffer) => this.onBytes(chunk));
    socket.on("error", (e) => this.fail(`socket error: ${e.message}`));
    socket.on("close", () => this.fail(this.frames ? "the peer closed the connection" : "the connection closed during the handshake"));
    socket.on("drain", () => this.onDrain());
    this.handshakeTimer = setTimeout(() => this.fail(`handshake not completed within ${opts.handshakeTimeoutMs} ms`), opts.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  // ------------------------------------------------------------ handshake bytes (HandshakeIO)

  read(n: number): Promise<Buffer> {
    if (this.isClosed) return Promise.reject(new TransportError("connection closed"));
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
      this.serveRead();
    });
  }

  write(bytes: Buffer): void {
    if (this.isClosed) return;
    this.lastSent = Date.now();
    if (!this.socket.write(bytes)) this.onBlocked();
  }

  private serveRead(): void {
    const w = this.waiter;
    if (!w || this.pendingBytes < w.n) return;
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = all.length > w.n ? [all.subarray(w.n)] : [];
    this.pendingBytes -= w.n;
    this.waiter = null;
    w.resolve(all.subarray(0, w.n));
  }

  /** The handshake succeeded: from now on every byte is a frame. */
  protected open(label: string, peerIdleTimeoutMs: number): void {
    clearTimeout(this.handshakeTimer);
    this.label = label;
    this.pingAfterMs = Math.min(this.opts.idleTimeoutMs, peerIdleTimeoutMs) / 3;
    this.frames = new FrameReader(this.opts.maxFrameBytes);
    const rest = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const tick = Math.max(10, Math.floor(this.pingAfterMs / 2));
    this.liveness = setInterval(() => this.checkLiveness(), tick);
    this.liveness.unref();
    for (const b of rest) this.onBytes(b);
  }

  // ------------------------------------------------------------ frames

  private onBytes(chunk: Buffer): void {
    if (this.isClosed) return;
    this.lastReceived = Date.now();
    if (!this.frames) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > MAX_HANDSHAKE_BYTES) return this.fail(`more than ${MAX_HANDSHAKE_BYTES} bytes during the handshake`);
      return this.serveRead();
    }
    let payloads: Buffer[];
    try {
      payloads = this.frames.push(chunk);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    for (const p of payloads) {
      let f: Frame;
      try {
        f = decodeFrame(this.decoder, p);
      } catch (e) {
        return this.fail((e as Error).message);
      }
      this.onFrame(f);
      if (this.isClosed) return;
    }
  }

  protected abstract onFrame(f: Frame): void;

  protected sendFrame(f: Frame): void {
    this.write(encodeFrame(f));
  }

  private checkLiveness(): void {
    const now = Date.now();
    if (now - this.lastReceived > this.opts.idleTimeoutMs) return this.fail(`nothing received for ${this.opts.idleTimeoutMs} ms (the peer is silent)`);
    if (now - this.lastSent > this.pingAfterMs && this.socket.writableLength === 0) this.sendFrame({ kind: Kind.Ping });
  }

  protected onBlocked(): void {}
  protected onDrain(): void {}

  // ------------------------------------------------------------ the end

  /** Closes on a failure: logged with the peer and the reason; nothing is thrown. */
  fail(reason: string): void {
    if (this.isClosed) return;
    this.opts.log(`data connection ${this.peer}${this.label ? ` (${this.label})` : ""} closed: ${reason}`);
    this.finish(new TransportError(reason));
    this.socket.destroy();
  }

  /** True once the connection has ended (or is ending): nothing more can be sent on it. */
  get ended(): boolean {
    return this.isClosed;
  }

  /**
   * Closes on purpose: tells the peer (so it does not take it for a failure) and ends the socket.
   * `linger`: leave the socket half-open until the peer ends its side too, so nothing in flight is
   * cut off by a reset (bounded by the idle timeout); otherwise destroy it once the bye is written.
   */
  protected goodbye(linger: boolean): void {
    if (this.isClosed) return;
    if (this.frames) this.sendFrame({ kind: Kind.Bye });
    this.finish(undefined);
    if (linger) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), this.opts.idleTimeoutMs).unref();
    } else this.socket.end(() => this.socket.destroy());
  }

  protected finish(reason: CloseReason): void {
    this.isClosed = true;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.liveness);
    const w = this.waiter;
    this.waiter = null;
    w?.reject(reason ?? new TransportError("connection closed"));
    this.resolveClosed(reason);
  }
}

// ---------------------------------------------------------------- the accepting side

export interface ReceiverOptions extends ConnectionOptions {
  inbound: Inbound;
  /** Credits the sender holds at most: messages sent but not yet consumed here. */
  creditWindow: number;
}

/**
 * Delivers what a sender sends, in order, to the Inbound with the job and epoch the handshake fixed.
 * Credit: a message counts as consumed when `Inbound.data`/`app` returns, or, when it returns a
 * promise, when that settles. Credit goes back in grants of a quarter window, so a sender never
 * holds more than `creditWindow` unconsumed messages here, and one that sends beyond its credit
 * breaks the protocol and is disconnected.
 */
export class Receiver extends Connection {
  /** Fixed by the handshake ("" and -1 until then). */
  job = "";
  epoch = -1;
  private from = "";
  /** Credits the sender still holds. */
  private available = 0;
  /** Messages consumed since the last grant. */
  private unreturned = 0;

  constructor(
    socket: Socket,
    private readonly r: ReceiverOptions,
  ) {
    super(socket, r);
  }

  get grantThreshold(): number {
    return Math.max(1, Math.floor(this.r.creditWindow / 4));
  }

  accepted(job: string, epoch: number, from: string, peerIdleTimeoutMs: number): void {
    this.job = job;
    this.epoch = epoch;
    this.from = from;
    this.available = this.r.creditWindow;
    this.open(`job ${job}, epoch ${epoch}, from worker ${from}`, peerIdleTimeoutMs);
  }

  protected onFrame(f: Frame): void {
    if (consumesCredit(f.kind)) {
      if (this.available === 0) return this.fail("the sender sent beyond its credit");
      this.available--;
    }
    switch (f.kind) {
      case Kind.Data:
        return this.deliver(() => this.r.inbound.data(this.job, this.epoch, f.target, f.channel, { batch: f.batch }));
      case Kind.Control:
        return this.deliver(() => this.r.inbound.data(this.job, this.epoch, f.target, f.channel, { event: f.event }));
      case Kind.App:
        return this.deliver(() => this.r.inbound.app(this.job, this.epoch, this.from, f.topic, f.body));
      case Kind.Ping:
        return;
      case Kind.Bye:
        return this.goodbye(true);
      case Kind.Credit:
        return this.fail("a sender sent a credit frame");
    }
  }

  /** Runs the handler; a handler that throws is a bug of the receiving worker, not of the connection. */
  private deliver(handler: () => unknown): void {
    let r: unknown;
    try {
      r = handler();
    } catch (e) {
      this.opts.log(`data connection ${this.peer} (${this.label}): the inbound handler failed: ${(e as Error).message}`);
    }
    if (r instanceof Promise) {
      r.then(
        () => this.consumed(),
        (e: Error) => {
          this.opts.log(`data connection ${this.peer} (${this.label}): the inbound handler failed: ${e?.message}`);
          this.consumed();
        },
      );
    } else this.consumed();
  }

  private consumed(): void {
    if (this.isClosed) return;
    if (++this.unreturned < this.grantThreshold) return;
    this.available += this.unreturned;
    this.sendFrame({ kind: Kind.Credit, credits: this.unreturned });
    this.unreturned = 0;
  }

  /** Closes on purpose (the worker is stopping). */
  close(): void {
    this.goodbye(false);
  }
}

// ---------------------------------------------------------------- the connecting side

export interface SenderOptions extends ConnectionOptions {
  /** Above this many bytes waiting (here and in the socket), `pressure()` is pending. */
  highWaterBytes: number;
}

/**
 * Frames waiting above which `pressure()` is pending, whatever their size: many small frames
 * (small batches, watermarks) are cheap in bytes but each costs the receiver a turn, and a
 * checkpoint barrier queued behind them waits for all of them.
 */
const HIGH_WATER_FRAMES = 128;

interface Queued {
  bytes: Buffer;
  credit: boolean;
}

/**
 * Sends frames in order. A frame that needs credit waits until the receiver has granted some, and
 * nothing is handed to the socket while its own buffer is full (`write()` returned false): frames
 * wait here instead, and `pressure()` is pending while more than `highWaterBytes` (or more than
 * HIGH_WATER_FRAMES frames) wait in total, until half of that has drained. A closed sender drops what it holds, with a log line, and
 * resolves every pressure promise so nothing waits on a dead link.
 */
export class Sender extends Connection {
  private credits = 0;
  private peerMaxFrameBytes = 0;
  private queue: Queued[] = [];
  private head = 0;
  private queuedBytes = 0;
  private socketBlocked = false;
  private drained: { promise: Promise<void>; resolve(): void } | null = null;
  private closing = false;
  private droppedAfterClose = 0;

  constructor(
    socket: Socket,
    private readonly s: SenderOptions,
    peer: string,
  ) {
    super(socket, s, peer);
  }

  accepted(label: string, credits: number, peerMaxFrameBytes: number, peerIdleTimeoutMs: number): void {
    this.credits = credits;
    this.peerMaxFrameBytes = peerMaxFrameBytes;
    this.open(label, peerIdleTimeoutMs);
  }

  data(target: TaskAddress, channel: number, batch: Batch): void {
    if (this.dropping()) return;
    for (const bytes of this.encodeData(target, channel, batch)) this.enqueue(bytes, true);
    this.pump();
  }

  control(target: TaskAddress, channel: number, event: ControlEvent): void {
    this.send({ kind: Kind.Control, target, channel, event });
  }

  app(topic: string, body: unknown): void {
    this.send({ kind: Kind.App, topic, body });
  }

  private send(f: Frame): void {
    if (this.dropping()) return;
    const bytes = encodeFrame(f);
    this.checkSize(bytes, "a message");
    this.enqueue(bytes, true);
    this.pump();
  }

  /** A batch whose frame is over the receiver's limit goes as several smaller batches, in order. */
  private encodeData(target: TaskAddress, channel: number, batch: Batch): Buffer[] {
    const bytes = encodeFrame({ kind: Kind.Data, target, channel, batch });
    if (bytes.length - 4 <= this.peerMaxFrameBytes || batch.values.length <= 1) {
      this.checkSize(bytes, "one record");
      return [bytes];
    }
    const mid = batch.values.length >> 1;
    const half = (from: number, to?: number): Batch => ({ values: batch.values.slice(from, to), keys: batch.keys?.slice(from, to) ?? null, ...(batch.times ? { times: batch.times.slice(from, to) } : {}) });
    return [...this.encodeData(target, channel, half(0, mid)), ...this.encodeData(target, channel, half(mid))];
  }

  private checkSize(bytes: Buffer, what: string): void {
    if (bytes.length - 4 > this.peerMaxFrameBytes) {
      throw new TransportError(`${what} of ${bytes.length - 4} encoded bytes exceeds the receiver's frame limit of ${this.peerMaxFrameBytes} bytes`);
    }
  }

  private dropping(): boolean {
    if (!this.isClosed && !this.closing) return false;
    if (this.droppedAfterClose++ === 0) this.opts.log(`data link ${this.peer} (${this.label}) is closed: dropping further messages`);
    return true;
  }

  private enqueue(bytes: Buffer, credit: boolean): void {
    this.queue.push({ bytes, credit });
    this.queuedBytes += bytes.length;
  }

  private pump(): void {
    while (this.head < this.queue.length && !this.socketBlocked && !this.isClosed) {
      const q = this.queue[this.head]!;
      if (q.credit) {
        if (this.credits === 0) break;
        this.credits--;
      }
      this.queue[this.head++] = undefined as unknown as Queued;
      this.queuedBytes -= q.bytes.length;
      this.write(q.bytes);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.closing && this.head === this.queue.length) this.goodbye(true);
    this.checkPressure();
  }

  private backlog(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Frames waiting for credit or for the socket. */
  private queuedFrames(): number {
    return this.queue.length - this.head;
  }

  pressure(): Promise<void> | undefined {
    if (this.isClosed || (this.backlog() <= this.s.highWaterBytes && this.queuedFrames() <= HIGH_WATER_FRAMES)) return undefined;
    if (!this.drained) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.drained = { promise, resolve };
    }
    return this.drained.promise;
  }

  private checkPressure(): void {
    if (this.drained && (this.isClosed || (this.backlog() <= this.s.highWaterBytes / 2 && this.queuedFrames() <= HIGH_WATER_FRAMES / 2))) {
      this.drained.resolve();
      this.drained = null;
    }
  }

  protected override onBlocked(): void {
    this.socketBlocked = true;
  }

  protected override onDrain(): void {
    this.socketBlocked = false;
    this.pump();
  }

  protected onFrame(f: Frame): void {
    switch (f.kind) {
      case Kind.Credit:
        this.credits += f.credits;
        return this.pump();
      case Kind.Ping:
        return;
      case Kind.Bye:
        return this.fail("the receiving worker closed the connection");
      default:
        return this.fail(`a receiver sent a frame of kind ${f.kind}`);
    }
  }

  override get ended(): boolean {
    return this.isClosed || this.closing;
  }

  /** Sends what is queued (as credit allows), then closes; later messages are dropped. */
  end(): void {
    if (this.isClosed || this.closing) return;
    this.closing = true;
    this.pump();
  }

  protected override finish(reason: CloseReason): void {
    const waiting = this.queue.length - this.head;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    super.finish(reason);
    if (waiting > 0) this.opts.log(`data link ${this.peer} (${this.label}): ${waiting} queued message(s) dropped`);
    this.checkPressure();
  }
}
