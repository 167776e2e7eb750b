import { describe, expect, it } from "vitest";
import type { CellResult } from "../bindings/CellResult";
import type { VisitProgress } from "../bindings/VisitProgress";
import { jurorsOf, missingSheets, moveUp, openTies, outOfLine, scoreOf, visitOfParticipant } from "./rekap";

const cell = (disputed: boolean, scores: [string, number][]): CellResult =>
  ({ indicator_id: "I1", disputed, scores: scores.map(([juror, value]) => ({ juror, value })) }) as unknown as CellResult;

describe("the Rekap", () => {
  it("marks the score that is out of line, not the whole column", () => {
    expect(outOfLine(cell(true, [["a", 70], ["b", 72], ["c", 40]]))).toEqual(new Set(["c"]));
    expect(outOfLine(cell(true, [["a", 90], ["b", 60]]))).toEqual(new Set(["a", "b"]));
    expect(outOfLine(cell(false, [["a", 70], ["b", 95]]))).toEqual(new Set());
  });

  it("lists the jurors whose sheet is missing", () => {
    const visit = { jury: ["ketua", "akademisi", "dindik"], submitted: ["ketua"] } as unknown as VisitProgress;
    expect(missingSheets(visit)).toEqual(["akademisi", "dindik"]);
  });

  it("finds the ties the lead has not ordered, and orders them", () => {
    const p = (id: string, rank: number | null, tied: boolean, reason: string | null = null) =>
      ({ participant_id: id, rank, tied, tie_break_reason: reason });
    expect(openTies([p("a", 1, true), p("b", 1, true), p("c", 3, false), p("d", 4, true, "decided"), p("e", 5, true, "decided")]))
      .toEqual([["a", "b"]]);
    expect(moveUp(["a", "b", "c"], 2)).toEqual(["a", "c", "b"]);
    expect(moveUp(["a", "b"], 0)).toEqual(["a", "b"]);
  });
  it("lays out a participant's matrix: a row per juror who scored, their score per cell", () => {
    const participant = { cells: [cell(false, [["b", 70], ["a", 80]]), { ...cell(false, [["c", 65]]), indicator_id: "I2" }] };
    expect(jurorsOf(participant)).toEqual(["a", "b", "c"]);
    expect(scoreOf(participant, "I1", "a")).toBe(80);
    expect(scoreOf(participant, "I2", "c")).toBe(65);
    expect(scoreOf(participant, "I2", "a")).toBeUndefined();
    const visits = [{ participant_id: "junrejo" }] as unknown as VisitProgress[];
    expect(visitOfParticipant(visits, "junrejo")).toBe(visits[0]);
    expect(visitOfParticipant(visits, "lain")).toBeNull();
  });
});
