// The language server on event-time programs: hover over watermark, a session window, a join and
// distinct shows what the planner made of them; every position of the event-time example and
// fixture hovers and completes without throwing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { completion } from "../compiler/lsp/completion.js";
import { FlowDocument } from "../compiler/lsp/document.js";
import { hover } from "../compiler/lsp/hover.js";
import { ROOT } from "./helpers/cli.js";

const text = readFileSync(join(ROOT, "examples/sessions.flow"), "utf8");
const d = new FlowDocument(pathToFileURL(join(ROOT, "examples/sessions.flow")).href, 1, text);
const hoverAt = (needle: string) => {
  const h = hover(d, text.indexOf(needle) + 1);
  return (h?.contents as { value: string } | undefined)?.value ?? "";
};

describe("hover on event-time steps", () => {
  it("watermark, session window, join", () => {
    expect(hoverAt("watermark(c => c.ts")).toMatch(/watermarks trail the largest timestamp by 2000 ms/);
    expect(hoverAt("window(session")).toMatch(/session window, gap 30000 ms, \*\*event time\*\*; late elements are counted and dropped/);
    expect(hoverAt("join(buys")).toMatch(/state\*\*: per key, kept for 600000 ms of \*\*event time\*\*/);
  });

  it("every position of the event-time programs", () => {
    for (const f of ["examples/sessions.flow", "test/fixtures/emit/event-time/input.flow"]) {
      const t = readFileSync(join(ROOT, f), "utf8");
      const doc = new FlowDocument(pathToFileURL(join(ROOT, f)).href, 1, t);
      for (let o = 0; o <= t.length; o++) {
        hover(doc, o);
        completion(doc, o);
      }
    }
  });
});
