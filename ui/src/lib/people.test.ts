import { describe, expect, it } from "vitest";
import { jurorName } from "./people";

describe("people", () => {
  it("are named with their institution, never by id", () => {
    const jurors = [{ id: "dindik", name: "Anggota Tim Juri", institution: "Dinas Pendidikan", role: "juror" as const }];
    expect(jurorName(jurors, "dindik")).toBe("Anggota Tim Juri (Dinas Pendidikan)");
  });
});
