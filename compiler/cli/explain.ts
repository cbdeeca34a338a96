// `flowc explain`: the execution plan for a person (stages, fused chains, exchanges, partitions)
// or as JSON for tools.
import type { ExecutionPlan, PlanNode } from "../../runtime/plan.js";
import { typeToString } from "../../runtime/types.js";

export function explainText(plan: ExecutionPlan, partitions = plan.config.partitions): string {
  const out: string[] = [];
  const byId = new Map(plan.nodes.map((n) => [n.id, n]));
  out.push(`Job ${plan.name} (from ${plan.sourceFile})`);
  out.push(`  partitions: ${partitions}, key groups: ${plan.config.keyGroups}, batch size: ${plan.config.batchSize}, checkpoints: ${plan.config.checkpointIntervalMs === null ? "off" : `every ${plan.config.checkpointIntervalMs} ms`}`);
  out.push("");
  const stages = stagesOf(plan);
  stages.forEach((stage, i) => {
    const par = stage[0]!.parallelism === "single" ? "1 instance" : `${partitions} partition${partitions === 1 ? "" : "s"}`;
    out.push(`Stage ${i + 1} (${par})`);
    for (const n of stage) {
      for (const input of n.inputs) {
        const from = byId.get(input.from)!;
        if (!stage.includes(from)) out.push(`  ← ${exchange(input.partitioning)} from ${from.id}${input.partitioning === "hash" ? ` (key: ${keyOf(from)})` : ""}`);
      }
      out.push(`  ${describe(n)}`);
    }
    out.push("");
  });
  return out.join("\n");
}

function exchange(p: string): string {
  return { forward: "forward", hash: "hash exchange", rebalance: "rebalance (round robin)", gather: "gather" }[p] ?? p;
}

function keyOf(n: PlanNode): string {
  return n.kind === "chain" ? `keyBy at line ${n.steps[n.steps.length - 1]!.loc.line}` : "key";
}

function describe(n: PlanNode): string {
  const at = `line ${n.loc.line}`;
  switch (n.kind) {
    case "source":
      return `${n.id}: source ${n.label} → ${typeToString(n.outputType)}   (${at})`;
    case "chain":
      return `${n.id}: chain [${n.steps.map((s) => `${s.op}@${s.loc.line}`).join(", ")}]${n.steps.length > 1 ? " fused" : ""}${n.keyed ? ", keyed output" : ""} → ${typeToString(n.outputType)}   (${at})`;
    case "aggregate": {
      const w = n.window ? `${n.window.kind} ${n.window.kind === "session" ? n.window.gapMs : n.window.sizeMs} ms, ${n.window.time} time` : "not windowed";
      return `${n.id}: aggregate ${n.label} (${w}, state: per key${n.window ? " and window" : ""}${n.lateStream ? `, late elements → ${n.lateStream}` : ""}) → ${typeToString(n.outputType)}   (${at})`;
    }
    case "watermark":
      return `${n.id}: watermark ${n.label} (delay ${n.delayMs} ms) → ${typeToString(n.outputType)}   (${at})`;
    case "join":
      return `${n.id}: join ${n.label} (within ${n.withinMs} ms, ${n.time} time, state: per key) → ${typeToString(n.outputType)}   (${at})`;
    case "distinct":
      return `${n.id}: distinct ${n.label} (within ${n.withinMs} ms, ${n.time} time, state: per key) → ${typeToString(n.outputType)}   (${at})`;
    case "sink":
      return `${n.id}: sink ${n.label}   (${at})`;
  }
}

/** Nodes grouped into stages: a stage boundary is any edge that is not `forward`. */
function stagesOf(plan: ExecutionPlan): PlanNode[][] {
  const stageOf = new Map<string, PlanNode[]>();
  const stages: PlanNode[][] = [];
  for (const n of plan.nodes) {
    const fwd = n.inputs.length === 1 && n.inputs[0]!.partitioning === "forward" ? stageOf.get(n.inputs[0]!.from) : undefined;
    const stage = fwd ?? [];
    if (!fwd) stages.push(stage);
    stage.push(n);
    stageOf.set(n.id, stage);
  }
  return stages;
}
