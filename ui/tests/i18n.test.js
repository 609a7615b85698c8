// Every word on the pages exists in Thai and in English: each string and each domain word has both, neither
// empty, with the same {placeholders}; and every key the pages and scripts ask for is there.
import "./browser-globals.js";
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { STRINGS, VOCAB } from "../js/i18n.js";

const UI = new URL("../", import.meta.url);
const LANGUAGES = ["th", "en"];

function placeholders(text) {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

/** Where a translation is missing or empty, as "where.language". */
function gaps(entry, where) {
  return LANGUAGES.filter((language) => typeof entry[language] !== "string" || !entry[language].trim())
    .map((language) => `${where}.${language}`);
}

test("every UI string is in Thai and English, with the same placeholders", () => {
  const missing = Object.entries(STRINGS).flatMap(([key, entry]) => gaps(entry, key));
  assert.deepEqual(missing, []);
  const differ = Object.entries(STRINGS)
    .filter(([, entry]) => placeholders(entry.th).join() !== placeholders(entry.en).join()).map(([key]) => key);
  assert.deepEqual(differ, []);
});

test("every domain word is in Thai and English, and every triage colour has its name in both", () => {
  const missing = Object.entries(VOCAB).flatMap(([group, words]) => Object.entries(words).flatMap(([value, entry]) => [
    ...gaps(entry, `${group}.${value}`), ...(group === "triage" ? gaps(entry.colour || {}, `${group}.${value}.colour`) : []),
  ]));
  assert.deepEqual(missing, []);
});

test("every key the pages and scripts ask for is defined", () => {
  const asked = new Set();
  for (const name of readdirSync(UI).filter((n) => n.endsWith(".html"))) {
    const html = readFileSync(new URL(name, UI), "utf8");
    for (const m of html.matchAll(/data-i18n(?:-placeholder|-label)?="([\w.]+)"/g)) asked.add(m[1]);
  }
  const scripts = new URL("js/", UI);
  for (const name of readdirSync(scripts).filter((n) => n.endsWith(".js"))) {
    const js = readFileSync(new URL(name, scripts), "utf8");
    for (const m of js.matchAll(/\bt\("(\w+)"\s*[,)]/g)) asked.add(m[1]); // t("role_" + role) is not one
  }
  assert.ok(asked.size > 50, `found only ${asked.size} keys: the scan is broken`);
  assert.deepEqual([...asked].filter((key) => !(key in STRINGS)), []);
});
