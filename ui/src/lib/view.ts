import { formatScore, scoreProblemOf } from "./score";
// The view logic of the visit screens, kept out of the components so it is tested.
import type { Discrepancy } from "../bindings/Discrepancy";
import type { Indicator } from "../bindings/Indicator";
import type { InnovationCheck } from "../bindings/InnovationCheck";
import type { Verdict } from "../bindings/Verdict";
import type { VisitChecklist } from "../bindings/VisitChecklist";

export type Translate = (key: string, params?: Record<string, string | number>) => string;

export interface Completeness {
  listed: number;
  checked: number;
  total: number;
  scored: number;
  missing: string[];
}

export function completeness(list: VisitChecklist): Completeness {
  const innovations = list.groups.flatMap((g) => g.innovations);
  return {
    listed: innovations.length,
    checked: innovations.filter((i) => i.verdict !== null).length,
    total: list.groups.length,
    scored: list.groups.filter((g) => g.score !== null).length,
    missing: list.groups.filter((g) => g.score === null).map((g) => g.indicator_id),
  };
}

/** The lines of the submit confirmation. */
export function submitSummary(list: VisitChecklist, t: Translate): string[] {
  const c = completeness(list);
  const lines = [t("submit.summary", { checked: c.checked, listed: c.listed, scored: c.scored, total: c.total })];
  if (c.missing.length > 0) lines.push(t("submit.missing", { list: c.missing.join(", ") }));
  if (c.checked < c.listed) lines.push(t("submit.unchecked", { count: c.listed - c.checked }));
  return lines;
}

export function discrepancyMessage(d: Discrepancy, t: Translate, names: Record<string, string> = {}): string {
  switch (d.kind) {
    case "claimed_total_vs_by_indicator":
      return t("disc.totalVsByIndicator", { claimed: d.claimed_total, sum: d.by_indicator_sum });
    case "claimed_total_vs_listed":
      return t("disc.totalVsListed", { claimed: d.claimed_total, listed: d.listed });
    case "indicator_claimed_vs_listed":
      return t("disc.indicator", { indicator: names[d.indicator_id] ?? d.indicator_id, claimed: d.claimed, listed: d.listed });
    case "not_checked":
      return t("disc.notChecked", { count: d.innovation_ids.length });
    case "not_found":
      return t("disc.notFound", { name: d.name });
  }
}

/** A score's rubric band: the last band whose `from` is at most the score. */
export function rubricLabel(indicator: Pick<Indicator, "rubric">, value: number | null): string | null {
  if (value === null || Number.isNaN(value)) return null;
  let label: string | null = null;
  let best = -Infinity;
  for (const band of indicator.rubric ?? []) {
    if (band.from <= value && band.from >= best) {
      best = band.from;
      label = band.label;
    }
  }
  return label;
}

/** Keyboard: which verdict a key sets. */
export function verdictForKey(key: string): Verdict | null {
  return ({ "1": "found", "2": "partial", "3": "not_found" } as Record<string, Verdict>)[key] ?? null;
}

/** Keyboard: the next focused innovation for an arrow (or j/k) key. */
export function nextIndex(current: number, key: string, length: number): number {
  if (length === 0) return 0;
  if (key === "ArrowDown" || key === "j") return Math.min(current + 1, length - 1);
  if (key === "ArrowUp" || key === "k") return Math.max(current - 1, 0);
  return current;
}

export function innovationsOf(list: VisitChecklist): InnovationCheck[] {
  return list.groups.flatMap((g) => g.innovations);
}

/** What is wrong with a typed score, in the juror's language; null when it can be saved. */
export function scoreProblem(text: string, min: number, max: number, t: Translate): string | null {
  const problem = scoreProblemOf(text, min, max);
  if (problem === null) return null;
  return problem.kind === "notANumber"
    ? t("score.notANumber")
    : t("score.outOfScale", { min: formatScore(min), max: formatScore(max) });
}
