// What the lead's Rekap derives from a merge result, kept out of the screen so it is tested.
import type { CellResult } from "../bindings/CellResult";
import type { ParticipantResult } from "../bindings/ParticipantResult";
import type { VisitProgress } from "../bindings/VisitProgress";

/** The jurors whose score is out of line in a disputed cell: the farthest from the median.
 *  (With two scores, both are as far: both are marked.) None when the cell is not disputed. */
export function outOfLine(cell: CellResult): Set<string> {
  if (!cell.disputed || cell.scores.length === 0) return new Set();
  const values = cell.scores.map((s) => s.value).sort((a, b) => a - b);
  const middle = values.length / 2;
  const median = values.length % 2 === 1 ? values[Math.floor(middle)] : (values[middle - 1] + values[middle]) / 2;
  const farthest = Math.max(...cell.scores.map((s) => Math.abs(s.value - median)));
  return new Set(cell.scores.filter((s) => Math.abs(s.value - median) === farthest).map((s) => s.juror));
}

/** The visit's jurors whose sheet has not arrived submitted. */
export function missingSheets(visit: VisitProgress): string[] {
  return visit.jury.filter((juror) => !visit.submitted.includes(juror));
}

/** Participants that share a rank the lead has not ordered yet, group by group, in list order. */
export function openTies(participants: { participant_id: string; rank: number | null; tied: boolean; tie_break_reason: string | null }[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const p of participants) {
    if (p.tied && p.rank !== null && p.tie_break_reason === null) {
      groups.set(p.rank, [...(groups.get(p.rank) ?? []), p.participant_id]);
    }
  }
  return [...groups.values()].filter((ids) => ids.length > 1);
}

/** `order` with the item at `index` moved one place up. */
export function moveUp<T>(order: T[], index: number): T[] {
  if (index <= 0 || index >= order.length) return order;
  const next = [...order];
  [next[index - 1], next[index]] = [next[index], next[index - 1]];
  return next;
}

/** Every juror who scored a participant on any indicator, sorted: the rows of its matrix. */
export function jurorsOf(participant: Pick<ParticipantResult, "cells">): string[] {
  return [...new Set(participant.cells.flatMap((c) => c.scores.map((s) => s.juror)))].sort();
}

/** One juror's score in one cell of the matrix, if they gave one. */
export function scoreOf(participant: Pick<ParticipantResult, "cells">, indicator: string, juror: string): number | undefined {
  return participant.cells.find((c) => c.indicator_id === indicator)?.scores.find((s) => s.juror === juror)?.value;
}

/** The visit to a participant. */
export function visitOfParticipant(visits: VisitProgress[], participant: string): VisitProgress | null {
  return visits.find((v) => v.participant_id === participant) ?? null;
}
