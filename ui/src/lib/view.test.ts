import { describe, expect, it } from "vitest";
import type { VisitChecklist } from "../bindings/VisitChecklist";
import { dictionaries, translate } from "./i18n";
import { completeness, discrepancyMessage, nextIndex, rubricLabel, scoreProblem, submitSummary, verdictForKey } from "./view";

const t = (key: string, params?: Record<string, string | number>) => translate(dictionaries.id, key, params);

function checklist(): VisitChecklist {
  const innovation = (id: string, verdict: "found" | null) => ({
    innovation_id: id, name: id.toUpperCase(), summary: "", flagship: false, verdict, note: "", evidence: [],
  });
  return {
    visit_id: "visit-junrejo", date: "2023-11-28", participant_id: "junrejo", participant_name: "Kecamatan Junrejo",
    region: "Kota Batu", juror_id: "akademisi", sheet: "draft", delivery: "draft", conflict_of_interest: null, scale: { min: 0, max: 100 },
    groups: [
      { indicator_id: "I1", name: "Umum", weight: 1, claimed: 2, listed: 2, innovations: [innovation("a", "found"), innovation("b", null)], score: { value: 80, band: "Sangat baik", note: "" }, rubric: [] },
      { indicator_id: "I2", name: "PATEN", weight: 1, claimed: 2, listed: 1, innovations: [innovation("c", null)], score: null, rubric: [] },
    ],
    observations: [],
    discrepancies: [],
  };
}

describe("visit view logic", () => {
  it("counts what is checked and scored", () => {
    expect(completeness(checklist())).toEqual({ listed: 3, checked: 1, total: 2, scored: 1, missing: ["I2"] });
  });

  it("summarises the sheet before submitting, listing what is missing", () => {
    expect(submitSummary(checklist(), t)).toEqual([
      "1 dari 3 inovasi diperiksa · 1 dari 2 indikator dinilai",
      "Belum dinilai: I2",
      "Belum diperiksa: 2 inovasi",
    ]);
  });

  it("explains each discrepancy in words", () => {
    expect(discrepancyMessage({ kind: "claimed_total_vs_by_indicator", claimed_total: 33, by_indicator_sum: 34 }, t))
      .toBe("Diklaim 33 inovasi, tetapi 34 bila dijumlah per indikator");
    expect(discrepancyMessage({ kind: "indicator_claimed_vs_listed", indicator_id: "I4", claimed: 17, listed: 2 }, t, { I4: "Tugas atributif" }))
      .toBe("Indikator Tugas atributif: diklaim 17, terdaftar 2");
    expect(discrepancyMessage({ kind: "not_found", innovation_id: "wa-bang", name: "WA BANG" }, t)).toBe("Tidak ditemukan di lapangan: WA BANG");
  });

  it("finds the rubric band like the core does", () => {
    const rubric = [{ from: 0, to: 59, label: "Kurang" }, { from: 60, to: 79, label: "Baik" }, { from: 80, to: 100, label: "Sangat baik" }];
    expect(rubricLabel({ rubric }, 59.5)).toBe("Kurang");
    expect(rubricLabel({ rubric }, 60)).toBe("Baik");
    expect(rubricLabel({ rubric }, 100)).toBe("Sangat baik");
    expect(rubricLabel({ rubric }, null)).toBeNull();
    expect(rubricLabel({ rubric: [] }, 50)).toBeNull();
  });

  it("maps keys to verdicts and moves focus within bounds", () => {
    expect(verdictForKey("1")).toBe("found");
    expect(verdictForKey("3")).toBe("not_found");
    expect(verdictForKey("x")).toBeNull();
    expect(nextIndex(0, "ArrowDown", 3)).toBe(1);
    expect(nextIndex(2, "ArrowDown", 3)).toBe(2);
    expect(nextIndex(0, "k", 3)).toBe(0);
  });

  it("refuses a score off the scale with the scale in the message", () => {
    expect(scoreProblem("101", 0, 100, t)).toBe("Nilai harus antara 0 dan 100");
    expect(scoreProblem("abc", 0, 100, t)).not.toBeNull();
    expect(scoreProblem("0x10", 0, 100, t)).not.toBeNull();
    expect(scoreProblem("1e2", 0, 100, t)).not.toBeNull();
    expect(scoreProblem("72,5", 0, 100, t)).toBeNull();
  });
});
