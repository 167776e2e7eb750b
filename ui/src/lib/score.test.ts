import { describe, expect, it } from "vitest";
import { formatScore, parseScore, scoreProblemOf } from "./score";

describe("scores as a juror types them", () => {
  it("takes a decimal comma or point and at most two decimals", () => {
    expect(parseScore("72,5")).toBe(72.5);
    expect(parseScore("72.25")).toBe(72.25);
    expect(parseScore(" 85 ")).toBe(85);
    expect(parseScore("0")).toBe(0);
    expect(parseScore("-0")).toBe(0);
  });

  it("refuses what is not a number a juror types", () => {
    for (const text of ["0x10", "1e2", "", ",5", "5,", "1.2.3", "7 2", "+5", "72,555", "Infinity", "1.000,5"]) {
      expect(parseScore(text), text).toBeNull();
    }
  });

  it("names the problem: not a number, or outside the scale", () => {
    expect(scoreProblemOf("150", 0, 100)).toEqual({ kind: "outOfScale", min: 0, max: 100 });
    expect(scoreProblemOf("0x10", 0, 100)).toEqual({ kind: "notANumber" });
    expect(scoreProblemOf("15", 0, 100)).toBeNull();
  });

  it("shows a decimal comma", () => {
    expect(formatScore(72.5)).toBe("72,5");
    expect(formatScore(80)).toBe("80");
  });
});
