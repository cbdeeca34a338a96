// `flowc explain --format svg`: the DOT rendering laid out by Graphviz compiled to WebAssembly
// (@viz-js/viz), so no Graphviz install is needed. Loaded on demand: the module is large.
import { renderDot } from "./dot.js";
import type { Explanation } from "./model.js";

export async function renderSvg(x: Explanation): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  const viz = await instance();
  return viz.renderString(renderDot(x), { format: "svg", engine: "dot" });
}
