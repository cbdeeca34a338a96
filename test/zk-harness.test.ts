// The ZooKeeper test harness itself: a standalone server and a 3-node ensemble start on free
// loopback ports, answer clients, and survive the loss of one ensemble member.
import zookeeper from "node-zookeeper-client";
import { afterAll, describe, expect, it } from "vitest";
import { startZooKeeper, type ZkServers } from "./helpers/zk-server.js";

function client(connect: string): Promise<zookeeper.Client> {
  return new Promise((resolve, reject) => {
    const c = zookeeper.createClient(connect, { sessionTimeout: 4000, retries: 0 });
    const t = setTimeout(() => reject(new Error("connect timeout")), 15_000);
    c.once("connected", () => {
      clearTimeout(t);
      resolve(c);
    });
    c.connect();
  });
}

const create = (c: zookeeper.Client, path: string, data: string) =>
  new Promise<void>((resolve, reject) => c.create(path, Buffer.from(data), (e) => (e ? reject(e) : resolve())));
const get = (c: zookeeper.Client, path: string) =>
  new Promise<string>((resolve, reject) => c.getData(path, (e, d) => (e ? reject(e) : resolve(d.toString()))));

describe("ZooKeeper harness", () => {
  const started: ZkServers[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it("starts a standalone server that serves clients", async () => {
    const zk = await startZooKeeper(1);
    started.push(zk);
    const c = await client(zk.connectString);
    await create(c, "/hello", "world");
    expect(await get(c, "/hello")).toBe("world");
    c.close();
  });

  it("starts a 3-node ensemble that keeps serving with one server killed", async () => {
    const zk = await startZooKeeper(3);
    started.push(zk);
    const c = await client(zk.connectString);
    await create(c, "/a", "1");
    zk.kill(0);
    const c2 = await client(zk.connectString.split(",").slice(1).join(","));
    expect(await get(c2, "/a")).toBe("1");
    await create(c2, "/b", "2");
    c.close();
    c2.close();
  });
});
