// A score as a juror types it, parsed by the same grammar as the core's
// `ScoreValue::parse_typed`: digits, at most one decimal separator (a comma, as Indonesian
// writes it, or a point) and at most two decimals, an optional leading minus. No exponents
// ("1e2"), no hexadecimal ("0x10"), no spaces inside, no thousands separators.
const SCORE = /^(-?)(\d{1,9})(?:[.,](\d{1,2}))?$/;

// Trimmed as Rust's `str::trim` does: Unicode White_Space (JavaScript's own `trim` also takes off
// U+FEFF and leaves U+0085, so "\u0085 80" would be a score here and not in the core).
const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

/** The number typed, or null when the text is not a score a juror types. */
export function parseScore(text: string): number | null {
  const match = SCORE.exec(text.replace(EDGE_SPACE, ""));
  if (!match) return null;
  const value = Number(`${match[2]}.${match[3] ?? "0"}`);
  return match[1] === "-" && value !== 0 ? -value : value;
}

/** A score shown with a decimal comma: 72.5 → "72,5", 80 → "80". */
export function formatScore(value: number): string {
  return String(value).replace(".", ",");
}

export type ScoreProblem = { kind: "notANumber" } | { kind: "outOfScale"; min: number; max: number };

/** What is wrong with a typed score, if anything. */
export function scoreProblemOf(text: string, min: number, max: number): ScoreProblem | null {
  const value = parseScore(text);
  if (value === null) return { kind: "notANumber" };
  if (value < min || value > max) return { kind: "outOfScale", min, max };
  return null;
}
