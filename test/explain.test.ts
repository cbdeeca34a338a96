// `flowc explain` in every format, over every example and the fixtures in test/fixtures/explain/:
// byte goldens for text, json, dot and mermaid (UPDATE_GOLDEN=1 rewrites them); the SVG, whose
// bytes depend on the Graphviz build, is checked for being well-formed and carrying every label.
// The command itself runs in-process: formats, -p, -o, and diagnostics with exit 1 on bad input.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { renderExplain, EXPLAIN_FORMATS } from "../compiler/cli/explain.js";
import { main } from "../compiler/cli/main.js";
import { explain, type Explanation } from "../compiler/explain/model.js";
import { planOnly, SourceFile } from "../compiler/index.js";
import { expectGolden } from "./helpers/golden.js";
import { ROOT } from "./helpers/cli.js";

const FIXTURES = "test/fixtures/explain";
const GOLDEN_EXT = { text: "txt", json: "json", dot: "dot", mermaid: "mmd" } as const;

/** Each case: a .flow file (path relative to the repository, as the goldens show it) and its golden folder. */
const cases = [
  ...readdirSync(join(ROOT, "examples"))
    .filter((f) => f.endsWith(".flow"))
    .map((f) => ({ name: `example-${f.replace(/\.flow$/, "")}`, path: `examples/${f}` })),
  ...readdirSync(join(ROOT, FIXTURES))
    .filter((d) => !d.startsWith("example-"))
    .map((d) => ({ name: d, path: `${FIXTURES}/${d}/input.flow` })),
];

function planned(path: string) {
  const r = planOnly(new SourceFile(path, readFileSync(join(ROOT, path), "utf8")));
  expect(r.analysis.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.planned!;
}

/** Runs `flowc ARGS` in this process, from the repository's root. */
async function flowc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (write: (s: string) => void) => new Writable({ write: (chunk, _enc, done) => (write(String(chunk)), done()) });
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: { NO_COLOR: "1" } });
    return { code, stdout, stderr };
  } finally {
    process.chdir(cwd);
  }
}

describe("goldens", () => {
  it("there are cases: every example and at least a windowed aggregate and a union", () => {
    expect(cases.map((c) => c.name)).toEqual(expect.arrayContaining(["example-wordcount", "windowed-aggregate", "union"]));
  });

  for (const c of cases) {
    for (const format of ["text", "json", "dot", "mermaid"] as const) {
      it(`${c.name} as ${format}`, async () => {
        expectGolden(join(ROOT, FIXTURES, c.name, `explain.${GOLDEN_EXT[format]}`), await renderExplain(planned(c.path), format));
      });
    }
  }
});

