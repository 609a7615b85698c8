// The lifeguard's page: report in under 30 seconds with wet hands and one bar of signal, then follow up.
import { api, serverNow } from "./api.js";
import { h, byId } from "./dom.js";
import { applyTranslations, colourName, lang, t, word } from "./i18n.js";
import { MemoryStore, Outbox } from "./outbox.js";
import { CHANNEL, SYNC_TAG, migrateLocalStorage, outboxLock, outboxStore, sendEntry } from "./outbox-store.js";
import { bothNames, loadLanguages } from "./languages.js";
import { loadPlaces, placeName } from "./places.js";
import { renderHeader, requireSignIn, signInUrl } from "./session.js";
import { PositionSharing } from "./share-position.js";
import { clock, dateTime } from "./time.js";
import { limit, loadVocabulary, vocabulary } from "./vocabulary.js";

const form = byId("report-form");
const open = new Set(); // incident ids whose follow-up panel is open
const details = new Map(); // incident id -> GET /api/incidents/{id} answer (or an error marker)
const drafts = new Map(); // incident id -> the note being typed, kept across re-renders
let shown = ""; // what the list last showed, so a retry that changed nothing does not redraw it
let places = [];
let gps = null;
let outbox;

const me = await requireSignIn(["lifeguard", "operator"]);
await loadVocabulary();
const RECORDABLE = vocabulary("recordable_milestone");
renderHeader(me);
outbox = await openOutbox(me.id);
buildChoices();
await Promise.all([fillPlaces(), fillLanguages()]);
wireForm();
render();
outbox.flush();
if (me.resource_id) {
  // Only someone crewing a unit shares a position: the phone speaks for that unit.
  byId("share-card").hidden = false;
  new PositionSharing({ unit: me.resource_id, checkbox: byId("share-position"), status: byId("share-status") });
}
if ("serviceWorker" in navigator) {
  // plain http on a LAN has none: the page still sends while it is open
  navigator.serviceWorker.register("/sw.js", { type: "module" }).catch(() => {});
}
document.body.dataset.ready = "true";
// An open follow-up panel keeps up with the command centre (a unit dispatched, a milestone recorded).
setInterval(() => open.forEach(refreshDetail), 15000);
window.addEventListener("langchange", async () => {
  buildChoices(true);
  await Promise.all([fillPlaces(), fillLanguages()]);
  render(true);
});
window.addEventListener("online", () => render());

// --- the outbox ---------------------------------------------------------------------------------------

async function openOutbox(user) {
  const channel = globalThis.BroadcastChannel ? new BroadcastChannel(CHANNEL) : null;
  let store = outboxStore(channel);
  try {
    await store.read(user);
    await migrateLocalStorage(store); // reports left unsent by the version that kept them in localStorage
  } catch {
    store = new MemoryStore(); // IndexedDB refused (some private windows): it still sends while the page is open
  }
  const box = new Outbox({
    user, store, send: sendEntry, lock: outboxLock(user), onChange: () => render(),
    // A follow-up that reaches the server changes the incident: show it as the server now has it.
    onSent: (entry) => entry?.incident_id && open.has(entry.incident_id) && refreshDetail(entry.incident_id),
    onBlocked: askForSync,
  });
  await box.reload();
  window.addEventListener("online", () => box.flush());
  window.addEventListener("offline", () => render());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") box.flush();
  });
  if (channel) channel.onmessage = (event) => event.data === user && box.reload(); // another tab, or the worker
  return box;
}

/** Where the browser has Background Sync, the worker sends the outbox when the signal is back, page open or
 * not; the page's own retries go on meanwhile (both under one lock, so an entry is never sent twice at once). */
function askForSync() {
  navigator.serviceWorker?.ready.then((registration) => registration.sync?.register(SYNC_TAG)).catch(() => {});
}

// --- the form ----------------------------------------------------------------------------------------

function radio(name, value, checked, ...label) {
  return h("label.choice", { dataset: { value } },
    h("input", { type: "radio", name, value, checked }),
    h("span.choice-body", {}, ...label));
}

