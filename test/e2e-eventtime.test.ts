// End to end through `flowc run`: examples/sessions.flow, the design sketch's event-time program,
// gives the documented output shapes, sessions and attributions equal to a direct computation over
// the data files, and counts the one late click in its summary.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowc, ROOT } from "./helpers/cli.js";

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "flowc-e2e-et-"));
  cpSync(join(ROOT, "examples"), join(work, "examples"), { recursive: true, filter: (src) => !src.includes(join(ROOT, "examples", "out")) });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const parts = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("part-")).map((f) => readFileSync(join(dir, f), "utf8"));
const jsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter((l) => l !== "").flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
const canon = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

describe("examples/sessions.flow", () => {
  it("sessions per user, clicks attributed to buys within 10 minutes, and the late click counted", () => {
    const r = flowc(["run", join(work, "examples/sessions.flow"), "--partitions", "3", "--progress", "none"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/late records dropped: [12]\b/);

    const ts = (v: unknown) => (typeof v === "number" ? v : Date.parse(String(v)));
    const clicks = jsonl(join(work, "examples/data/clicks.jsonl")).map((c) => ({ user: c.user as string, url: c.url as string, ts: ts(c.ts) }));
    // Line 43 is a click at 00:00:00 that arrives after clicks of 00:04:47: behind the watermark.
    const late = clicks.filter((c, i) => clicks.slice(0, i).some((p) => p.ts - 2000 > c.ts));
    expect(late).toEqual([{ user: "fay", url: "/pricing", ts: 1767225600000 }]);
    const onTime = clicks.filter((c) => !late.includes(c));

    // Sessions: a user's clicks sorted by time, split where two are 30 s or more apart.
    const expected: unknown[] = [];
    for (const user of new Set(onTime.map((c) => c.user))) {
      const times = onTime.filter((c) => c.user === user).map((c) => c.ts).sort((a, b) => a - b);
      let start = 0;
      for (let i = 1; i <= times.length; i++) {
        if (i === times.length || times[i]! - times[i - 1]! >= 30_000) {
          const first = times[start]!;
          const last = times[i - 1]!;
          expected.push({ key: user, clicks: i - start, first, last, start: first, end: last + 30_000 });
          start = i;
        }
      }
    }
    const sessions = parts(join(work, "examples/out/sessions")).flatMap((t) => t.split("\n").filter((l) => l).map((l) => JSON.parse(l)));
    expect(sessions.every((s) => Object.keys(s).join(",") === "key,clicks,first,last,start,end")).toBe(true);
    expect(canon(sessions)).toEqual(canon(expected));

    // Attribution: every (click, buy) of one user at most 10 minutes apart, as csv user,url,amount.
    const buys = jsonl(join(work, "examples/data/buys.jsonl")) as { user: string; amount: number; ts: number }[];
    const pairs = onTime.flatMap((c) => buys.filter((b) => b.user === c.user && Math.abs(b.ts - c.ts) <= 600_000).map((b) => `${c.user},${c.url},${b.amount}`));
    expect(pairs.length).toBeGreaterThan(10);
    const csv = parts(join(work, "examples/out/attributed")).flatMap((t) => t.split("\n").filter((l) => l));
    expect(csv.filter((l) => l === "user,url,amount").length).toBe(3);
    expect(csv.filter((l) => l !== "user,url,amount").sort()).toEqual(pairs.sort());
  });

  it("explain shows the watermark, the session window in event time and the join's keyed inputs", () => {
    const r = flowc(["explain", join(work, "examples/sessions.flow")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/watermark watermark\(c => c\.ts, delay: 2s\)/);
    expect(r.stdout).toMatch(/session gap 30000 ms, event time/);
    expect(r.stdout).toMatch(/join join\(.*within: 10m\)[\s\S]*last 600000 ms \(event time\)/);
  });
});
