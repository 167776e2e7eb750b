// Translation: every UI string lives in ../locales/<locale>.json.
import id from "../locales/id.json";
import en from "../locales/en.json";

export type Locale = "id" | "en";
export type Dictionary = Record<string, string>;

export const dictionaries: Record<Locale, Dictionary> = { id, en };

/** The text for `key`, with `{name}` placeholders filled from `params`. */
export function translate(dictionary: Dictionary, key: string, params: Record<string, string | number> = {}): string {
  const template = dictionary[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}
