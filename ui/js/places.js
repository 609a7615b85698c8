// Known places (GET /api/places), kept on the phone so the form works without signal.
import { api } from "./api.js";
import { lang } from "./i18n.js";

const KEY = "dispatch.places";

function slim(answer) {
  return answer.places.map((p) => ({
    id: p.id, name_en: p.name_en, name_th: p.name_th, kind: p.kind, zone: p.zone, lat: p.lat, lon: p.lon,
    level_of_care: p.level_of_care,
  }));
}

/** The places, from the server when it answers, else the copy from the last time it did. */
export async function loadPlaces() {
  try {
    const places = slim(await api("/api/places"));
    localStorage.setItem(KEY, JSON.stringify(places));
    return places;
  } catch (error) {
    const kept = localStorage.getItem(KEY);
    if (kept) return JSON.parse(kept);
    throw error;
  }
}

export function placeName(place, language = lang()) {
  if (!place) return "";
  return language === "th" ? place.name_th || place.name_en : place.name_en;
}

export function isFacility(place) {
  return place.kind === "hospital" || place.kind === "health_unit";
}