describe("the explanation", () => {
  const all = cases.map((c) => ({ ...c, x: explain(planned(c.path)) }));

  it("puts every node in exactly one stage, of one parallelism; forward edges never cross stages", () => {
    for (const { name, x } of all) {
      const staged = x.stages.flatMap((s) => s.nodes);
      expect(staged.toSorted(), name).toEqual(x.nodes.map((n) => n.id).toSorted());
      for (const s of x.stages) for (const id of s.nodes) expect(x.nodes.find((n) => n.id === id)).toMatchObject({ stage: s.id, parallelism: s.parallelism, instances: s.instances });
      const stageOf = (id: string) => x.nodes.find((n) => n.id === id)!.stage;
      for (const e of x.edges) if (e.partitioning === "forward") expect(stageOf(e.from), `${name}: ${e.from} → ${e.to}`).toBe(stageOf(e.to));
    }
  });

  it("names the key of every hash exchange and the source operators fused into every chain", () => {
    for (const { name, x, path } of all) {
      const text = readFileSync(join(ROOT, path), "utf8").replace(/\s+/g, " ");
      for (const e of x.edges.filter((e) => e.partitioning === "hash")) {
        expect(e.key, `${name}: ${e.from}`).not.toBeNull();
        // A keyBy's lambda, or one side of a join's `on:` equality.
        expect(text).toContain(e.key!.text);
      }
      for (const n of x.nodes.filter((n) => n.kind === "chain")) {
        expect(n.operators.length).toBeGreaterThan(0);
        expect(n.fused).toBe(n.operators.length > 1);
        for (const o of n.operators) expect(text).toContain(o.text);
      }
    }
  });

  it("shows the wordcount as its issue describes: three operators fused, a hash exchange on `w => w`, state per key and window", () => {
    const x = all.find((c) => c.name === "example-wordcount")!.x;
    const chain = x.nodes.find((n) => n.kind === "chain")!;
    expect(chain.operators.map((o) => o.op)).toEqual(["flatMap", "filter", "keyBy"]);
    expect(chain.function).toBe(chain.id);
    expect(x.edges.find((e) => e.partitioning === "hash")).toMatchObject({ from: chain.id, key: { text: "w => w", type: "string", loc: { line: 14 } } });
    const agg = x.nodes.find((n) => n.kind === "aggregate")!;
    expect(agg.window).toEqual({ kind: "tumbling", sizeMs: 10_000, slideMs: null, gapMs: null, time: "processing" });
    expect(agg.state).toMatchObject({ kind: "keyed", scope: "key-and-window", keyType: "string", accumulators: [{ field: "count", aggregate: "count" }] });
    expect(agg.operators.map((o) => o.text)).toEqual(["window(tumbling(10s))", "count()"]);
    expect(x.stages.map((s) => s.instances)).toEqual([1, 4, 4]);
  });

  it("follows --partitions: instances and the key groups each one owns", () => {
    const x: Explanation = explain(planned("examples/wordcount.flow"), { partitions: 3 });
    expect(x.job.partitions).toBe(3);
    const agg = x.nodes.find((n) => n.kind === "aggregate")!;
    expect(agg.instances).toBe(3);
    expect(agg.state.kind === "keyed" && agg.state.keyGroupsByInstance).toEqual([
      [0, 43],
      [43, 86],
      [86, 128],
    ]);
  });

  it("is shown in docs/explain.md exactly as flowc prints it", async () => {
    const doc = readFileSync(join(ROOT, "docs/explain.md"), "utf8");
    const shown = /`flowc explain wordcount\.flow` prints\n\n```text\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(shown).toBe(await renderExplain(planned("examples/wordcount.flow"), "text"));
  });

  it("shows a union as one node with an input edge per merged stream", () => {
    const x = all.find((c) => c.name === "union")!.x;
    const keyBy = x.nodes.find((n) => n.operators.some((o) => o.op === "keyBy"))!;
    expect(x.edges.filter((e) => e.to === keyBy.id).map((e) => e.partitioning).toSorted()).toEqual(["forward", "rebalance"]);
  });
});

describe("svg", () => {
  const unescape = (s: string) =>
    s.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, e: string) =>
      e[0] === "#" ? String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : ({ lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()]!,
    );

  /** Throws unless `xml` is one well-formed element tree (tags nest and close, attributes quoted, no stray `<` or `&`). */
  function wellFormed(xml: string): string[] {
    const texts: string[] = [];
    const stack: string[] = [];
    let roots = 0;
    const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "").replace(/<!DOCTYPE[^>[]*(\[[^\]]*\])?>/, "").replace(/<!--[\s\S]*?-->/g, "");
    const re = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)|(<)/g;
    for (const m of body.matchAll(re)) {
      const [, close, name, , selfClose, text, stray] = m;
      if (stray) throw new Error(`stray < at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
      if (text !== undefined) {
        if (/&(?!(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);)/i.test(text)) throw new Error(`bare & in ${JSON.stringify(text)}`);
        if (stack.length === 0 && text.trim()) throw new Error(`text outside the root: ${text}`);
        if (stack.at(-1) === "text") texts.push(unescape(text));
        continue;
      }
      if (close) {
        if (stack.pop() !== name) throw new Error(`</${name}> closes nothing open`);
      } else if (!selfClose) {
        if (stack.length === 0) roots++;
        stack.push(name!);
      } else if (stack.length === 0) roots++;
    }
    if (stack.length > 0) throw new Error(`unclosed <${stack.at(-1)}>`);
    if (roots !== 1) throw new Error(`${roots} root elements`);
    return texts;
  }

  it("the checker catches broken XML", () => {
    expect(() => wellFormed("<svg><g></svg>")).toThrow();
    expect(() => wellFormed("<svg><text>a < b</text></svg>")).toThrow();
    expect(() => wellFormed("<svg>AT&T</svg>")).toThrow();
    expect(wellFormed('<svg a="1"><text>x &lt; y</text></svg>')).toEqual(["x < y"]);
  });

  for (const c of cases) {
    it(`${c.name}: well-formed SVG with every node's id and operators`, async () => {
      const p = planned(c.path);
      const svg = await renderExplain(p, "svg");
      expect(svg).toMatch(/<svg[\s>]/);
      const texts = wellFormed(svg).join("\n");
      const x = explain(p);
      for (const n of x.nodes) {
        expect(texts).toContain(n.id);
        for (const o of n.kind === "source" || n.kind === "sink" ? [n.label] : n.operators.map((o) => o.text)) expect(texts).toContain(o);
      }
      for (const s of x.stages) expect(texts).toContain(`Stage ${s.id}:`);
      for (const e of x.edges.filter((e) => e.key)) expect(texts).toContain(`hash by ${e.key!.text}`);
    });
  }
});

