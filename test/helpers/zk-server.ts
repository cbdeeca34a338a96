// Real ZooKeeper servers for tests: standalone or a 3-node ensemble, on free loopback ports in
// temporary directories, started as Debian's package runs them and always stopped.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./cli.js";

export interface ZkServers {
  connectString: string;
  /** SIGKILL server i. */
  kill(i: number): void;
  /** SIGSTOP / SIGCONT server i (a silent server). */
  pause(i: number): void;
  resume(i: number): void;
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export function ensureZooKeeper(): void {
  execFileSync("bash", [join(ROOT, "scripts/ensure-zookeeper.sh")], { stdio: ["ignore", "ignore", "inherit"] });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until the server answers `ruok` with `imok` and serves clients (`srvr` shows a mode). */
async function ready(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await new Promise<string>((resolve) => {
      const c = connect(port, "127.0.0.1");
      let data = "";
      c.on("connect", () => c.write("srvr"));
      c.on("data", (d) => (data += d));
      c.on("close", () => resolve(data));
      c.on("error", () => resolve(""));
      c.setTimeout(1000, () => c.destroy());
    });
    if (/Mode: (standalone|leader|follower)/.test(answer)) return;
    if (Date.now() > deadline) throw new Error(`ZooKeeper on port ${port} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startZooKeeper(size: 1 | 3 = 1, opts: { tickTime?: number } = {}): Promise<ZkServers> {
  ensureZooKeeper();
  const base = mkdtempSync(join(tmpdir(), "flowc-zk-"));
  const servers = await Promise.all(
    Array.from({ length: size }, async (_, i) => ({ i, client: await freePort(), peer: await freePort(), election: await freePort(), dir: join(base, `s${i + 1}`) })),
  );
  const procs: (ChildProcess | null)[] = servers.map(() => null);
  const tick = opts.tickTime ?? 500;
  for (const s of servers) {
    mkdirSync(join(s.dir, "data"), { recursive: true });
    const lines = [
      `tickTime=${tick}`,
      "initLimit=10",
      "syncLimit=5",
      `dataDir=${join(s.dir, "data")}`,
      `clientPort=${s.client}`,
      "clientPortAddress=127.0.0.1",
      "admin.enableServer=false",
      "4lw.commands.whitelist=*",
      `minSessionTimeout=${tick * 2}`,
      ...(size > 1 ? servers.map((o) => `server.${o.i + 1}=127.0.0.1:${o.peer}:${o.election}`) : []),
    ];
    writeFileSync(join(s.dir, "zoo.cfg"), lines.join("\n") + "\n");
    writeFileSync(join(s.dir, "data", "myid"), `${s.i + 1}\n`);
    writeFileSync(join(s.dir, "log4j.properties"), "log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\nlog4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n");
  }
  const start = (i: number) => {
    const s = servers[i]!;
    const p = spawn("java", ["-Xmx256m", "-Dzookeeper.jmx.log4j.disable=true", `-Dlog4j.configuration=file:${join(s.dir, "log4j.properties")}`, "-cp", `${s.dir}:/usr/share/java/zookeeper.jar`, "org.apache.zookeeper.server.quorum.QuorumPeerMain", join(s.dir, "zoo.cfg")], { stdio: "ignore" });
    live.add(p);
    p.on("exit", () => live.delete(p));
    procs[i] = p;
  };
  servers.forEach((_, i) => start(i));
  await Promise.all(servers.map((s) => ready(s.client, 30_000)));
  const signal = (i: number, sig: NodeJS.Signals) => procs[i]?.kill(sig);
  return {
    connectString: servers.map((s) => `127.0.0.1:${s.client}`).join(","),
    kill: (i) => signal(i, "SIGKILL"),
    pause: (i) => signal(i, "SIGSTOP"),
    resume: (i) => signal(i, "SIGCONT"),
    restart: async (i) => {
      signal(i, "SIGKILL");
      await new Promise((r) => setTimeout(r, 200));
      start(i);
      await ready(servers[i]!.client, 30_000);
    },
    stop: async () => {
      for (const p of procs) {
        p?.kill("SIGCONT");
        p?.kill("SIGKILL");
      }
      await new Promise((r) => setTimeout(r, 100));
      rmSync(base, { recursive: true, force: true });
    },
  };
}
