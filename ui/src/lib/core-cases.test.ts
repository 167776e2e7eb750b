// The UI's copies of two core rules give the core's answers (cases written by
// crates/tinjau-app/tests/ui_rules.rs from the core itself).
import { describe, expect, it } from "vitest";
import cases from "./core-cases.json";
import { parseScore } from "./score";
import { rubricLabel } from "./view";

describe("the UI agrees with the core", () => {
  it("on every typed score", () => {
    for (const { text, value } of cases.typed) {
      expect(parseScore(text), JSON.stringify(text)).toBe(value);
    }
  });

  it("on every rubric band", () => {
    for (const { rubric, scores } of cases.rubrics) {
      for (const [score, label] of scores as [number, string | null][]) {
        expect(rubricLabel({ rubric }, score), `${score}`).toBe(label);
      }
    }
  });
});
