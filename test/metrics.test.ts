// Worker metrics over HTTP in Prometheus' text format, read from a job's live counters.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { WorkerMetrics } from "../runtime/cluster/metrics.js";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";

describe("worker metrics", () => {
  it("serve records in and out per operator, throughput, backpressure and the epoch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-metrics-"));
    const r = await compile(new SourceFile("m.flow", "source n: int = generate(count: 500)\n\nn |> filter(x => x % 2 == 0) |> keyBy(x => x % 3) |> count() |> sink file(\"out\", format: \"jsonl\")\n"));
    writeFileSync(join(dir, "m.mjs"), r.emitted!.js);
    const mod = (await import(pathToFileURL(join(dir, "m.mjs")).href)) as PlanModule;
    const job = new Job(mod, { partitions: 2, baseDir: dir });
    await job.open();
    await job.run();
    const metrics = new WorkerMetrics("w1", () => [{ name: "m", epoch: 3, job }]);
    const port = await metrics.listen(0);
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const value = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
      expect(value(/^flow_records_in_total\{[^}]*kind="chain"[^}]*\} (\d+)$/gm)).toBe(500);
      expect(value(/^flow_records_out_total\{[^}]*kind="chain"[^}]*\} (\d+)$/gm)).toBe(250);
      expect(value(/^flow_records_in_total\{[^}]*kind="sink"[^}]*\} (\d+)$/gm)).toBe(250);
      expect(text).toMatch(/^flow_job_epoch\{job="m",worker="w1"\} 3$/m);
      expect(text).toContain("flow_backpressured_seconds_total");
      expect(text).toContain("flow_source_throughput_records_per_second");
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await metrics.close();
    }
  });
});
