// The input gate's event time with idle channels, as scripted event sequences: the minimum leaves
// out a channel that said `idle` until its next watermark; an all-idle gate reports itself idle;
// an ended channel counts as +∞.
import { describe, expect, it } from "vitest";
import { InputGate } from "../runtime/exec/input-gate.js";

function gate(channels: number) {
  const log: string[] = [];
  const g = new InputGate(channels, {
    onData: () => {},
    onWatermark: (t) => log.push(`wm ${t}`),
    onIdle: () => log.push("idle"),
    onBarrier: (id) => log.push(`barrier ${id}`),
    onEnd: () => log.push("end"),
  });
  const wm = (c: number, time: number) => g.control({ kind: "watermark", time }, c);
  const idle = (c: number) => g.control({ kind: "idle" }, c);
  return { g, log, wm, idle };
}

describe("input gate: idle channels", () => {
  it("an idle channel no longer holds the minimum back, and holds it again once it has a watermark", () => {
    const { g, log, wm, idle } = gate(3);
    wm(0, 10);
    wm(1, 20);
    expect(log).toEqual([]); // channel 2 has none yet
    idle(2);
    expect(log).toEqual(["wm 10"]);
    wm(0, 30);
    expect(log).toEqual(["wm 10", "wm 20"]);
    wm(2, 15); // back, behind the others: event time does not go backwards, but waits for it
    wm(0, 40);
    wm(1, 40);
    expect(log).toEqual(["wm 10", "wm 20"]);
    wm(2, 35);
    expect(log).toEqual(["wm 10", "wm 20", "wm 35"]);
    expect(g.watermark).toBe(35);
  });

  it("when every channel is idle, event time moves to the largest watermark they reached", () => {
    const { log, wm, idle } = gate(2);
    wm(0, 14);
    expect(log).toEqual([]);
    idle(0); // the busy channel goes quiet first: channel 1 (nothing yet) still holds it back
    expect(log).toEqual([]);
    idle(1);
    expect(log).toEqual(["wm 14", "idle"]);
  });

  it("reports idle once every open channel is idle; an ended channel is +∞", () => {
    const { log, wm, idle, g } = gate(2);
    wm(0, 5);
    idle(1);
    expect(log).toEqual(["wm 5"]);
    idle(0);
    expect(log).toEqual(["wm 5", "idle"]);
    g.control({ kind: "end" }, 0);
    wm(1, 50);
    expect(log).toEqual(["wm 5", "idle", "wm 50"]);
    g.control({ kind: "end" }, 1);
    expect(log.at(-1)).toBe("end");
  });
});
