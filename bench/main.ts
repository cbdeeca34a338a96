// `npm run bench [-- --quick] [--only W1,W2] [--rounds N] [--scale F] [--checkpoint-interval MS] [--out DIR] [--data DIR] [--json FILE]`: runs every
// workload with every contender, each measurement in a fresh child process (bench/child.ts), in
// rounds that alternate the order of the contenders: W1–W4 (plan, hand loop, libraries), W5 (the
// plan with and without checkpoints), the Nexmark subset (NX, bench/nexmark.ts) and W6 (compile
// time, language server latency); checks that all contenders computed the same checksum; writes DIR/performance.md and DIR/performance.svg (default: docs/). Exits 1 when a
// checksum disagrees or a run failed. Timings are printed and written, never asserted.
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { analyze, compile } from "../compiler/index.js";
import { SourceFile } from "../compiler/source.js";
import { hasErrors } from "../compiler/diagnostics/diagnostic.js";
import { median, type ChildResult, type ChildTask } from "./child.js";
import { corpus } from "./corpus.js";
import { NEXMARK, NEXMARK_QUERIES } from "./nexmark.js";
import { otherPrograms } from "./others.js";
import { ms as fmtMs, renderMarkdown, renderSvg, type LspReport, type Report, type Row, type WorkloadReport } from "./report.js";
import { w1Flow, w2Flow, w3EventTimeFlow, w3ProcessingTimeFlow, w3ShareFlow, type LibraryContender, type WorkloadId } from "./workloads.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("./child.js", import.meta.url));

interface Sizes {
  w1: number;
  w2Bytes: number;
  w3: number;
  /** Nexmark: bids per query. */
  bids: number;
}
const FULL: Sizes = { w1: 10_000_000, w2Bytes: 100 * 2 ** 20, w3: 5_000_000, bids: 2_000_000 };
const QUICK: Sizes = { w1: 200_000, w2Bytes: 2 * 2 ** 20, w3: 200_000, bids: 100_000 };
const ALL = ["W1", "W2", "W3", "W4", "W5", "W6", "NX"] as const;
/** W5's pipeline with many keys. */
const W5_MANY_KEYS = 1_000_000;
type Section = (typeof ALL)[number];

export const CONTENDER_NAMES: Record<string, string> = {
  hand: "hand-written loop",
  plan: "compiled .flow plan",
  plan20: "compiled plan, after 20 other plans",
  rxjs: "RxJS 7",
  streams: "Node streams (object mode)",
  highland: "highland 2",
  plain: "without checkpoints",
  checkpointed: "with checkpoints",
  plan1: "compiled plan, 1 partition",
  plan2: "compiled plan, 2 partitions on 1 thread",
  plan2t: "compiled plan, 2 partitions on 2 threads",
  shares2t: "ceiling: each half of the events a 1-partition job of its own, 2 threads, no exchange",
};

interface Flags {
  quick: boolean;
  only: Set<Section>;
  rounds: number;
  /** Multiplies the input sizes (the test runs with a tiny fraction of --quick). */
  scale: number;
  out: string;
  data: string;
  /** Also write the results as JSON here (the test reads them). */
  json?: string;
  /** W5's checkpoint interval (the issue's: 1 s; the test's smoke run takes less). */
  checkpointIntervalMs: number;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { quick: false, only: new Set(ALL), rounds: 0, scale: 1, out: join(ROOT, "docs"), data: join(ROOT, "bench", ".data"), checkpointIntervalMs: 1000 };
  const only: Section[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v!;
    };
    if (a === "--quick") flags.quick = true;
    else if (a === "--only") {
      for (const w of value().split(",")) {
        const s = w.trim().toUpperCase() as Section;
        if (!ALL.includes(s)) usage(`unknown workload ${w} (one of ${ALL.join(", ")})`);
        only.push(s);
      }
    } else if (a === "--rounds") flags.rounds = Number(value());
    else if (a === "--scale") flags.scale = Number(value());
    else if (a === "--out") flags.out = resolve(value());
    else if (a === "--data") flags.data = resolve(value());
    else if (a === "--json") flags.json = resolve(value());
    else if (a === "--checkpoint-interval") flags.checkpointIntervalMs = Number(value());
    else usage(`unknown flag ${a}`);
  }
  if (only.length > 0) flags.only = new Set(only);
  if (flags.rounds === 0) flags.rounds = flags.quick ? 1 : 5;
  if (!(flags.scale > 0)) usage("--scale takes a number > 0");
  if (!(flags.checkpointIntervalMs >= 1)) usage("--checkpoint-interval takes milliseconds ≥ 1");
  if (!Number.isInteger(flags.rounds) || flags.rounds < 1) usage("--rounds takes a whole number ≥ 1");
  return flags;
}