function buildChoices(keep = false) {
  const chosen = keep ? Object.fromEntries(new FormData(form)) : {};
  const fill = (id, name, values, label) => {
    const field = byId(id);
    field.querySelectorAll("label.choice").forEach((el) => el.remove());
    field.append(...values.map((v) => radio(name, v, chosen[name] === v, ...label(v))));
  };
  // A beacon heard on AIS is a source of its own, which no person reports from.
  fill("source-field", "source", vocabulary("source").filter((v) => v !== "ais_beacon"), (v) => [word("source", v)]);
  fill("category-field", "category", vocabulary("category"), (v) => [word("category", v)]);
  // Both meanings, always: a Thai crew may hand the phone to a foreign dive guide and back.
  fill("triage-field", "triage", vocabulary("triage"), (v) => [
    h("span.swatch.triage-" + v, { "aria-hidden": "true" }),
    h("span.triage-text", {},
      h("strong", {}, colourName(v)),
      h("span.meaning", { lang: "th" }, word("triage", v, "th")),
      h("span.meaning", { lang: "en" }, word("triage", v, "en"))),
  ]);
  byId("triage-field").querySelectorAll("label.choice").forEach((el) => el.classList.add("triage-" + el.dataset.value));
}

async function fillPlaces() {
  const select = byId("site");
  const chosen = select.value;
  try {
    places = await loadPlaces();
  } catch {
    places = [];
  }
  const zones = vocabulary("zone");
  const groups = zones.map((zone) => {
    const here = places.filter((p) => p.zone === zone && p.kind !== "town")
      .sort((a, b) => placeName(a).localeCompare(placeName(b), lang()));
    return here.length ? h("optgroup", { label: word("zone", zone) },
      here.map((p) => h("option", { value: p.id }, `${placeName(p)} · ${word("kind", p.kind)}`))) : null;
  });
  select.replaceChildren(h("option", { value: "" }, t("no_site")), ...groups.filter(Boolean));
  select.value = chosen;
}

/** The patient's language: the common ones first, then every other, each named in Thai and English; the
 * language on screen is the default a new report starts with. */
async function fillLanguages() {
  const select = byId("language");
  const chosen = select.value;
  const languages = await loadLanguages();
  const option = (language) => h("option", { value: language.code, defaultSelected: language.code === lang() },
    bothNames(language.code));
  select.replaceChildren(
    h("optgroup", { label: t("languages_common") }, languages.filter((l) => l.common).map(option)),
    h("optgroup", { label: t("languages_all") }, languages.filter((l) => !l.common).map(option)));
  if (chosen) select.value = chosen;
}

function showGps() {
  const status = byId("gps-status");
  status.replaceChildren();
  if (!gps) return;
  status.append(`📍 ${gps.lat.toFixed(5)}, ${gps.lon.toFixed(5)} (${t("gps_accuracy", { m: Math.round(gps.accuracy) })}) `,
    h("button.link-button", { type: "button", on: { click: () => { gps = null; showGps(); } } }, t("gps_clear")));
}

