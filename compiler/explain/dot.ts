// `flowc explain --format dot`: an Explanation as a Graphviz digraph, one cluster per stage. Forward
// edges are thin, exchanges bold and labelled with their partitioning (and key, for a hash exchange).
import { windowText } from "./text.js";
import type { ExplainEdge, ExplainNode, Explanation } from "./model.js";

/** A DOT string literal; `\l` ends a left-justified line, so backslashes in the text are doubled. */
function q(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;
}

/** Lines of a left-justified label. */
function lines(ls: string[]): string {
  const esc = ls.map((l) => l.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, " "));
  return `"${esc.join("\\l")}\\l"`;
}

const SHAPES: Record<ExplainNode["kind"], string> = { source: "cds", chain: "box", aggregate: "box3d", watermark: "box", join: "box3d", distinct: "box3d", sink: "folder" };

export function nodeLines(n: ExplainNode): string[] {
  const head = `${n.kind}${n.kind === "chain" && n.fused ? ` (${n.operators.length} operators fused)` : ""}: ${n.id}`;
  const body =
    n.kind === "source" || n.kind === "sink" ? [n.label] : n.operators.length > 0 ? n.operators.map((o) => `${o.text}  @${o.loc.line}`) : [n.label];
  const extra: string[] = [];
  if (n.window) extra.push(`window: ${windowText(n.window)}`);
  if (n.state.kind !== "none") extra.push(`state: ${n.state.description}`);
  return [head, ...body, ...extra, n.kind === "sink" ? `takes ${n.outputType}` : `→ ${n.outputType}`];
}

export function edgeLabel(e: ExplainEdge): string {
  if (e.partitioning === "hash") return e.key ? `hash by ${e.key.text}` : "hash";
  return e.partitioning;
}

export function renderDot(x: Explanation): string {
  const out: string[] = [];
  out.push(`digraph ${q(x.job.name)} {`);
  out.push(
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=11, labelloc=t, label=${q(
      `${x.job.name} (${x.job.sourceFile}): ${x.job.partitions} partition${x.job.partitions === 1 ? "" : "s"}, ${x.job.keyGroups} key groups`,
    )}];`,
  );
  out.push(`  node [fontname="Helvetica", fontsize=10, style="rounded,filled", fillcolor="#ffffff"];`);
  out.push(`  edge [fontname="Helvetica", fontsize=9];`);
  const byId = new Map(x.nodes.map((n) => [n.id, n]));
  for (const s of x.stages) {
    out.push(`  subgraph ${q(`cluster_stage_${s.id}`)} {`);
    out.push(`    label=${q(`Stage ${s.id}: ${s.parallelism === "single" ? "1 instance" : `${s.instances} partition${s.instances === 1 ? "" : "s"}`}`)};`);
    out.push(`    style="rounded,dashed"; color="#888888";`);
    for (const id of s.nodes) {
      const n = byId.get(id)!;
      const fill = n.state.kind === "none" ? "#ffffff" : "#fff4d6";
      out.push(`    ${q(n.id)} [shape=${SHAPES[n.kind]}, fillcolor=${q(fill)}, label=${lines(nodeLines(n))}];`);
    }
    out.push("  }");
  }
  for (const e of x.edges) {
    const attrs = e.exchange ? [`label=${q(edgeLabel(e))}`, "style=bold", e.partitioning === "hash" ? `color="#c0392b"` : `color="#2c3e50"`] : [`label=${q("forward")}`, `color="#888888"`];
    out.push(`  ${q(e.from)} -> ${q(e.to)} [${attrs.join(", ")}];`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}
