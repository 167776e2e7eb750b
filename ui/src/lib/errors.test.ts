import { describe, expect, it } from "vitest";
import { describeError } from "./api";

describe("errors in the user's language", () => {
  it("say a known code in Bahasa Indonesia with the things named by their names", () => {
    const text = describeError(
      "sheet_incomplete",
      'cannot submit visit "visit-junrejo": indicators not scored yet: I1',
      { visit: "Kecamatan Junrejo", indicators: "I1 Inovasi pelayanan" },
    );
    expect(text).toBe(
      "Lembar nilai untuk Kecamatan Junrejo belum bisa dikirim: indikator yang belum dinilai: I1 Inovasi pelayanan.",
    );
    expect(text).not.toContain("visit-");
  });

  it("fill {detail} from the shell's message when the error names nothing else", () => {
    expect(describeError("unauthorized", "this token was revoked")).toBe(
      "Server menolak token Anda (this token was revoked). Minta token baru dari panitia.",
    );
  });

  it("fall back to a general sentence for a code this version does not know", () => {
    expect(describeError("something_new", "a new kind of failure")).toBe("Terjadi kesalahan: a new kind of failure");
  });
});
