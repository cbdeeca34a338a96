// `flowc explain --format mermaid`: an Explanation as a Mermaid flowchart (renders in GitHub
// Markdown), one subgraph per stage; exchanges are thick arrows labelled with partitioning and key.
import { edgeLabel, nodeLines } from "./dot.js";
import type { Explanation } from "./model.js";

/**
 * Text inside a quoted Mermaid label. Mermaid reads labels as HTML and has its own `#code;` entity
 * syntax, so every character that could open a tag, an entity or end the quotes is written as a
 * numeric entity.
 */
function text(s: string): string {
  return s.replace(/[#"<>&|`\\[\]{}]/g, (c) => `#${c.charCodeAt(0)};`);
}

export function renderMermaid(x: Explanation): string {
  const out: string[] = ["flowchart LR"];
  const byId = new Map(x.nodes.map((n) => [n.id, n]));
  for (const s of x.stages) {
    out.push(`  subgraph stage_${s.id}["${text(`Stage ${s.id}: ${s.parallelism === "single" ? "1 instance" : `${s.instances} partition${s.instances === 1 ? "" : "s"}`}`)}"]`);
    for (const id of s.nodes) {
      const n = byId.get(id)!;
      const [open, close] = n.kind === "source" ? ["[/", "/]"] : n.kind === "sink" ? ["[\\", "\\]"] : n.kind === "aggregate" ? ["[(", ")]"] : ["[", "]"];
      out.push(`    ${n.id}${open}"${nodeLines(n).map(text).join("<br/>")}"${close}`);
    }
    out.push("  end");
  }
  for (const e of x.edges) out.push(`  ${e.from} ${e.exchange ? "==>" : "-->"}|"${text(edgeLabel(e))}"| ${e.to}`);
  for (const n of x.nodes) if (n.state.kind !== "none") out.push(`  style ${n.id} fill:#fff4d6`);
  return out.join("\n") + "\n";
}
