// Renders the benchmark's results: docs/performance.md (tables, the issue's targets met or not,
// the machine) and docs/performance.svg (bars of each contender's time against the baseline, on a
// log scale), both as plain text with no chart library.

export interface Row {
  id: string;
  contender: string;
  /** Median time of the runs. */
  ms: number;
  /** Median over rounds of this run's time / the baseline's time in the same round. */
  ratio: number;
  recordsPerSecond: number;
  /** Largest peak RSS over the runs. */
  peakRssMb: number;
  checksum: string;
  checksumOk: boolean;
}

export interface WorkloadReport {
  id: string;
  title: string;
  records: number;
  rows: Row[];
  notes: string[];
  /** Library contender → median of its time / the compiled plan's time in the same round. */
  versus: Record<string, number>;
  /** What the ratio column compares with; default the hand-written loop. */
  baselineName?: string;
}

export interface CompileReport {
  file: string;
  coldMs: number;
  warmMs: number;
  peakRssMb: number;
  repeat: number;
}

/** W5: one pipeline run with and without checkpoints. */
export interface CheckpointReport {
  id: string;
  title: string;
  intervalMs: number;
  /** Median time without checkpoints and with them. */
  plainMs: number;
  checkpointedMs: number;
  /** Median over rounds of the time with checkpoints / without, in the same round. */
  overhead: number;
  /** Median number of completed checkpoints per run. */
  checkpointsPerRun: number;
  /** Over all completed checkpoints of all rounds: how long the record path stood still (ms). */
  pauses: number[];
  /** Over all completed checkpoints of all rounds: the longest stretch reading or writing the state held the thread (ms). */
  stalls: number[];
  peakRssMb: { plain: number; checkpointed: number };
  checksumOk: boolean;
}

