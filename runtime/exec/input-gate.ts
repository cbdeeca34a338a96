// The input side of a task: merges its channels and turns their in-band control events into
// task-level ones. A state machine with two states:
//   open:                 data passes through; barrier n on channel c → aligning(n, {c}), c blocked
//   aligning(n, arrived): data on an arrived channel is queued; barrier n on the last channel (or the
//                         last non-arrived channel ending) → onBarrier(n), back to open, queued
//                         messages replayed in order (they may start the next alignment)
// Watermarks: the task's event time is the minimum over its channels (an ended channel no longer
// holds it back, nor does an idle one: a channel that sent `idle` is left out of the minimum until
// its next watermark; when every open channel is idle the task's event time moves to the largest
// of their watermarks and it reports itself idle downstream).
// End: once every channel has ended.
import type { Batch, ControlEvent } from "./messages.js";

export interface GateHandler {
  onData(batch: Batch, channel: number): void;
  onWatermark(time: number): void;
  /** Every channel that has not ended is idle (see messages.ts). */
  onIdle?(): void;
  onBarrier(id: number): void;
  onEnd(): void;
}

type Queued = { kind: "data"; batch: Batch } | { kind: "control"; event: ControlEvent };

export class InputGate {
  private readonly watermarks: number[];
  private readonly ended: boolean[];
  private readonly idle: boolean[];
  private endedCount = 0;
  private currentWatermark = -Infinity;
  private aligning: { id: number; arrived: Set<number> } | null = null;
  /** The newest barrier that passed: an older one arriving late (its checkpoint was given up) is dropped. */
  private lastAligned = 0;
  private readonly queues: Queued[][];
  private finished = false;

  constructor(
    readonly channels: number,
    private readonly handler: GateHandler,
  ) {
    this.watermarks = new Array<number>(channels).fill(-Infinity);
    this.ended = new Array<boolean>(channels).fill(false);
    this.idle = new Array<boolean>(channels).fill(false);
    this.queues = Array.from({ length: channels }, () => []);
  }

  /** The task's event time: the minimum watermark over its channels (-Infinity before any). */
  get watermark(): number {
    return this.currentWatermark;
  }

  get isAligning(): boolean {
    return this.aligning !== null;
  }

  data(batch: Batch, channel: number): void {
    if (this.aligning?.arrived.has(channel)) this.queues[channel]!.push({ kind: "data", batch });
    else this.handler.onData(batch, channel);
  }

  control(event: ControlEvent, channel: number): void {
    if (this.aligning?.arrived.has(channel)) {
      this.queues[channel]!.push({ kind: "control", event });
      return;
    }
    switch (event.kind) {
      case "watermark":
        this.watermarks[channel] = Math.max(this.watermarks[channel]!, event.time);
        this.idle[channel] = false;
        this.advanceWatermark();
        break;
      case "idle":
        if (this.idle[channel] || this.ended[channel]) return;
        this.idle[channel] = true;
        this.advanceWatermark();
        if (this.idle.every((x, c) => x || this.ended[c])) this.handler.onIdle?.();
        break;
      case "barrier":
        this.barrier(event.id, channel);
        break;
      case "end":
        if (this.ended[channel]) return;
        this.ended[channel] = true;
        this.endedCount++;
        this.watermarks[channel] = Infinity;
        if (this.aligning) this.maybeCompleteAlignment();
        if (this.endedCount === this.channels) this.finish();
        else this.advanceWatermark();
        break;
    }
  }

  private barrier(id: number, channel: number): void {
    // Older than one that passed or than the one being aligned: its checkpoint was given up.
    if (id <= this.lastAligned || (this.aligning && id < this.aligning.id)) return;
    if (!this.aligning) {
      this.aligning = { id, arrived: new Set([channel]) };
    } else if (id > this.aligning.id) {
      // A newer barrier while an older one is incomplete: the older checkpoint is abandoned, and
      // the channels it held back go on with what they queued (which may hold the newer barrier).
      const old = this.aligning;
      this.aligning = { id, arrived: new Set([channel]) };
      this.replay(old.arrived);
    } else {
      this.aligning.arrived.add(channel);
    }
    this.maybeCompleteAlignment();
  }

  private maybeCompleteAlignment(): void {
    const a = this.aligning;
    if (!a) return;
    for (let c = 0; c < this.channels; c++) {
      if (!a.arrived.has(c) && !this.ended[c]) return;
    }
    this.aligning = null;
    this.lastAligned = a.id;
    this.handler.onBarrier(a.id);
    this.replay(a.arrived);
  }

  private replay(channels: Set<number>): void {
    for (const c of channels) {
      const q = this.queues[c]!;
      this.queues[c] = [];
      for (let i = 0; i < q.length; i++) {
        const m = q[i]!;
        if (this.aligning?.arrived.has(c)) {
          // The replay started a new alignment that blocks this channel again: keep the rest queued.
          this.queues[c]!.push(...q.slice(i));
          break;
        }
        if (m.kind === "data") this.handler.onData(m.batch, c);
        else this.control(m.event, c);
      }
    }
  }

  private advanceWatermark(): void {
    let min = Infinity;
    let active = 0;
    for (let c = 0; c < this.channels; c++) {
      if (this.idle[c] && !this.ended[c]) continue;
      active++;
      const w = this.watermarks[c]!;
      if (w < min) min = w;
    }
    if (active === 0) {
      // Every open channel is idle: as Flink's watermark valve does, move on to the largest
      // watermark any of them reached, so that what it has already closed is not held back.
      min = -Infinity;
      for (let c = 0; c < this.channels; c++) if (!this.ended[c] && this.watermarks[c]! > min) min = this.watermarks[c]!;
    }
    if (min > this.currentWatermark && min !== Infinity) {
      this.currentWatermark = min;
      this.handler.onWatermark(min);
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.handler.onEnd();
  }
}
