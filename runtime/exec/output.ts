// The output side of a task: routes each emitted batch along every outgoing edge by the edge's
// partitioning (forward, hash through key groups, rebalance, gather) and broadcasts control events
// to every receiving channel.
import type { Partitioning } from "../plan.js";
import { keyGroupOf, keyId, partitionOfKeyGroup } from "./keys.js";
import type { Batch, ControlEvent } from "./messages.js";

export interface Receiver {
  receive(batch: Batch, channel: number): void;
  control(event: ControlEvent, channel: number): void;
}

export interface Target {
  receiver: Receiver;
  /** The channel index this sender has at the receiver. */
  channel: number;
}

interface Route {
  partitioning: Partitioning;
  /** forward/gather: one target; hash/rebalance: one per downstream instance, in instance order. */
  targets: Target[];
  next: number;
}

export class Output {
  private readonly routes: Route[] = [];
  recordsOut = 0;

  constructor(private readonly keyGroups: number) {}

  addRoute(partitioning: Partitioning, targets: Target[]): void {
    this.routes.push({ partitioning, targets, next: 0 });
  }

  emit(batch: Batch): void {
    if (batch.values.length === 0) return;
    this.recordsOut += batch.values.length;
    for (const r of this.routes) {
      switch (r.partitioning) {
        case "forward":
        case "gather":
          deliver(r.targets[0]!, batch);
          break;
        case "rebalance":
          deliver(r.targets[r.next]!, batch);
          r.next = (r.next + 1) % r.targets.length;
          break;
        case "hash":
          this.hash(r, batch);
          break;
      }
    }
  }

  private hash(r: Route, batch: Batch): void {
    const n = r.targets.length;
    const keys = batch.keys;
    if (!keys) throw new Error("internal: hash exchange over records without keys");
    if (n === 1) return deliver(r.targets[0]!, batch);
    const values: unknown[][] = Array.from({ length: n }, () => []);
    const outKeys: unknown[][] = Array.from({ length: n }, () => []);
    const times = batch.times;
    const outTimes: number[][] | null = times ? Array.from({ length: n }, () => []) : null;
    for (let i = 0; i < batch.values.length; i++) {
      const k = keys[i];
      const p = partitionOfKeyGroup(keyGroupOf(keyId(k), this.keyGroups), this.keyGroups, n);
      values[p]!.push(batch.values[i]);
      outKeys[p]!.push(k);
      if (outTimes) outTimes[p]!.push(times![i]!);
    }
    for (let p = 0; p < n; p++) {
      if (values[p]!.length > 0) deliver(r.targets[p]!, outTimes ? { values: values[p]!, keys: outKeys[p]!, times: outTimes[p]! } : { values: values[p]!, keys: outKeys[p]! });
    }
  }

  control(event: ControlEvent): void {
    for (const r of this.routes) for (const t of r.targets) t.receiver.control(event, t.channel);
  }
}

function deliver(t: Target, batch: Batch): void {
  t.receiver.receive(batch, t.channel);
}