/** The p-th percentile by nearest rank (p99 of fewer than 100 values is the largest). */
export function percentile(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface Report {
  date: string;
  machine: { cpu: string; cores: number; node: string; platform: string; /** 1-minute load average when the bench started and ended. */ load: [number, number] };
  quick: boolean;
  rounds: number;
  workloads: WorkloadReport[];
  checkpoints: CheckpointReport[];
  nexmark: NexmarkReport[];
  compile: CompileReport[];
  /** W6: the language server's diagnostics latency (bench/lsp-latency.mjs). */
  lsp?: LspReport;
}

/** One Nexmark query: its hand-written loop and its plan (rows as in the workloads' tables). */
export interface NexmarkReport {
  query: string;
  title: string;
  bids: number;
  rows: Row[];
}

export interface LspReport {
  lines: number;
  openMs: number;
  edits: number;
  p50: number;
  p95: number;
  max: number;
  burstPerEditMs: number;
}

interface Target {
  text: string;
  measured: number | undefined;
  /** The measured value meets the target when it is at most (or at least) `limit`. */
  atMost?: number;
  atLeast?: number;
  /** How the measured value is written (default: a ratio). */
  unit?: "ms" | "percent";
}

function targets(r: Report): Target[] {
  const w = (id: string) => r.workloads.find((x) => x.id === id);
  const planRatio = (id: string) => w(id)?.rows.find((x) => x.id === "plan")?.ratio;
  const out: Target[] = [];
  for (const id of ["W1", "W2", "W3"]) out.push({ text: `${id}: plan time / hand loop time ≤ 1.2×`, measured: planRatio(id), atMost: 1.2 });
  for (const id of ["W1", "W2", "W3"]) out.push({ text: `${id}, after 20 other plans were loaded: plan time / hand loop time ≤ 1.2×`, measured: w(id)?.rows.find((x) => x.id === "plan20")?.ratio, atMost: 1.2 });
  out.push({ text: "W1: RxJS time / plan time ≥ 3×", measured: w("W1")?.versus.rxjs, atLeast: 3 });
  out.push({ text: "W1: Node streams time / plan time ≥ 30×", measured: w("W1")?.versus.streams, atLeast: 30 });
  for (const id of ["W2", "W3"]) out.push({ text: `${id}: RxJS time / plan time ≥ 2×`, measured: w(id)?.versus.rxjs, atLeast: 2 });
  for (const id of ["W1", "W2", "W3"]) {
    const rss = (c: string) => w(id)?.rows.find((x) => x.id === c)?.peakRssMb;
    const plan = rss("plan");
    const hand = rss("hand");
    out.push({ text: `${id}: plan peak RSS / hand loop peak RSS ≤ 1.5×`, measured: plan === undefined || hand === undefined ? undefined : plan / hand, atMost: 1.5 });
  }
  // Two partitions on two threads: the exchange across threads the target is about.
  const p2 = w("W4")?.rows.find((x) => x.id === "plan2t")?.ratio;
  out.push({ text: "W4: time with 1 partition / time with 2 on 2 threads ≥ 1.6×", measured: p2 === undefined ? undefined : 1 / p2, atLeast: 1.6 });
  for (const c of r.checkpoints) {
    out.push({ text: `W5 ${c.id}: checkpoint overhead ≤ 5%`, measured: (c.overhead - 1) * 100, atMost: 5, unit: "percent" });
    // The longest the records stood still for a checkpoint: at the barrier, or in one stretch of writing its state.
    const held = c.pauses.map((p, i) => Math.max(p, c.stalls[i] ?? 0));
    out.push({ text: `W5 ${c.id}: barrier pause p99 ≤ 10 ms (the longer of the pause at the barrier and the longest stretch writing the state)`, measured: percentile(held, 99), atMost: 10, unit: "ms" });
  }
  if (r.lsp) out.push({ text: "W6: diagnostics after an edit, p95 ≤ 50 ms (the language server's own target)", measured: r.lsp.p95, atMost: 50, unit: "ms" });
  return out;
}

export const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x >= 100 ? 0 : 1)} ms`);
const ratio = (x: number) => `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;
const rate = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(0)}k` : x.toFixed(0));

export function renderMarkdown(r: Report): string {
  const L: string[] = [];
  L.push("<!-- Generated by `npm run bench` (bench/main.ts): edit the bench, not this file. -->");
  L.push("# Performance");
  L.push("");
  L.push(
    `Measured ${r.date.slice(0, 16).replace("T", " ")} UTC on ${r.machine.cpu} (${r.machine.cores} cores, load average ${r.machine.load[0].toFixed(1)} at the start and ${r.machine.load[1].toFixed(1)} at the end), Node ${r.machine.node}, ${r.machine.platform}` +
      `${r.quick ? " — **quick mode: small inputs, not representative**" : ""}.`,
  );
  L.push("");
  L.push(
    `Every contender does the same work and must produce the same checksum. Each measurement runs in a fresh child process ` +
      `(cold JIT, own heap), in ${r.rounds} round${r.rounds > 1 ? "s that alternate the order of the contenders" : ""}. ` +
      "Time is the median; *vs baseline* is the median over rounds of the contender's time divided by the baseline's time in the same round; " +
      "peak RSS is the child process's largest resident set (getrusage), Node's own ~45 MB included. " +
      "The plan's time is end to end: opening its connectors, running, closing its sinks (compiling is W6). " +
      "On a machine shared with other work (a load average above the number of cores) single runs vary by 2× or more: read the ratios, which pair runs made close together, rather than the times.",
  );
  L.push("");
  L.push("![Time against the baseline, log scale](performance.svg)");
  L.push("");
  for (const w of r.workloads) {
    L.push(`## ${w.id}: ${w.title}`);
    L.push("");
    L.push(`| contender | time | vs ${w.baselineName ?? "hand loop"} | records/s | peak RSS | checksum |`);
    L.push("| --- | ---: | ---: | ---: | ---: | --- |");
    for (const x of w.rows) {
      L.push(`| ${x.contender} | ${ms(x.ms)} | ${ratio(x.ratio)} | ${rate(x.recordsPerSecond)} | ${x.peakRssMb.toFixed(0)} MB | ${x.checksumOk ? "" : "**MISMATCH** "}\`${x.checksum}\` |`);
    }
    L.push("");
    const vs = Object.entries(w.versus);
    if (vs.length > 0) {
      L.push(`Time against the compiled plan's (median of per-round ratios; above 1× the plan is faster): ${vs.map(([c, v]) => `${w.rows.find((x) => x.id === c)?.contender ?? c} ${ratio(v)}`).join(", ")}.`, "");
    }
    for (const n of w.notes) L.push(n, "");
  }
  if (r.checkpoints.length > 0) {
    const interval = r.checkpoints[0]!.intervalMs;
    L.push(`## W5: checkpoints every ${interval % 1000 === 0 ? `${interval / 1000} s` : `${interval} ms`}`);
    L.push("");
    L.push(
      "The same compiled plan run without checkpoints and with them (embedded mode: barriers from the sources, operator snapshots written to a state directory in a temporary directory, " +
        "file sink output staged and published per checkpoint), paired per round. *Overhead* is the median of the per-round ratio of the two times. " +
        "The *pause* of a checkpoint is the time the record path stood still at its barriers: injecting them, every operator's snapshot (a windowed aggregate's is copy on write: it only starts an epoch), the sinks' pre-commit, summed " +
        "(the embedded runtime runs its tasks on one thread). The state is then read and serialised in stretches with the records going on in between; *longest stretch* is the longest of those per checkpoint, " +
        "and the rest of that work is in the overhead. p99 is by nearest rank over every checkpoint of every round (with fewer than 100 checkpoints, the largest).",
    );
    L.push("");
    L.push("| pipeline | without | with | overhead | checkpoints per run | pause p50 | pause p99 | longest stretch p99 | peak RSS without / with | checksums |");
    L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (const c of r.checkpoints) {
      const p50 = percentile(c.pauses, 50);
      const p99 = percentile(c.pauses, 99);
      const s99 = percentile(c.stalls, 99);
      L.push(
        `| ${c.title} | ${ms(c.plainMs)} | ${ms(c.checkpointedMs)} | ${((c.overhead - 1) * 100).toFixed(1)}% | ${c.checkpointsPerRun} | ${p50 === undefined ? "—" : ms(p50)} | ${p99 === undefined ? "—" : ms(p99)} | ${s99 === undefined ? "—" : ms(s99)} | ${c.peakRssMb.plain.toFixed(0)} / ${c.peakRssMb.checkpointed.toFixed(0)} MB | ${c.checksumOk ? "equal" : "**MISMATCH**"} |`,
      );
    }
    L.push("");
  }
  if (r.nexmark.length > 0) {
    L.push(`## Nexmark subset (${r.nexmark[0]!.bids.toLocaleString("en")} bids per query)`);
    L.push("");
    L.push(
      "The bid queries of [Nexmark](https://github.com/nexmark/nexmark) written in .flow (bench/nexmark.ts holds the programs), each beside a hand-written loop over the same bids. " +
        "The bids come from a deterministic generator in the shape of Nexmark's (half the bids on the ten newest auctions, 10 000 bids per second of event time), not its reference generator. " +
        "The plans write their results to JSONL files (q0: every bid); the loops write q0's and q1's rows as JSON text into memory and keep the others' results. " +
        "The embedded runtime runs a job on one thread, so the plan's bids/s are per core, the unit published Nexmark figures are given in.",
    );
    L.push("");
    L.push("| query | plan: bids/s per core | hand loop: bids/s | plan vs hand loop | plan peak RSS | checksums |");
    L.push("| --- | ---: | ---: | ---: | ---: | --- |");
    for (const q of r.nexmark) {
      const plan = q.rows.find((x) => x.id === "plan")!;
      const hand = q.rows.find((x) => x.id === "hand")!;
      L.push(`| ${q.title} | ${rate(plan.recordsPerSecond)} | ${rate(hand.recordsPerSecond)} | ${ratio(plan.ratio)} | ${plan.peakRssMb.toFixed(0)} MB | ${plan.checksumOk ? "equal" : `**MISMATCH** \`${plan.checksum}\` vs \`${hand.checksum}\``} |`);
    }
    L.push("");
  }
  if (r.compile.length > 0) {
    L.push("## W6: compile time of the examples");
    L.push("");
    L.push("`compile()` (parse, check, plan, emit with ts-morph and prettier) in a fresh process: the first call, then the median of the next ones.");
    L.push("");
    L.push("| file | first compile | then (median) | peak RSS |");
    L.push("| --- | ---: | ---: | ---: |");
    for (const c of r.compile) L.push(`| ${c.file} | ${ms(c.coldMs)} | ${ms(c.warmMs)} (${c.repeat}×) | ${c.peakRssMb.toFixed(0)} MB |`);
    L.push("");
  }
  if (r.lsp) {
    const l = r.lsp;
    L.push("## W6: language server diagnostics latency");
    L.push("");
    L.push(
      `\`flowc lsp --stdio\` with a generated file of ${l.lines} lines (bench/lsp-latency.mjs): the time from sending an edit (didChange, one at a time, alternately breaking and fixing a name) ` +
        `to receiving that version's diagnostics, over ${l.edits} edits after 20 to warm up; and a burst of 20 edits sent at once (typing fast), until the last one's diagnostics.`,
    );
    L.push("");
    L.push("| open → diagnostics | edit → diagnostics p50 | p95 | max | burst, per edit |");
    L.push("| ---: | ---: | ---: | ---: | ---: |");
    L.push(`| ${ms(l.openMs)} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.max)} | ${ms(l.burstPerEditMs)} |`);
    L.push("");
  }
  L.push("## The targets of issue 7");
  L.push("");
  L.push("| target | measured | met |");
  L.push("| --- | ---: | :---: |");
  for (const t of targets(r)) {
    const met = t.measured === undefined ? "not measured" : (t.atMost !== undefined ? t.measured <= t.atMost : t.measured >= t.atLeast!) ? "yes" : "**no**";
    const shown = t.measured === undefined ? "—" : t.unit === "ms" ? ms(t.measured) : t.unit === "percent" ? `${t.measured.toFixed(1)}%` : ratio(t.measured);
    L.push(`| ${t.text} | ${shown} | ${met} |`);
  }
  L.push("");
  L.push("Run it: `npm run bench` (about 15 minutes), `npm run bench -- --quick` (a smoke run), `npm run bench -- --only W1,W3` (sections: W1 … W6).");
  L.push("");
  return L.join("\n");
}

