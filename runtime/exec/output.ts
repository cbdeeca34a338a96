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
  /** hash: the partition of each key group. */
  owners?: Uint16Array;
}

export class Output {
  private readonly routes: Route[] = [];
  recordsOut = 0;
  /** hash: each record's partition, reused from batch to batch. */
  private dest = new Int32Array(0);

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
    const kg = this.keyGroups;
    // The partition of each key group, and of each record, then arrays of the exact sizes.
    const owner = (r.owners ??= ownersOf(kg, n));
    const len = batch.values.length;
    if (this.dest.length < len) this.dest = new Int32Array(Math.max(len, 2 * this.dest.length));
    const dest = this.dest;
    const counts = new Int32Array(n);
    for (let i = 0; i < len; i++) {
      const k = keys[i];
      const p = owner[keyGroupOf(typeof k === "number" ? k : keyId(k), kg)]!;
      dest[i] = p;
      counts[p]!++;
    }
    const times = batch.times;
    for (let p = 0; p < n; p++) {
      const c = counts[p]!;
      if (c === 0) continue;
      if (c === len) {
        deliver(r.targets[p]!, batch);
        continue;
      }
      const values = new Array<unknown>(c);
      const outKeys = new Array<unknown>(c);
      const outTimes = times ? new Array<number>(c) : null;
      let j = 0;
      for (let i = 0; i < len; i++) {
        if (dest[i] !== p) continue;
        values[j] = batch.values[i];
        outKeys[j] = keys[i];
        if (outTimes) outTimes[j] = times![i]!;
        j++;
      }
      deliver(r.targets[p]!, outTimes ? { values, keys: outKeys, times: outTimes } : { values, keys: outKeys });
    }
  }

  control(event: ControlEvent): void {
    for (const r of this.routes) for (const t of r.targets) t.receiver.control(event, t.channel);
  }
}

function ownersOf(keyGroups: number, partitions: number): Uint16Array {
  const owners = new Uint16Array(keyGroups);
  for (let g = 0; g < keyGroups; g++) owners[g] = partitionOfKeyGroup(g, keyGroups, partitions);
  return owners;
}

function deliver(t: Target, batch: Batch): void {
  t.receiver.receive(batch, t.channel);
}
