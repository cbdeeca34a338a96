// The job protocol on ZooKeeper (the layout of ARCHITECTURE.md, under a configurable root):
//   <root>/workers/<id>                 ephemeral: WorkerRecord
//   <root>/jobs/<job>                   JobRecord
//   <root>/jobs/<job>/state             JobState
//   <root>/jobs/<job>/assignment        Assignment; its znode version is the fence of every job write
//   <root>/jobs/<job>/epoch             the assignment's epoch, written in the same transaction
//   <root>/jobs/<job>/leader/n_…        ephemeral sequential: coordinator election
//   <root>/jobs/<job>/checkpoints/latest CheckpointPointer of the last completed checkpoint (null: none)
// Every znode carries the project's digest ACL. Watches fire once and die with the session, so each
// subscription re-arms itself after every event and after every new session, and always delivers
// "something changed: re-read", never the event itself.
import zookeeper from "node-zookeeper-client";
import type { Assignment } from "./assignment.js";
import type { CheckpointPointer, JobRecord, JobState, WorkerRecord } from "./protocol.js";
import type { Versioned, WorkerStore } from "./store.js";
import { codeOf, ZkSession } from "./zk-session.js";

interface Subscription {
  active: boolean;
  arm: (notify?: boolean) => void;
}

export class ZkClusterStore implements WorkerStore {
  private readonly registrations = new Map<string, WorkerRecord>();
  private readonly candidacies = new Set<{ job: string; candidate: string; elected: () => void; node: string | null; active: boolean }>();
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    readonly session: ZkSession,
    private readonly root = "/flow",
  ) {
    session.on("session", () => void this.onNewSession());
  }

  private p(...parts: string[]): string {
    return [this.root, ...parts].join("/");
  }

  async init(): Promise<void> {
    await this.session.mkdirp(this.p("workers"));
    await this.session.mkdirp(this.p("jobs"));
  }

  /** After expiry: re-register, re-join elections, re-arm every watch, and tell every subscriber to re-read. */
  private async onNewSession(): Promise<void> {
    for (const w of this.registrations.values()) await this.registerWorker(w).catch(() => {});
    for (const c of this.candidacies) if (c.active) await this.runCandidacy(c).catch(() => {});
    for (const s of this.subscriptions) if (s.active) s.arm(true);
  }

  // ---------------------------------------------------------------- workers

  onSessionLost(cb: () => void): () => void {
    this.session.on("lost", cb);
    return () => this.session.off("lost", cb);
  }

  sessionId(): string {
    return this.session.sessionId;
  }

  async registerWorker(record: WorkerRecord): Promise<void> {
    this.registrations.set(record.id, record);
    const w = { ...record, session: this.session.sessionId };
    const path = this.p("workers", w.id);
    try {
      await this.session.create(path, w, zookeeper.CreateMode.EPHEMERAL);
    } catch (e) {
      if (codeOf(e) !== "NODE_EXISTS") throw e;
      // Left by an earlier session of ours (or another worker with our id): ours if it is this session's.
      const stat = await this.session.stat(path);
      if (stat && stat.ephemeralOwner.toString("hex") !== this.session.sessionId) {
        await this.session.remove(path, stat.version);
        await this.session.create(path, w, zookeeper.CreateMode.EPHEMERAL);
      }
    }
  }

  async workers(): Promise<WorkerRecord[]> {
    const ids = await this.session.children(this.p("workers"));
    const out: WorkerRecord[] = [];
    for (const id of ids) {
      const r = await this.session.getJson<WorkerRecord>(this.p("workers", id));
      if (r) out.push(r.value);
    }
    return out;
  }

  private subscribe(read: (watch: () => void) => Promise<unknown>, cb: () => void): () => void {
    const sub: Subscription = { active: true, arm: () => {} };
    // Re-arms the watch; `notify` also tells the subscriber to re-read, because changes made while
    // no watch was set (a read that failed, a session that was being replaced) fire nothing.
    sub.arm = (notify = false) => {
      if (!sub.active) return;
      read(() => {
        if (!sub.active) return;
        sub.arm();
        cb();
      }).then(
        () => notify && sub.active && cb(),
        () => setTimeout(() => sub.arm(true), 500),
      );
    };
    this.subscriptions.add(sub);
    sub.arm();
    return () => {
      sub.active = false;
      this.subscriptions.delete(sub);
    };
  }

  onWorkersChanged(cb: () => void): () => void {
    return this.subscribe((w) => this.session.children(this.p("workers"), w), cb);
  }

  // ---------------------------------------------------------------- jobs

  /** `flowc submit`: the job record, its initial state. Fails when a job of that name exists. */
  async submit(job: JobRecord): Promise<void> {
    const ok = await this.session.transaction(`submit ${job.name}`, (t) => {
      t.create(this.p("jobs", job.name), Buffer.from(JSON.stringify(job)), this.session.acl, zookeeper.CreateMode.PERSISTENT);
      t.create(this.p("jobs", job.name, "state"), Buffer.from(JSON.stringify({ status: "submitted", epoch: 0, updatedAt: Date.now() } satisfies JobState)), this.session.acl, zookeeper.CreateMode.PERSISTENT);
      t.create(this.p("jobs", job.name, "leader"), Buffer.from("{}"), this.session.acl, zookeeper.CreateMode.PERSISTENT);
      t.create(this.p("jobs", job.name, "checkpoints"), Buffer.from("{}"), this.session.acl, zookeeper.CreateMode.PERSISTENT);
      t.create(this.p("jobs", job.name, "checkpoints", "latest"), Buffer.from("null"), this.session.acl, zookeeper.CreateMode.PERSISTENT);
    });
    if (!ok) throw new Error(`a job named ${job.name} already exists (cancel or remove it first)`);
  }

  async jobNames(): Promise<string[]> {
    return this.session.children(this.p("jobs"));
  }

  onJobsChanged(cb: () => void): () => void {
    return this.subscribe((w) => this.session.children(this.p("jobs"), w), cb);
  }

  async job(name: string): Promise<JobRecord | undefined> {
    return (await this.session.getJson<JobRecord>(this.p("jobs", name)))?.value;
  }

  async assignment(job: string): Promise<Versioned<Assignment> | undefined> {
    return this.session.getJson<Assignment>(this.p("jobs", job, "assignment"));
  }

  async state(job: string): Promise<Versioned<JobState> | undefined> {
    return this.session.getJson<JobState>(this.p("jobs", job, "state"));
  }

  onAssignmentChanged(job: string, cb: () => void): () => void {
    return this.subscribe((w) => this.session.getJson(this.p("jobs", job, "assignment"), w), cb);
  }

  onStateChanged(job: string, cb: () => void): () => void {
    return this.subscribe((w) => this.session.getJson(this.p("jobs", job, "state"), w), cb);
  }

  async writeAssignment(job: string, a: Assignment, expected: number): Promise<boolean> {
    const data = Buffer.from(JSON.stringify(a));
    const epoch = Buffer.from(JSON.stringify(a.epoch));
    const path = this.p("jobs", job, "assignment");
    return this.session.transaction(`assign ${job}`, (t) => {
      if (expected === -1) {
        t.create(path, data, this.session.acl, zookeeper.CreateMode.PERSISTENT);
        t.create(this.p("jobs", job, "epoch"), epoch, this.session.acl, zookeeper.CreateMode.PERSISTENT);
      } else {
        t.setData(path, data, expected);
        t.setData(this.p("jobs", job, "epoch"), epoch);
      }
    });
  }

  async writeState(job: string, s: JobState, assignmentVersion: number): Promise<boolean> {
    return this.session.transaction(`state ${job}`, (t) => {
      if (assignmentVersion >= 0) t.check(this.p("jobs", job, "assignment"), assignmentVersion);
      t.setData(this.p("jobs", job, "state"), Buffer.from(JSON.stringify(s)));
    });
  }

  async latestCheckpoint(job: string): Promise<CheckpointPointer | undefined> {
    return (await this.session.getJson<CheckpointPointer | null>(this.p("jobs", job, "checkpoints", "latest")))?.value ?? undefined;
  }

  async publishCheckpoint(job: string, p: CheckpointPointer, assignmentVersion: number): Promise<boolean> {
    return this.session.transaction(`checkpoint ${job}`, (t) => {
      t.check(this.p("jobs", job, "assignment"), assignmentVersion);
      t.setData(this.p("jobs", job, "checkpoints", "latest"), Buffer.from(JSON.stringify(p)));
    });
  }

  // ---------------------------------------------------------------- election

  async elect(job: string, candidate: string, elected: () => void): Promise<{ resign(): Promise<void> }> {
    const c = { job, candidate, elected, node: null as string | null, active: true };
    this.candidacies.add(c);
    await this.runCandidacy(c);
    return {
      resign: async () => {
        c.active = false;
        this.candidacies.delete(c);
        if (c.node) await this.session.remove(c.node).catch(() => {});
      },
    };
  }

  private async runCandidacy(c: { job: string; candidate: string; elected: () => void; node: string | null; active: boolean }): Promise<void> {
    const dir = this.p("jobs", c.job, "leader");
    const mine = { candidate: c.candidate, session: this.session.sessionId };
    try {
      c.node = await this.session.create(`${dir}/n_`, mine, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL);
    } catch (e) {
      // Unsure whether the create happened: find our node by its content instead of creating another.
      const found = await this.findOwn(dir, mine);
      if (!found) throw e;
      c.node = found;
    }
    await this.checkLeadership(c);
  }

  private async findOwn(dir: string, mine: { candidate: string; session: string }): Promise<string | null> {
    for (const n of await this.session.children(dir)) {
      const r = await this.session.getJson<{ candidate: string; session: string }>(`${dir}/${n}`);
      if (r && r.value.candidate === mine.candidate && r.value.session === mine.session) return `${dir}/${n}`;
    }
    return null;
  }

  /** Leads when our node is the smallest; otherwise watches only the node just before ours. */
  private async checkLeadership(c: { job: string; elected: () => void; node: string | null; active: boolean }): Promise<void> {
    if (!c.active || !c.node) return;
    const dir = this.p("jobs", c.job, "leader");
    const nodes = (await this.session.children(dir)).sort();
    const me = c.node.slice(dir.length + 1);
    const i = nodes.indexOf(me);
    if (i < 0) return;
    if (i === 0) return c.elected();
    const before = `${dir}/${nodes[i - 1]}`;
    const exists = await this.session.call<zookeeper.Stat | undefined>(`watch ${before}`, (client, done) =>
      client.exists(before, () => void this.checkLeadership(c).catch(() => {}), (e, s) => done(e, s ?? undefined)),
    );
    if (!exists) await this.checkLeadership(c);
  }

  async leader(job: string): Promise<string | undefined> {
    const dir = this.p("jobs", job, "leader");
    const nodes = (await this.session.children(dir)).sort();
    for (const n of nodes) {
      const r = await this.session.getJson<{ candidate: string }>(`${dir}/${n}`);
      if (r) return r.value.candidate;
    }
    return undefined;
  }
}
