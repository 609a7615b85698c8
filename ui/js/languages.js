// Patients' languages (GET /api/languages: every ISO 639-1 code, named in Thai and English, the common ones
// first), kept on the phone like the places so the report form offers them without signal.
import { api } from "./api.js";
import { lang } from "./i18n.js";

const KEY = "dispatch.domain.languages";
// A phone that has never had signal since it was set up still reports, in the two languages the form had
// before the list existed.
const FIRST_START = [
  { code: "th", name_th: "ไทย", name_en: "Thai", common: true },
  { code: "en", name_th: "อังกฤษ", name_en: "English", common: true },
];
let byCode = new Map();

/** The languages, from the server when it answers, else the copy from the last time it did. */
export async function loadLanguages() {
  let languages;
  try {
    languages = (await api("/api/languages")).languages;
    localStorage.setItem(KEY, JSON.stringify(languages));
  } catch {
    const kept = localStorage.getItem(KEY);
    languages = kept ? JSON.parse(kept) : FIRST_START;
  }
  byCode = new Map(languages.map((language) => [language.code, language]));
  return languages;
}

/** A language's name in the language on screen (or the one given); the code itself if the list is not loaded. */
export function languageName(code, language = lang()) {
  const found = byCode.get(code);
  if (!found) return code || "";
  return language === "th" ? found.name_th : found.name_en;
}

/** Both names, the screen's first: "รัสเซีย · Russian", so a Thai crew and a foreign guide both find it. */
export function bothNames(code) {
  const other = lang() === "th" ? "en" : "th";
  return `${languageName(code)} · ${languageName(code, other)}`;
}
