// Runs the built `flowc` command as a user would (a child process), capturing its output.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FLOWC = fileURLToPath(new URL("../../bin/flowc.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const env = () => ({ ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined as unknown as string, CI: "" });

export function flowc(args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [FLOWC, ...args], { cwd: opts.cwd ?? ROOT, input: opts.input ?? "", encoding: "utf8", env: { ...env(), ...opts.env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the test's event loop (for jobs that talk to a server the test runs). */
export function flowcAsync(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [FLOWC, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? env() });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(opts.input ?? "");
  });
}
