import { describe, expect, it } from "vitest";
import { formatCaptureTime, formatDate, formatDateTime, formatNumber } from "./format";
import { dictionaries, translate } from "./i18n";

describe("formatting", () => {
  it("writes dates the Indonesian way", () => {
    expect(formatDate("2023-11-28", "id")).toBe("28 November 2023");
    expect(formatDate("2023-08-05", "id")).toBe("5 Agustus 2023");
    expect(formatDate("2023-08-05", "en")).toBe("5 August 2023");
    expect(formatDate("kemarin", "id")).toBe("kemarin");
  });

  it("shows instants in local time", () => {
    expect(formatDateTime("2023-11-28T03:15:00Z", "id", "Asia/Jakarta")).toBe("28 November 2023 10.15");
    expect(formatDateTime("2023-11-28T03:15:00Z", "en", "Asia/Jakarta")).toBe("28 November 2023 10:15");
  });

  it("shows a camera's time as taken", () => {
    expect(formatCaptureTime("2023-11-28T09:05:30", "id")).toBe("28 November 2023 09.05");
  });

  it("uses a decimal comma in Indonesian", () => {
    expect(formatNumber(78.5, "id")).toBe("78,5");
    expect(formatNumber(78.5, "en")).toBe("78.5");
    expect(formatNumber(80, "id")).toBe("80");
    expect(formatNumber(72.125, "id")).toBe("72,13");
  });

  it("fills placeholders and leaves unknown keys visible", () => {
    expect(translate(dictionaries.id, "status.pending", { count: 3 })).toBe("3 perubahan belum terkirim");
    expect(translate(dictionaries.en, "status.pending", { count: 3 })).toBe("3 changes not sent");
    expect(translate(dictionaries.id, "no.such.key")).toBe("no.such.key");
  });
});