function usage(problem: string): never {
  process.stderr.write(`bench: ${problem}\nusage: npm run bench -- [--quick] [--only W1,W2,W3,W4,W5,W6,NX] [--rounds N] [--scale F] [--checkpoint-interval MS] [--out DIR] [--data DIR] [--json FILE]\n`);
  process.exit(2);
}

function runChild(task: ChildTask): Promise<ChildResult> {
  return new Promise((resolveRun, reject) => {
    execFile(process.execPath, [CHILD, JSON.stringify(task)], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${describe(task)} failed: ${stderr || err.message}`));
      else resolveRun(JSON.parse(stdout.trim().split("\n").pop()!) as ChildResult);
    });
  });
}

function describe(task: ChildTask): string {
  if (task.kind === "compile") return `compile ${task.file}`;
  if (task.kind === "nexmark") return `Nexmark ${task.query} hand-written loop`;
  if (task.kind === "shares") return `${task.workload} in ${task.modules.length} programs of its own on as many threads`;
  return `${task.workload} ${task.kind === "plan" ? `plan (${task.partitions} partition${task.partitions > 1 ? "s" : ""}${task.checkpoint ? ", checkpoints" : ""})` : task.contender}`;
}

/** Compiles a generated .flow program and writes the runnable module; returns its path. */
async function compileProgram(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, `${name}.flow`);
  writeFileSync(path, text);
  const r = await compile(new SourceFile(path, text), { outDir: dir, sourceDir: dir });
  if (hasErrors(r.diagnostics) || !r.emitted) throw new Error(`the ${name} program does not compile:\n${r.diagnostics.map((d) => `  ${d.code}: ${d.message}`).join("\n")}`);
  const module = join(dir, `${name}.plan.mjs`);
  writeFileSync(module, r.emitted.js);
  return module;
}

/** bench/lsp-latency.mjs in its own process: `flowc lsp` latency on a generated 300-line file. */
function lspLatency(edits: number): Promise<LspReport> {
  return new Promise((resolveRun, reject) => {
    execFile(process.execPath, [join(ROOT, "bench", "lsp-latency.mjs"), "--json", "--edits", String(edits)], { cwd: ROOT }, (err, stdout, stderr) => {
      if (err) reject(new Error(`the language server latency run failed: ${stderr || err.message}`));
      else resolveRun(JSON.parse(stdout.trim().split("\n").pop()!) as LspReport);
    });
  });
}

type Contender = { id: string; task: ChildTask };

/**
 * Rounds of every contender, the order reversed every other round, so that each contender's time
 * sits next to the baseline's under the same machine load. Ratios are medians of per-round ratios.
 */
async function measure(workload: string, contenders: Contender[], rounds: number): Promise<Map<string, ChildResult[]>> {
  const results = new Map<string, ChildResult[]>(contenders.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      const res = await runChild(c.task);
      results.get(c.id)!.push(res);
      process.stderr.write(`  ${workload} round ${r + 1}/${rounds} ${c.id.padEnd(9)} ${res.ms.toFixed(0).padStart(7)} ms  ${(res.maxRssKb / 1024).toFixed(0).padStart(5)} MB  ${res.checksum}\n`);
    }
  }
  return results;
}

function pairedRatio(results: Map<string, ChildResult[]>, a: string, b: string): number {
  const xs = results.get(a)!;
  const ys = results.get(b)!;
  return median(xs.map((x, i) => x.ms / ys[i]!.ms));
}

function rowsOf(results: Map<string, ChildResult[]>, baseline: string, records: number, names: Record<string, string>): Row[] {
  const expected = results.get(baseline)![0]!.checksum;
  return [...results].map(([id, rs]) => {
    const ms = median(rs.map((r) => r.ms));
    return {
      id,
      contender: names[id] ?? id,
      ms,
      ratio: pairedRatio(results, id, baseline),
      recordsPerSecond: records / (ms / 1000),
      peakRssMb: Math.max(...rs.map((r) => r.maxRssKb)) / 1024,
      checksum: rs[0]!.checksum,
      checksumOk: rs.every((r) => r.checksum === expected),
    };
  });
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const base = flags.quick ? QUICK : FULL;
  const sizes: Sizes = { w1: Math.round(base.w1 * flags.scale), w2Bytes: Math.round(base.w2Bytes * flags.scale), w3: Math.round(base.w3 * flags.scale), bids: Math.round(base.bids * flags.scale) };
  const work = join(tmpdir(), `flow-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const report: Report = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version, platform: `${process.platform} ${process.arch}`, load: [loadavg()[0]!, 0] },
    quick: flags.quick,
    rounds: flags.rounds,
    workloads: [],
    checkpoints: [],
    nexmark: [],
    compile: [],
  };
  let failed = false;
  try {
    const w2Corpus = flags.only.has("W2") || flags.only.has("W5") ? await corpus(flags.data, sizes.w2Bytes, 7) : "";
    const libraries: LibraryContender[] = ["rxjs", "streams", "highland"];

    // The 20 other plans the plan20 runs load first (compiled once).
    let others: string[] | undefined;
    const otherModules = async () => (others ??= await Promise.all(otherPrograms(join(work, "others-out")).map((text, i) => compileProgram(work, `other${i}`, text))));
    const standard = async (id: WorkloadId, title: string, flowText: string, count: number, records: (hand: ChildResult) => number, notes: string[]) => {
      process.stderr.write(`${id}: ${title}\n`);
      const out = join(work, `${id}-out`);
      const module = await compileProgram(work, id.toLowerCase(), flowText.replaceAll("@OUT@", out));
      const input = { count, corpus: w2Corpus, out: join(work, `${id}-rows.jsonl`) };
      const contenders: Contender[] = [
        { id: "hand", task: { kind: "library", workload: id, contender: "hand", input } },
        { id: "plan", task: { kind: "plan", workload: id, module, out, partitions: 1 } },
        { id: "plan20", task: { kind: "plan", workload: id, module, out, partitions: 1, others: await otherModules() } },
        ...libraries.map((c): Contender => ({ id: c, task: { kind: "library", workload: id, contender: c, input } })),
      ];
      const results = await measure(id, contenders, flags.rounds);
      const n = records(results.get("hand")![0]!);
      const wl: WorkloadReport = { id, title, records: n, rows: rowsOf(results, "hand", n, CONTENDER_NAMES), notes, versus: {} };
      for (const c of libraries) wl.versus[c] = pairedRatio(results, c, "plan");
      report.workloads.push(wl);
    };

    if (flags.only.has("W1")) {
      await standard("W1", `${fmt(sizes.w1)} integers → map(x * 3) → filter(even) → sum`, w1Flow(sizes.w1, "@OUT@"), sizes.w1, () => sizes.w1, [
        "The plan reads `generate(count: N)` (int records 0 … N-1) and sums under a constant key in one window (its chain and the aggregate run as one generated loop, which also makes the source's records from their numbers, so no batch of records is made: one partition); the other contenders sum directly. Every contender, in W1 to W3, writes its result rows as JSON lines to a file (the plan through its file sink, the others with a template per row shape), and the checksum is read back from that file after the time is taken.",
      ]);
    }
    if (flags.only.has("W2")) {
      await standard("W2", `word count over a ${fmtBytes(sizes.w2Bytes)} Zipf corpus`, w2Flow(w2Corpus, "@OUT@"), 0, (hand) => parseInt(hand.checksum, 10), [
        "Records are words. The corpus (seeded, 50k-word vocabulary, Zipf exponent 1.05) is generated once into bench/.data.",
        "Every contender splits a line as `line.toLowerCase().split(/[^a-z']+/)` does and counts in a hash table. The others run that regular expression and count in a Map; the plan's flatMap over `split` is compiled to a scan of the line's code units (the pattern is one character class), and its window state is the runtime's KeyTable (docs/language.md, How a job runs).",
      ]);
    }
    if (flags.only.has("W3")) {
      const eventTime = w3EventTimeFlow(sizes.w3, "@OUT@");
      const checked = analyze(new SourceFile("w3.flow", eventTime));
      const errors = checked.diagnostics.filter((d) => d.severity === "error");
      const notes = [`Events: key = n·7919 mod 10000, value = n mod 100, 100 events per ms of event time (1 s window: 100k events, 10 per key).`];
      let flowText = eventTime;
      if (errors.length === 0) {
        notes.push(
          "The plan runs in event time: `watermark(e => e.ts, delay: 0ms)` after the map, one window per event-time second closed by the watermark, and its result rows (one per key and window: 500k rows, about 32 MB of JSON lines) go to a file, as every contender's do.",
        );
      } else {
        flowText = w3ProcessingTimeFlow(sizes.w3, "@OUT@");
        notes.push(
          `**The compiled plan runs a processing-time window, not the event-time one**: the compiler rejects \`watermark\` (${errors.map((d) => `${d.code}: ${d.message}`).join("; ")}). ` +
            "Its checksum (Σ (key+1)·sum over all windows) still matches, but it emits one row per key per wall-clock second instead of per event-time second: the event-time figure is not measurable yet.",
        );
      }
      await standard("W3", `${fmt(sizes.w3)} events, per-key 1 s tumbling sum (10k keys)`, flowText, sizes.w3, () => sizes.w3, notes);
    }
    if (flags.only.has("W4")) {
      process.stderr.write("W4: the W3 event-time sum with 2 partitions vs 1\n");
      const out = join(work, "W4-out");
      const module = await compileProgram(work, "w4", w3EventTimeFlow(sizes.w3, out));
      // The ceiling of any 2-partition design here: the events in two halves (split at a second of
      // event time where there is one), each a program of its own on a thread of its own.
      const second = Math.round(sizes.w3 / 200_000) * 100_000;
      const half = second > 0 && second < sizes.w3 ? second : Math.ceil(sizes.w3 / 2);
      const shares = [
        { first: 0, count: half },
        { first: half, count: sizes.w3 - half },
      ];
      const shareOuts = shares.map((_, i) => join(work, `W4-share${i}-out`));
      const shareModules = await Promise.all(shares.map((sh, i) => compileProgram(work, `w4share${i}`, w3ShareFlow(`w4share${i}`, sh.first, sh.count, shareOuts[i]!))));
      const contenders: Contender[] = [
        ...[1, 2].map((p): Contender => ({ id: `plan${p}`, task: { kind: "plan", workload: "W3", module, out, partitions: p } })),
        { id: "plan2t", task: { kind: "plan", workload: "W3", module, out, partitions: 2, threads: 2 } },
        { id: "shares2t", task: { kind: "shares", workload: "W3", modules: shareModules, outs: shareOuts } },
        // One half alone on the main thread: a bound no 2-partition run can beat. (Its checksum is
        // half of W3's, so it is a note, not a row.)
        { id: "half", task: { kind: "plan", workload: "W3", module: shareModules[0]!, out: shareOuts[0]!, partitions: 1 } },
      ];
      const results = await measure("W4", contenders, flags.rounds);
      const halfRatio = pairedRatio(results, "half", "plan1");
      const halfMs = median(results.get("half")!.map((r) => r.ms));
      results.delete("half");
      const rows = rowsOf(results, "plan1", sizes.w3, CONTENDER_NAMES);
      report.workloads.push({
        id: "W4",
        title: "W3 with 2 partitions vs 1 (ratio against 1 partition)",
        records: sizes.w3,
        rows,
        notes: [
          "The ratio column is time against 1 partition (below 1 would be a speed-up). With 1 partition the generate source, the chain and the window run as one generated loop; with 2 they run apart, batch by batch, with the hash exchange between them.",
          "On 1 thread both partitions share the thread. On 2 threads (`--threads 2`) partition 1 runs in a worker thread: the source on thread 0 hands it every other batch, and half of each partition's keyed records cross to the other thread for the window (as transferred columns of numbers, docs/language.md, How a job runs). Every record crosses a thread once or twice and is built again as an object on the other side.",
          `The ceiling row is what no 2-partition design can beat on this machine: the events split in two halves (${fmt(shares[0]!.count)} and ${fmt(shares[1]!.count)}), each summed by a 1-partition program of its own in a worker thread of its own, at once; nothing is exchanged, and their rows together give W3's checksum. Its time counts the threads' start and their import of the runtime and the plan, as \`--threads 2\` does.`,
          `One half alone, on the main thread with the machine to itself, took ${fmtMs(halfMs)}: ${halfRatio.toFixed(2)}× the time of 1 partition over all the events (median of per-round ratios), so two partitions can be at most ${(1 / halfRatio).toFixed(2)}× as fast as one here, whatever they exchange. Most of a run this size is fixed cost paid once per thread: the JIT compiling the plan's loop and the runtime, and the heap growing (each thread has its own), which half the events do not halve.`,
        ],
        versus: {},
        baselineName: "1 partition",
      });
    }
    if (flags.only.has("W5")) {
      process.stderr.write(`W5: checkpoints every ${flags.checkpointIntervalMs} ms\n`);
      const out = join(work, "W5-out");
      const manyKeys = Math.min(W5_MANY_KEYS, sizes.w3);
      const cases: { id: string; title: string; workload: WorkloadId; text: string }[] = [
        { id: "W2", title: "W2 word count (≈50k keys)", workload: "W2", text: w2Flow(w2Corpus, out) },
        // Four times W3's events: W3 alone now runs in under a second, before the first checkpoint.
        { id: "W3", title: `W3 event-time sum over ${fmt(4 * sizes.w3)} events (10k keys, 1 s windows)`, workload: "W3", text: w3EventTimeFlow(4 * sizes.w3, out) },
        { id: `W3-${fmt(manyKeys)}`, title: `W3 with ${fmt(manyKeys)} keys in one window of a day`, workload: "W3", text: w3EventTimeFlow(sizes.w3, out, 1, manyKeys, "1d") },
      ];
      for (const c of cases) {
        const module = await compileProgram(work, `w5_${c.id.replace(/\W/g, "_").toLowerCase()}`, c.text);
        const task: ChildTask = { kind: "plan", workload: c.workload, module, out, partitions: 1 };
        const stateDir = join(work, "W5-state");
        const results = await measure(`W5 ${c.id}`, [
          { id: "plain", task },
          { id: "checkpointed", task: { ...task, checkpoint: { intervalMs: flags.checkpointIntervalMs, stateDir } } },
        ], flags.rounds);
        const plain = results.get("plain")!;
        const checkpointed = results.get("checkpointed")!;
        report.checkpoints.push({
          id: c.id,
          title: c.title,
          intervalMs: flags.checkpointIntervalMs,
          plainMs: median(plain.map((r) => r.ms)),
          checkpointedMs: median(checkpointed.map((r) => r.ms)),
          overhead: pairedRatio(results, "checkpointed", "plain"),
          checkpointsPerRun: median(checkpointed.map((r) => r.pauses?.length ?? 0)),
          pauses: checkpointed.flatMap((r) => r.pauses ?? []),
          stalls: checkpointed.flatMap((r) => r.stalls ?? []),
          peakRssMb: { plain: Math.max(...plain.map((r) => r.maxRssKb)) / 1024, checkpointed: Math.max(...checkpointed.map((r) => r.maxRssKb)) / 1024 },
          checksumOk: [...plain, ...checkpointed].every((r) => r.checksum === plain[0]!.checksum),
        });
      }
    }
    if (flags.only.has("NX")) {
      process.stderr.write(`Nexmark: q0, q1, q2, q5, q7 over ${fmt(sizes.bids)} bids\n`);
      for (const q of NEXMARK_QUERIES) {
        const out = join(work, `${q}-out`);
        const module = await compileProgram(work, `nexmark_${q}`, NEXMARK[q].flow(sizes.bids, out));
        const results = await measure(`Nexmark ${q}`, [
          { id: "hand", task: { kind: "nexmark", query: q, count: sizes.bids } },
          { id: "plan", task: { kind: "plan", workload: q, module, out, partitions: 1 } },
        ], flags.rounds);
        report.nexmark.push({ query: q, title: NEXMARK[q].title, bids: sizes.bids, rows: rowsOf(results, "hand", sizes.bids, CONTENDER_NAMES) });
      }
    }
    if (flags.only.has("W6")) {
      process.stderr.write("W6: compile time of the examples\n");
      const dir = join(ROOT, "examples");
      for (const f of readdirSync(dir).filter((n) => n.endsWith(".flow")).sort()) {
        const r = await runChild({ kind: "compile", file: join(dir, f), repeat: flags.quick ? 2 : 6 });
        process.stderr.write(`  W6 ${f}: first ${r.coldMs!.toFixed(0)} ms, then ${r.ms.toFixed(0)} ms\n`);
        report.compile.push({ file: `examples/${f}`, coldMs: r.coldMs!, warmMs: r.ms, peakRssMb: r.maxRssKb / 1024, repeat: flags.quick ? 1 : 5 });
      }
      report.lsp = await lspLatency(flags.quick ? 40 : 200);
      process.stderr.write(`  W6 language server: edit → diagnostics p50 ${report.lsp.p50.toFixed(1)} ms, p95 ${report.lsp.p95.toFixed(1)} ms\n`);
    }
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    failed = true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  report.machine.load[1] = loadavg()[0]!;
  mkdirSync(flags.out, { recursive: true });
  writeFileSync(join(flags.out, "performance.md"), renderMarkdown(report));
  writeFileSync(join(flags.out, "performance.svg"), renderSvg(report));
  if (flags.json) writeFileSync(flags.json, JSON.stringify(report, null, 2));
  process.stderr.write(`wrote ${join(flags.out, "performance.md")} and performance.svg\n`);
  const mismatch = report.workloads.flatMap((w) => w.rows.filter((r) => !r.checksumOk).map((r) => `${w.id} ${r.contender}`)).concat(report.checkpoints.filter((c) => !c.checksumOk).map((c) => `W5 ${c.id}`)).concat(report.nexmark.filter((q) => q.rows.some((r) => !r.checksumOk)).map((q) => `Nexmark ${q.query}`));
  if (mismatch.length > 0) process.stderr.write(`bench: checksums disagree: ${mismatch.join(", ")}\n`);
  return failed || mismatch.length > 0 ? 1 : 0;
}

export function fmt(n: number): string {
  return n >= 1e6 && n % 1e5 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n);
}

function fmtBytes(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MB` : `${(n / 1024).toFixed(0)} kB`;
}

main().then((code) => process.exit(code));
