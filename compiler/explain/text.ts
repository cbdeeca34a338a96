// `flowc explain --format text`: an Explanation for a person reading a terminal, stage by stage.
import type { ExplainEdge, ExplainNode, Explanation, ExplainWindow } from "./model.js";

export function renderText(x: Explanation): string {
  const out: string[] = [];
  const j = x.job;
  out.push(`Job ${j.name} (from ${j.sourceFile})`);
  out.push(
    `  partitions: ${j.partitions}, key groups: ${j.keyGroups}, batch size: ${j.batchSize}, checkpoints: ${j.checkpointIntervalMs === null ? "off" : `every ${j.checkpointIntervalMs} ms`}`,
  );
  out.push("");
  const byId = new Map(x.nodes.map((n) => [n.id, n]));
  for (const stage of x.stages) {
    out.push(`Stage ${stage.id} (${stage.parallelism === "single" ? "1 instance" : `${stage.instances} partition${stage.instances === 1 ? "" : "s"}`})`);
    for (const id of stage.nodes) {
      const n = byId.get(id)!;
      const inputs = x.edges.filter((e) => e.to === id);
      // One input is shown where it crosses stages; several (a union) are all shown.
      if (inputs.length > 1) out.push(`  ← union of ${inputs.length} inputs:`);
      for (const e of inputs) {
        if (inputs.length > 1) out.push(`    ← ${exchange(e)} from ${e.from}${keyText(e)}`);
        else if (byId.get(e.from)!.stage !== stage.id) out.push(`  ← ${exchange(e)} from ${e.from}${keyText(e)}${fusedText(e, byId.get(e.from)!)}`);
      }
      out.push(`  ${describe(n)}`);
      if (n.kind === "chain") for (const o of n.operators) out.push(`      ${`${o.loc.line}:${o.loc.column}`.padEnd(7)} ${o.text}`);
      out.push(`    state: ${n.state.kind === "none" ? "none" : `${n.state.description}${keyGroups(n)}`}`);
    }
    out.push("");
  }
  return out.join("\n");
}

function exchange(e: ExplainEdge): string {
  return { forward: "forward", hash: "hash exchange", rebalance: "rebalance (round robin)", gather: "gather" }[e.partitioning];
}

/** What a fused edge (ExplainEdge.fused) means for the records on it. */
function fusedText(e: ExplainEdge, from: ExplainNode): string {
  if (!e.fused) return "";
  return from.kind === "source" ? "; one partition: the chain makes these records itself" : "; one partition: runs in one loop with the chain";
}

function keyText(e: ExplainEdge): string {
  return e.key ? ` (key: ${e.key.text} of type ${e.key.type}, line ${e.key.loc.line})` : "";
}

export function windowText(w: ExplainWindow): string {
  const ms = (v: number | null) => `${v} ms`;
  const size = w.kind === "session" ? `gap ${ms(w.gapMs)}` : w.kind === "sliding" ? `${ms(w.sizeMs)} every ${ms(w.slideMs)}` : ms(w.sizeMs);
  return `${w.kind} ${size}, ${w.time} time`;
}

function keyGroups(n: ExplainNode): string {
  if (n.state.kind === "none") return "";
  const r = n.state.keyGroupsByInstance;
  return r.length === 1 ? ` (all ${r[0]![1]} key groups in one instance)` : `; key groups by partition: ${r.map(([a, b], i) => `${i}: ${a}-${b - 1}`).join(", ")}`;
}

function describe(n: ExplainNode): string {
  const at = `(line ${n.loc.line})`;
  switch (n.kind) {
    case "source":
      return `${n.id}: source ${n.label} → ${n.outputType}   ${at}`;
    case "chain":
      return `${n.id}: chain [${n.operators.map((o) => `${o.op}@${o.loc.line}`).join(", ")}]${n.fused ? " fused" : ""}${n.keyedOutput ? ", keyed output" : ""} → ${n.outputType}   ${at}`;
    case "aggregate":
      return `${n.id}: aggregate ${n.label} (${n.window ? windowText(n.window) : "not windowed"}) → ${n.outputType}   ${at}`;
    case "watermark":
      return `${n.id}: watermark ${n.label} → ${n.outputType}   ${at}`;
    case "join":
    case "distinct":
      return `${n.id}: ${n.kind} ${n.label} → ${n.outputType}   ${at}`;
    case "sink":
      return `${n.id}: sink ${n.label}   ${at}`;
  }
}
