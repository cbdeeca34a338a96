// Which worker runs which task. A job's tasks are its partitions (partition p runs instance p of
// every partitioned operator, so forward edges never leave a worker) plus one task per
// single-instance operator (sources, stdout sinks). Assignment balances tasks over the workers'
// slots and is sticky: a task stays where it was while its worker lives and has room, so a
// rebalance after a worker joins or leaves moves as little as possible.
import type { ExecutionPlan } from "../plan.js";

export interface WorkerSlots {
  id: string;
  slots: number;
}

/** task key → worker id. Task keys: `p<N>` for partitions, `s:<nodeId>` for single-instance nodes. */
export type TaskMap = Record<string, string>;

export interface Assignment {
  epoch: number;
  partitions: number;
  tasks: TaskMap;
  /** The session of each assigned worker when assigned; a worker whose session changed lost its tasks. */
  sessions?: Record<string, string>;
}

export function taskKeys(plan: ExecutionPlan, partitions: number): string[] {
  return [...Array.from({ length: partitions }, (_, p) => `p${p}`), ...plan.nodes.filter((n) => n.parallelism === "single").map((n) => `s:${n.id}`)];
}

/** The task key that runs instance `partition` of `nodeId`. */
export function taskOf(plan: ExecutionPlan, nodeId: string, partition: number): string {
  const node = plan.nodes.find((n) => n.id === nodeId);
  if (!node) throw new Error(`internal: no node ${nodeId}`);
  return node.parallelism === "single" ? `s:${nodeId}` : `p${partition}`;
}

/**
 * Assigns every task to a live worker. Partitions count against slots; single-instance tasks are
 * light (a source reader, a stdout writer) and go to the least loaded worker without using a slot.
 * When there are more partitions than slots, workers take more than their slots, evenly.
 */
export function assign(keys: string[], workers: WorkerSlots[], previous: TaskMap = {}): TaskMap {
  if (workers.length === 0) throw new Error("no workers to assign tasks to");
  const sorted = [...workers].sort((a, b) => (a.id < b.id ? -1 : 1));
  const load = new Map(sorted.map((w) => [w.id, 0]));
  const cap = new Map(sorted.map((w) => [w.id, Math.max(1, w.slots)]));
  const out: TaskMap = {};
  const partitions = keys.filter((k) => k.startsWith("p"));
  const singles = keys.filter((k) => !k.startsWith("p"));
  const totalSlots = sorted.reduce((n, w) => n + cap.get(w.id)!, 0);
  // Over capacity, every worker's limit grows in proportion so the overflow is spread evenly.
  const scale = Math.max(1, Math.ceil(partitions.length / totalSlots));
  const limit = (id: string) => cap.get(id)! * scale;
  const free = (id: string) => limit(id) - load.get(id)!;

  const unplaced: string[] = [];
  for (const k of partitions) {
    const prev = previous[k];
    if (prev !== undefined && load.has(prev) && free(prev) > 0) {
      out[k] = prev;
      load.set(prev, load.get(prev)! + 1);
    } else unplaced.push(k);
  }
  for (const k of unplaced) {
    const best = sorted.reduce((a, b) => (free(b.id) > free(a.id) ? b : a));
    out[k] = best.id;
    load.set(best.id, load.get(best.id)! + 1);
  }
  const light = new Map(sorted.map((w) => [w.id, 0]));
  for (const k of singles) {
    const prev = previous[k];
    const w = prev !== undefined && load.has(prev) ? prev : sorted.reduce((a, b) => (load.get(b.id)! + light.get(b.id)! < load.get(a.id)! + light.get(a.id)! ? b : a)).id;
    out[k] = w;
    light.set(w, light.get(w)! + 1);
  }
  return out;
}
