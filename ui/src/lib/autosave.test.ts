import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAutosaver, type SaveState } from "./autosave";

describe("autosave", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("saves once after typing stops, and says so", async () => {
    const saved: string[] = [];
    const states: SaveState[] = [];
    const saver = createAutosaver(async (v: string) => { saved.push(v); }, (s) => states.push(s), 400);
    saver.change("P");
    saver.change("PA");
    await vi.advanceTimersByTimeAsync(399);
    expect(saved).toEqual([]);
    saver.change("PATEN");
    await vi.advanceTimersByTimeAsync(400);
    expect(saved).toEqual(["PATEN"]);
    expect(states).toEqual(["saving", "saved"]);
  });

  it("flushes a pending value at once (before leaving a screen)", async () => {
    const saved: string[] = [];
    const saver = createAutosaver(async (v: string) => { saved.push(v); }, () => {}, 400);
    saver.change("catatan");
    await saver.flush();
    expect(saved).toEqual(["catatan"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(saved).toEqual(["catatan"]);
  });

  it("reports a failed save", async () => {
    const states: SaveState[] = [];
    const saver = createAutosaver(async () => { throw new Error("disk full"); }, (s) => states.push(s), 10);
    saver.change("x");
    await vi.advanceTimersByTimeAsync(10);
    expect(states).toEqual(["saving", "error"]);
  });

  it("drops a pending value that became invalid: 15 is never saved on the way to 150", async () => {
    const saved: string[] = [];
    const saver = createAutosaver(async (v: string) => { saved.push(v); }, () => {}, 400);
    saver.change("15");
    expect(saver.busy()).toBe(true);
    saver.cancel();
    expect(saver.busy()).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await saver.flush();
    expect(saved).toEqual([]);
  });
});