function locate() {
  const status = byId("gps-status");
  if (!navigator.geolocation) {
    status.textContent = t("gps_failed");
    return;
  }
  status.textContent = t("gps_locating");
  navigator.geolocation.getCurrentPosition(
    (found) => {
      gps = { lat: found.coords.latitude, lon: found.coords.longitude, accuracy: found.coords.accuracy };
      showGps();
    },
    () => {
      status.textContent = t("gps_failed");
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

function wireForm() {
  byId("gps").addEventListener("click", locate);
  const patients = byId("patients");
  patients.max = String(limit("patients"));
  byId("description").maxLength = limit("description_length");
  const step = (by) => {
    patients.value = String(patientCount((parseInt(patients.value, 10) || 1) + by));
  };
  byId("fewer").addEventListener("click", () => step(-1));
  byId("more").addEventListener("click", () => step(1));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
}

/** A count of patients the server takes: at least one, at most its limit. */
function patientCount(typed) {
  return Math.min(limit("patients"), Math.max(1, typed || 1));
}

function submit() {
  const data = new FormData(form);
  const missing = [];
  if (!data.get("source")) missing.push(t("source"));
  if (!data.get("site_id") && !gps) missing.push(t("place"));
  if (!data.get("triage")) missing.push(t("triage"));
  if (!data.get("category")) missing.push(t("category"));
  const error = byId("form-error");
  if (missing.length) {
    error.textContent = t("missing_fields", { fields: missing.join(", ") });
    error.hidden = false;
    return;
  }
  error.hidden = true;
  const body = {
    source: data.get("source"), triage: data.get("triage"), category: data.get("category"),
    patients: patientCount(parseInt(data.get("patients"), 10)),
    description: String(data.get("description") || "").trim().slice(0, limit("description_length")),
    language: data.get("language") || lang(),
    device_time: new Date().toISOString(),
  };
  if (data.get("site_id")) body.site_id = data.get("site_id");
  if (gps) body.position = { lat: gps.lat, lon: gps.lon };
  // The key is made here, before the first try, and stored with the report: every retry reuses it.
  outbox.add("report", "/api/incidents", body);
  form.reset();
  gps = null;
  showGps();
  byId("reports").scrollIntoView({ behavior: "smooth", block: "start" });
}

// --- my reports ---------------------------------------------------------------------------------------

function statusOf(entry) {
  if (entry.state === "sent") return h("span.status.sent", {}, t("sent"));
  if (entry.state === "refused") return h("span.status.refused", {}, `${t("refused")}: ${entry.error || ""}`);
  return h("span.status.waiting", {}, t("waiting_signal"));
}

function render(force = false) {
  if (!outbox) return; // the outbox is still being opened: it draws once it is
  const entries = outbox.entries();
  const signature = JSON.stringify([lang(), navigator.onLine, outbox.needsSignIn, [...open],
    entries.map((e) => [e.key, e.state, e.result?.id]), [...details.entries()]]);
  if (signature === shown && !force) return;
  shown = signature;
  const typing = document.activeElement?.dataset?.note;
  const reports = entries.filter((e) => e.kind === "report").reverse();
  const waiting = entries.filter((e) => e.state === "waiting").length;
  byId("outbox-count").textContent = waiting ? t("outbox_count", { n: waiting }) : "";
  const signal = byId("signal");
  signal.textContent = navigator.onLine ? t("online") : t("offline");
  signal.className = "pill " + (navigator.onLine ? "ok" : "bad");
  const banner = byId("session-banner");
  banner.hidden = !outbox.needsSignIn;
  if (outbox.needsSignIn) {
    banner.replaceChildren(t("session_expired"), " ", h("a", { href: signInUrl() }, t("sign_in")));
  }
  const list = byId("reports");
  list.replaceChildren(...(reports.length ? reports.map((e) => reportItem(e, entries)) : [h("li.hint", {}, t("no_reports"))]));
  applyTranslations(list);
  if (typing) list.querySelector(`textarea[data-note="${CSS.escape(typing)}"]`)?.focus();
}

function reportItem(entry, entries) {
  const body = entry.body;
  const id = entry.result?.id;
  const place = places.find((p) => p.id === body.site_id);
  const where = place ? placeName(place) : body.position ? `${body.position.lat.toFixed(4)}, ${body.position.lon.toFixed(4)}` : "";
  const item = h("li.report-item.state-" + entry.state, { dataset: { key: entry.key, incident: id || "" } },
    h("div.report-line", {},
      h("span.chip.triage-" + body.triage, {}, colourName(body.triage)),
      h("strong", {}, word("category", body.category)),
      statusOf(entry)),
    h("div.meta", {}, [dateTime(entry.created_at), where, id ? `#${id}` : null].filter(Boolean).join(" · ")));
  if (entry.state === "refused") {
    item.append(h("button.link-button", { type: "button", on: { click: () => outbox.discard(entry.key) } }, t("discard")));
  }
  if (id) {
    const followUps = entries.filter((e) => e.incident_id === id);
    const isOpen = open.has(id);
    item.append(h("button.secondary.follow-toggle", {
      type: "button", "aria-expanded": String(isOpen),
      on: { click: () => toggle(id) },
    }, isOpen ? t("hide") : t("follow_up")));
    if (isOpen) item.append(followPanel(id, followUps));
  }
  return item;
}

async function toggle(id) {
  if (open.has(id)) {
    open.delete(id);
  } else {
    open.add(id);
    refreshDetail(id);
  }
  render();
}

async function refreshDetail(id) {
  try {
    details.set(id, await api(`/api/incidents/${encodeURIComponent(id)}`));
  } catch {
    if (!details.has(id)) details.set(id, { failed: true });
  }
  render();
}

function followPanel(id, followUps) {
  const detail = details.get(id);
  const panel = h("div.follow.stack-tight", { dataset: { incident: id } });
  if (!detail) panel.append(h("p.hint", {}, t("loading")));
  else if (detail.failed) panel.append(h("p.hint", {}, t("load_failed")));
  else panel.append(...milestoneControls(id, detail));
  const note = h("textarea", { rows: 2, maxlength: limit("note_length"), placeholder: t("note_hint"), "aria-label": t("add_note"),
    dataset: { note: id }, on: { input: () => drafts.set(id, note.value) } });
  note.value = drafts.get(id) || "";
  panel.append(
    h("h3", {}, t("add_note")), note,
    h("button.secondary.big", { type: "button", on: { click: () => {
      const text = note.value.trim();
      if (!text) return;
      drafts.delete(id);
      outbox.add("note", `/api/incidents/${encodeURIComponent(id)}/notes`, { text }, { incident_id: id });
    } } }, t("send_note")));
  if (followUps.length) {
    panel.append(h("ul.follow-log", {}, followUps.map((e) => h("li", {},
      `${clock(e.created_at)} · `,
      e.kind === "note" ? `“${e.body.text}”` : `${e.body.resource_id}: ${word("milestone", e.body.milestone)}`,
      " ", statusOf(e)))));
  }
  return panel;
}

function milestoneControls(id, detail) {
  const parts = [h("h3", {}, t("add_milestone"))];
  // A lifeguard logs milestones for the unit they crew only; an operator for any (the server checks too).
  const dispatched = (detail.assignments || []).filter((a) => !a.released);
  // A lifeguard logs milestones for the unit they crew only; an operator for any (the server checks too).
  const active = dispatched.filter((a) => me.role !== "lifeguard" || a.resource_id === me.resource_id);
  if (detail.closed_at || !active.length) {
    parts.push(h("p.hint", {}, t(dispatched.length && !detail.closed_at ? "not_your_unit" : "no_assignment")));
    return parts;
  }
  for (const assignment of active) {
    const pending = outbox.entries().filter((e) => e.incident_id === id && e.kind === "milestone"
      && e.body.resource_id === assignment.resource_id && e.state !== "refused").map((e) => e.body.milestone);
    const done = new Set([...Object.keys(assignment.milestones || {}), ...pending]);
    const reached = Math.max(-1, ...[...done].map((m) => RECORDABLE.indexOf(m)));
    const next = RECORDABLE.slice(reached + 1).filter((m) => m !== "cancelled").slice(0, 3);
    parts.push(h("div.assignment", {},
      h("strong", {}, `${assignment.resource_id} · ${word("milestone", assignment.latest_milestone || "resource_notified")}`),
      h("div.milestone-buttons", {}, next.map((m) => h("button.primary", {
        type: "button", dataset: { milestone: m },
        on: { click: () => recordMilestone(id, assignment.resource_id, m) },
      }, word("milestone", m))))));
  }
  return parts;
}

function recordMilestone(id, resourceId, milestone) {
  const body = { resource_id: resourceId, milestone };
  // Pressed without signal: say when it happened, so the time is not the moment the signal came back.
  if (!navigator.onLine) body.happened_at = new Date(serverNow()).toISOString();
  outbox.add("milestone", `/api/incidents/${encodeURIComponent(id)}/milestones`, body, { incident_id: id });
}