describe("a watermark fused into the chain before it", () => {
  it("shows the chain's steps and the key of the exchange after the watermark node", () => {
    const text = `type E = { k: string, ts: int }
source events: E = stdin()

events
  |> map(e => { k: e.k, ts: e.ts })
  |> watermark(e => e.ts, delay: 1s)
  |> keyBy(e => e.k)
  |> window(tumbling(10s))
  |> count()
  |> sink stdout()
`;
    const r = planOnly(new SourceFile("fused.flow", text));
    const x = explain(r.planned!);
    const chain = x.nodes.find((n) => n.kind === "chain")!;
    expect(chain.operators.map((o) => o.op)).toEqual(["map", "watermark", "keyBy"]);
    const wm = x.nodes.find((n) => n.kind === "watermark")!;
    expect(x.edges.find((e) => e.from === chain.id)).toMatchObject({ to: wm.id, partitioning: "forward", exchange: false });
    expect(x.edges.find((e) => e.from === wm.id)).toMatchObject({ partitioning: "hash", key: { text: "e => e.k", type: "string" } });
  });
});

describe("flowc explain", () => {
  const tmp = mkdtempSync(join(tmpdir(), "flowc-explain-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.each(EXPLAIN_FORMATS)("--format %s prints to standard output and exits 0", async (format) => {
    const r = await flowc(["explain", "examples/wordcount.flow", "--format", format]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    if (format === "json") expect(JSON.parse(r.stdout)).toMatchObject({ explainVersion: 1, job: { name: "wordcount", partitions: 4 } });
    else if (format === "svg") expect(r.stdout).toContain("</svg>");
    else expect(r.stdout).toBe(await renderExplain(planned("examples/wordcount.flow"), format));
  });

  it("-p overrides the partitions and -o writes a file", async () => {
    const out = join(tmp, "sub", "plan.dot");
    const r = await flowc(["explain", "examples/wordcount.flow", "--format", "dot", "-p", "2", "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`wrote ${out}`);
    const dot = readFileSync(out, "utf8");
    expect(dot).toMatch(/^digraph "wordcount" \{/);
    expect(dot).toContain('label="Stage 2: 2 partitions"');
  });

  it.each(EXPLAIN_FORMATS)("--format %s on a program with errors prints the diagnostics and exits 1", async (format) => {
    const r = await flowc(["explain", "test/fixtures/check/many-errors-one-run/input.flow", "--format", format, "-o", join(tmp, `bad.${format}`)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("error[FLOW2005]");
    expect(r.stderr).toMatch(/\d+ errors/);
    expect(readdirSync(tmp)).not.toContain(`bad.${format}`);
  });

  it("on a file with syntax errors, exits 1; on a missing file, exits 1; on an unknown format, exits 2", async () => {
    const syntax = await flowc(["explain", "test/fixtures/parse/FLOW1002-unterminated-string/input.flow"]);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toContain("FLOW1002");
    expect((await flowc(["explain", join(tmp, "nope.flow")])).code).toBe(1);
    const bad = await flowc(["explain", "examples/wordcount.flow", "--format", "png"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/text, json, dot, mermaid, svg/);
  });
});
