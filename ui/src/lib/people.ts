// People are named as they read them — name (institution) — never by an id.
import type { Juror } from "../bindings/Juror";

export function jurorName(jurors: Juror[], id: string): string {
  const juror = jurors.find((j) => j.id === id);
  return juror ? `${juror.name} (${juror.institution})` : id;
}
