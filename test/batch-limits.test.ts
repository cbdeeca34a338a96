// Batches stay at most MAX_BATCH records long: an array of more than about 16k elements lives in
// V8's large-object space, and filling such batches made runs several times slower. A generated
// chain whose flatMap makes many records of one input batch emits them in several batches, in
// order; a join record that matches thousands of buffered ones does the same; `batchSize` above
// the limit is a compile error.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { keyGroupRange } from "../runtime/exec/keys.js";
import type { Batch } from "../runtime/exec/messages.js";
import { Output } from "../runtime/exec/output.js";
import { ChainOperator } from "../runtime/operators/chain.js";
import { JoinOperator } from "../runtime/operators/join.js";
import type { OperatorContext } from "../runtime/operators/operator.js";
import { MAX_BATCH, type ChainFn, type PlanModule } from "../runtime/plan.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flowc-batches-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ctx(sink: Batch[]): OperatorContext {
  const out = new Output(128);
  out.addRoute("forward", [{ receiver: { receive: (b) => sink.push(b), control: () => {} }, channel: 0 }]);
  return { partition: 0, partitions: 1, keyGroups: 128, keyGroupRange: keyGroupRange(0, 1, 128), out, fail: (r, e) => expect.unreachable(`${String(r)}: ${String(e)}`) };
}

async function load(name: string, text: string): Promise<PlanModule> {
  const r = await compile(new SourceFile(join(dir, `${name}.flow`), text), { outDir: dir, sourceDir: dir });
  if (!r.emitted) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  writeFileSync(join(dir, `${name}.plan.mjs`), r.emitted.js);
  return (await import(pathToFileURL(join(dir, `${name}.plan.mjs`)).href)) as PlanModule;
}

it("a generated flatMap chain emits what one input batch makes in batches of at most MAX_BATCH, in order, with keys and times", async () => {
  const mod = await load(
    "words",
    `pipeline words
source lines: string = stdin(format: "lines")

lines
  |> flatMap(line => split(line, " "))
  |> filter(w => w != "")
  |> keyBy(w => w)
  |> count()
  |> sink stdout()
`,
  );
  const chain = mod.plan.nodes.find((n) => n.kind === "chain")!;
  const fn = mod.functions[(chain as { fn: string }).fn] as ChainFn;
  const out: Batch[] = [];
  const op = new ChainOperator(fn, ctx(out));
  // 3 lines of 7000 words: 21000 records from one batch of 3.
  const lines = [0, 1, 2].map((l) => Array.from({ length: 7000 }, (_, i) => `w${l * 7000 + i}`).join(" "));
  op.process({ values: lines, keys: null, times: [10, 20, 30] });
  expect(out.map((b) => b.values.length)).toEqual([MAX_BATCH, MAX_BATCH, 21000 - 2 * MAX_BATCH]);
  const all = out.flatMap((b) => b.values as string[]);
  expect(all).toEqual(Array.from({ length: 21000 }, (_, i) => `w${i}`));
  expect(out.flatMap((b) => b.keys as string[])).toEqual(all);
  expect(out.flatMap((b) => b.times!)).toEqual(all.map((_, i) => [10, 20, 30][Math.floor(i / 7000)]));
  // A small input still goes out as one batch, trimmed to what it made.
  out.length = 0;
  op.process({ values: ["a  b"], keys: null, times: [40] });
  expect(out).toEqual([{ values: ["a", "b"], keys: ["a", "b"], times: [40, 40] }]);
});

it("a join record that matches more than MAX_BATCH buffered ones emits the matches in batches of at most MAX_BATCH", () => {
  const out: Batch[] = [];
  const op = new JoinOperator("j", 60_000, "event", ctx(out));
  op.bindChannels([0, 1]);
  const n = MAX_BATCH + 100;
  op.process({ values: Array.from({ length: n }, (_, i) => i), keys: new Array(n).fill("k"), times: new Array(n).fill(1000) }, 0);
  expect(out).toEqual([]);
  op.process({ values: ["r"], keys: ["k"], times: [2000] }, 1);
  expect(out.map((b) => b.values.length)).toEqual([MAX_BATCH, 100]);
  expect(out.flatMap((b) => b.values)).toEqual(Array.from({ length: n }, (_, i) => ({ left: i, right: "r" })));
  expect(out.flatMap((b) => b.times!)).toEqual(new Array(n).fill(2000));
});

it("`batchSize` above MAX_BATCH is a compile error that says the limit", async () => {
  const text = (size: number) => `pipeline b
config { batchSize: ${size} }
source lines: string = stdin(format: "lines")

lines |> sink stdout()
`;
  const bad = await compile(new SourceFile(join(dir, "b.flow"), text(MAX_BATCH + 1)), { outDir: dir, sourceDir: dir });
  expect(bad.emitted).toBeUndefined();
  expect(bad.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([`FLOW2012 \`batchSize\` must be from 1 to ${MAX_BATCH}, not ${MAX_BATCH + 1}.`]);
  const ok = await compile(new SourceFile(join(dir, "b.flow"), text(MAX_BATCH)), { outDir: dir, sourceDir: dir });
  expect(ok.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  expect(ok.emitted?.js).toContain(`batchSize: ${MAX_BATCH}`);
});