const COLORS: Record<string, string> = { hand: "#555555", plan: "#1f77b4", plan20: "#aec7e8", rxjs: "#d62728", streams: "#2ca02c", highland: "#9467bd", plan1: "#1f77b4", plan2: "#17becf" };

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function renderSvg(r: Report): string {
  const width = 820;
  const left = 230;
  const right = 70;
  const barH = 16;
  const gap = 4;
  const all = r.workloads.flatMap((w) => w.rows.map((x) => x.ratio)).filter((x) => x > 0 && Number.isFinite(x));
  const lo = Math.min(0.5, ...all);
  const hi = Math.max(2, ...all) * 1.15;
  const x = (v: number) => left + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (width - left - right);
  const body: string[] = [];
  let y = 50;
  for (const w of r.workloads) {
    body.push(`<text x="10" y="${y + 12}" font-weight="bold">${escape(`${w.id}: ${w.title}`)}</text>`);
    y += 20;
    for (const row of w.rows) {
      const v = Math.max(row.ratio, lo);
      body.push(`<text x="${left - 8}" y="${y + barH - 4}" text-anchor="end">${escape(row.contender)}</text>`);
      body.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${barH}" fill="${COLORS[row.id] ?? "#888"}"/>`);
      body.push(`<text x="${(x(v) + 5).toFixed(1)}" y="${y + barH - 4}">${escape(ratio(row.ratio))}</text>`);
      y += barH + gap;
    }
    y += 14;
  }
  const ticks: string[] = [];
  for (const t of [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]) {
    if (t < lo || t > hi) continue;
    ticks.push(`<line x1="${x(t).toFixed(1)}" y1="40" x2="${x(t).toFixed(1)}" y2="${y - 10}" stroke="${t === 1 ? "#000" : "#ddd"}"/>`);
    ticks.push(`<text x="${x(t).toFixed(1)}" y="${y + 4}" text-anchor="middle" fill="#666">${t}×</text>`);
  }
  const height = y + 16;
  return [
    "<!-- Generated by `npm run bench` (bench/report.ts). -->",
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">${escape(`Time against the baseline (hand loop; W4: 1 partition), log scale — ${r.date.slice(0, 10)}, Node ${r.machine.node}${r.quick ? ", quick mode" : ""}`)}</text>`,
    ...ticks,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}
