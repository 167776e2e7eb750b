// The current language, shared by every screen (Bahasa Indonesia unless the user chose English).
import { dictionaries, translate, type Locale } from "./i18n";

const saved = typeof localStorage !== "undefined" ? localStorage.getItem("tinjau.locale") : null;
const initial: Locale = saved === "en" ? "en" : "id";
let current = $state<Locale>(initial);
// The page says which language it speaks from the start (screen readers pronounce by it).
if (typeof document !== "undefined") document.documentElement.lang = initial;

export const locale = {
  get value(): Locale {
    return current;
  },
  set(next: Locale) {
    current = next;
    localStorage.setItem("tinjau.locale", next);
    document.documentElement.lang = next;
  },
};

export function t(key: string, params: Record<string, string | number> = {}): string {
  return translate(dictionaries[current], key, params);
}
