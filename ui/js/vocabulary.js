// The domain's codes (sources, triage colours, milestones…) and the limits of what people enter, as the server
// defines them (GET /api/vocabulary): the pages offer and check these, i18n.js only says them in Thai and
// English. Kept on the phone, like the places, so the report form opens without signal.
import { api } from "./api.js";

const KEY = "dispatch.vocabulary";
let served = null;

/** Read the vocabulary: from the server when it answers, else the copy from the last time it did. */
export async function loadVocabulary() {
  try {
    served = await api("/api/vocabulary");
    localStorage.setItem(KEY, JSON.stringify(served));
  } catch (error) {
    const kept = localStorage.getItem(KEY);
    if (!kept) throw error;
    served = JSON.parse(kept);
  }
  return served;
}

/** The codes of one closed set (source, zone, triage, recordable_milestone, role…), in the server's order. */
export function vocabulary(group) {
  return served.codes[group];
}

/** A limit of what people enter: patients, description_length, note_length. */
export function limit(name) {
  return served.limits[name];
}
