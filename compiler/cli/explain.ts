// `flowc explain`: the execution plan (stages, fused chains, exchanges and their keys, state,
// partitions, window time) as text for a person, JSON for tools (docs/explain.md), Graphviz DOT,
// a Mermaid flowchart, or SVG. The model and renderers live in ../explain/.
import { renderDot } from "../explain/dot.js";
import { renderMermaid } from "../explain/mermaid.js";
import { explain, type ExplainOptions } from "../explain/model.js";
import { renderSvg } from "../explain/svg.js";
import { renderText } from "../explain/text.js";
import type { PlannedProgram } from "../phases/3-plan/index.js";

export const EXPLAIN_FORMATS = ["text", "json", "dot", "mermaid", "svg"] as const;
export type ExplainFormat = (typeof EXPLAIN_FORMATS)[number];

export async function renderExplain(planned: PlannedProgram, format: ExplainFormat, opts: ExplainOptions = {}): Promise<string> {
  const x = explain(planned, opts);
  switch (format) {
    case "text":
      return renderText(x);
    case "json":
      return JSON.stringify(x, null, 2) + "\n";
    case "dot":
      return renderDot(x);
    case "mermaid":
      return renderMermaid(x);
    case "svg":
      return renderSvg(x);
  }
}
