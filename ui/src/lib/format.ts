// Dates and numbers as people read them: "28 November 2023", local time, "78,50" in Indonesian.
import type { Locale } from "./i18n";

const MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"];
const MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** A calendar date `YYYY-MM-DD` as "28 November 2023". */
export function formatDate(iso: string, locale: Locale): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!match) return iso;
  const [, year, month, day] = match;
  const months = locale === "id" ? MONTHS_ID : MONTHS_EN;
  return `${Number(day)} ${months[Number(month) - 1]} ${year}`;
}

/** An RFC 3339 instant as a date and local time: "28 November 2023 10.15" (id) or "28 November 2023 10:15". */
export function formatDateTime(rfc3339: string, locale: Locale, timeZone?: string): string {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  const parts = new Intl.DateTimeFormat("en-GB", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false, timeZone,
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const day = formatDate(`${get("year")}-${get("month")}-${get("day")}`, locale);
  return `${day} ${get("hour")}${locale === "id" ? "." : ":"}${get("minute")}`;
}

/** A camera's local time `YYYY-MM-DDTHH:MM:SS` (no zone: it is shown as taken). */
export function formatCaptureTime(local: string, locale: Locale): string {
  const [date, time = ""] = local.split("T");
  return `${formatDate(date, locale)} ${time.slice(0, 5).replace(":", locale === "id" ? "." : ":")}`.trim();
}

/** A number with up to `decimals` decimals, comma-separated in Indonesian. */
export function formatNumber(value: number, locale: Locale, decimals = 2): string {
  const text = Number.isInteger(value) ? String(value) : value.toFixed(decimals).replace(/0+$/, "").replace(/\.$/, "");
  return locale === "id" ? text.replace(".", ",") : text;
}
