// What the lead's Rekap derives from a merge result, kept out of the screen so it is tested.
import type { CellResult } from "../bindings/CellResult";
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
