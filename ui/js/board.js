// The command centre's board: live incidents by colour and age, the map, the fleet, and per incident the
// actions an operator takes (dispatch, milestones, referral, close) and corrections (stand a unit down, move it
// to another incident, give the referral another carrier or destination). Officials and admins see it read-only.
import { api, ApiError, newKey, serverNow } from "./api.js";
import { byId, h } from "./dom.js";
import { applyTranslations, colourName, lang, t, word } from "./i18n.js";
import { languageName, loadLanguages } from "./languages.js";
import { LiveBoard } from "./live.js";
import { CoastMap } from "./map.js";
import { isFacility, loadPlaces, placeName } from "./places.js";
import { renderHeader, requireSignIn, signInUrl } from "./session.js";
import { beep, unlockOnGesture } from "./sound.js";
import { loadVocabulary, vocabulary } from "./vocabulary.js";
import { clock, date, dateTime, duration } from "./time.js";

const LEVEL_RANK = { none: 0, met: 0, on_track: 0, at_risk: 1, breached: 2, missed: 2 };
// How often the board asks whether the read models behind it keep up with the log (GET /readyz).
const FRESHNESS_CHECK_MS = 10000;
// The fleet's seasons are asked again when the next one changes, and at least this often (a laptop that slept).
const SERVICE_RECHECK_MAX_S = 6 * 3600;
// How often the vessels near the selected incident at sea are asked for again (the AIS picture moves).
const VESSELS_CHECK_MS = 15000;

const me = await requireSignIn(["operator", "official", "admin"]);
await loadVocabulary();
// The steps of a response in order, to offer the next ones (a cancel is not one of them).
const STEPS = vocabulary("recordable_milestone").filter((m) => m !== "cancelled");
const canAct = me.role === "operator";
renderHeader(me);
unlockOnGesture(byId("sound"));

let places = [];
try {
  places = await loadPlaces();
} catch {
  places = [];
}
const placeById = new Map(places.map((p) => [p.id, p]));
let views = { board_incidents: new Map(), resources_view: new Map(), referrals_view: new Map() };
let selectedId = null;
let lastStatus = "connecting";
let lastFreshness = null; // the projector part of the last /readyz answer
let mapMode = "offline";
let recommendationTimer = null;
let alertsShown = "";
let snapshotSeen = false;
const fresh = new Set(); // incidents that arrived while watching: highlighted once
let known = new Set(); // incidents already on the board
const recommendations = new Map(); // incident id -> answer of GET /recommendations
const results = new Map(); // incident id -> {text, error} of the last action
const timelines = new Map(); // incident id -> GET /api/incidents/{id}
const alertLevels = new Map(); // referral id -> the highest level already announced
const alerts = new Map(); // referral id -> {level, incidentId, facilityId} not yet acknowledged
const service = new Map(); // resource id -> whether its season has it serving now (GET /api/resources)
let serviceTimer = null;
const vessels = new Map(); // incident id -> answer of GET /vessels (vessels of opportunity)
const beaconsRung = new Set(); // incidents whose beacon has already sounded

const map = new CoastMap(byId("map"), {
  onSelect: select,
  onMode: (mode) => {
    mapMode = mode;
    showMapMode();
  },
});
map.showFacilities(places);

const live = new LiveBoard({
  onChange: (next, changed) => {
    views = next;
    let selectedChanged = false;
    for (const key of changed) {
      const [view, id] = key.split(":");
      if (view === "board_incidents" && snapshotSeen && next.board_incidents.has(id) && !known.has(id)) fresh.add(id);
      if (view === "resources_view" && selectedId) scheduleRecommendations();
      if (view === "board_incidents" && id === selectedId) selectedChanged = true;
      if (view === "resources_view" && !service.has(id)) scheduleService(); // a unit registered meanwhile
    }
    if (selectedChanged && timelines.has(selectedId)) loadTimeline(selectedId); // an open timeline follows live
    // A new red or yellow incident while watching: one short tone, the card flashes once.
    if ([...fresh].some((id) => (next.board_incidents.get(id)?.triage_rank ?? 9) <= 1)) beep({ count: 1, ms: 120, hz: 1200 });
    known = new Set(next.board_incidents.keys());
    snapshotSeen = true;
    if (selectedId && !views.board_incidents.has(selectedId)) selectedId = null;
    render();
  },
  onStatus: showConnection,
  onDenied: () => location.replace(signInUrl()),
});
live.connect();
loadService();
loadLanguages().then(render, () => {});
setInterval(tick, 1000);
setInterval(() => selectedId && vessels.get(selectedId)?.at_sea && loadVessels(selectedId), VESSELS_CHECK_MS);
checkFreshness();
setInterval(checkFreshness, FRESHNESS_CHECK_MS);
document.body.dataset.ready = "true";
window.addEventListener("langchange", () => {
  render();
  showConnection(lastStatus);
  showMapMode();
  showFreshness(lastFreshness);
});

function showMapMode() {
  byId("map-mode").textContent = mapMode === "tiles" ? "" : t("map_offline");
}

// --- connection ---------------------------------------------------------------------------------------

function showConnection(status) {
  lastStatus = status;
  const pill = byId("connection");
  const text = { live: t("live"), connecting: t("connecting"), reconnecting: t("reconnecting"), offline: t("offline") };
  pill.textContent = text[status];
  pill.className = "pill " + (status === "live" ? "ok" : status === "offline" ? "bad" : "warn");
  pill.dataset.status = status;
  const banner = byId("offline-banner");
  banner.hidden = status === "live" || status === "connecting";
  banner.textContent = t("board_offline");
}

// --- freshness: a socket can be live while the projector behind it is stalled ----------------------------

async function checkFreshness() {
  try {
    const ready = await api("/readyz", { timeoutMs: 5000 });
    showFreshness(ready.projector ?? null);
  } catch {
    // The API or the network is away: the connection pill and the offline banner say so already.
  }
}

function showFreshness(projector) {
  lastFreshness = projector;
  const banner = byId("stale-banner");
  const stale = projector && projector.status !== "ok";
  banner.hidden = !stale;
  banner.dataset.status = projector?.status ?? "unknown";
  if (!stale) return;
  const vars = { duration: duration(projector.lag_seconds), n: projector.lag_events };
  banner.textContent = t(projector.status === "stalled" ? "board_stalled" : "board_stale", vars);
}

// --- reading the views --------------------------------------------------------------------------------

function openIncidents() {
  return [...views.board_incidents.values()]
    .filter((row) => row.status === "open")
    .sort((a, b) => a.triage_rank - b.triage_rank || Date.parse(a.reported_at) - Date.parse(b.reported_at));
}

function resourceName(id) {
  return views.resources_view.get(id)?.name || id;
}

/** Why an available unit still cannot go: out of its season (by the server's clock), else null. */
function seasonOf(row) {
  const found = service.get(row.resource_id);
  return found && !found.in_service ? found : null;
}

/** A resource row as the map shows it: an available unit out of season is shown as not available. */
function onMap(row) {
  const season = seasonOf(row);
  return season && row.status === "available"
    ? { ...row, shown_status: "out_of_season", shown_status_text: t("out_of_season") } : row;
}

function facilityName(id) {
  return placeName(placeById.get(id)) || id;
}

function placeOf(row) {
  const site = placeById.get(row.site_id);
  return site ? placeName(site) : `${row.lat.toFixed(4)}, ${row.lon.toFixed(4)}`;
}

/** The incident's live referral: the tracker's row when there is one, else the board row's copy. */
function referralOf(row) {
  const latest = row.referral;
  if (!latest) return null;
  return views.referrals_view.get(latest.referral_id) || latest;
}

function referralLevel(ref, now = serverNow()) {
  if (!ref) return "none";
  if (ref.arrived_at) return ref.status === "missed" ? "missed" : "met";
  if (!ref.deadline_at) return "none";
  if (ref.status === "breached" || now >= Date.parse(ref.deadline_at)) return "breached";
  if (ref.status === "at_risk" || (ref.warning_at && now >= Date.parse(ref.warning_at))) return "at_risk";
  return "on_track";
}

function countdown(ref, big = false) {
  const el = h("span.countdown" + (big ? ".big" : ""), { dataset: { referral: ref.referral_id } });
  paintCountdown(el, ref);
  return el;
}

function paintCountdown(el, ref) {
  const level = referralLevel(ref);
  el.className = `countdown ${level}${el.classList.contains("big") ? " big" : ""}`;
  el.dataset.level = level;
  if (ref.arrived_at) {
    el.textContent = `${t("arrived")} ${clock(ref.arrived_at)} · ${word("referral_status", level)}`;
    return;
  }
  const left = Math.round((Date.parse(ref.deadline_at) - serverNow()) / 1000);
  el.textContent = left >= 0 ? `${t("time_left")} ${duration(left)}` : `${t("overdue")} ${duration(-left)}`;
  el.title = `${t("deadline")} ${clock(ref.deadline_at)} · ${word("referral_status", level)}`;
}

// --- render -------------------------------------------------------------------------------------------

function render() {
  const rows = openIncidents();
  renderIncidents(rows);
  renderResources();
  renderDetail();
  map.showIncidents(rows, selectedId);
  map.showResources([...views.resources_view.values()].map(onMap));
  map.showVessels(selectedId ? vessels.get(selectedId)?.vessels ?? [] : []);
  checkAlerts();
  applyTranslations(document.querySelector("main"));
}

function renderIncidents(rows) {
  byId("incident-count").textContent = String(rows.length);
  const list = byId("incidents");
  if (!rows.length) {
    list.replaceChildren(h("li.hint", {}, t("no_incidents")));
    return;
  }
  list.replaceChildren(...rows.map((row) => {
    const code = row.triage_scene || row.triage_dispatch;
    const ref = referralOf(row);
    const active = (row.assignments || []).filter((a) => !a.released);
    const button = h(`button.incident.triage-${code}${fresh.has(row.incident_id) ? ".fresh" : ""}`, {
      type: "button", "aria-pressed": String(row.incident_id === selectedId),
      dataset: { incident: row.incident_id, triage: code },
      on: { click: () => select(row.incident_id) },
    },
    h("div.incident-top", {},
      h(`span.chip.triage-${code}`, {}, colourName(code)),
      h("strong", {}, word("category", row.category)),
      h("span.age", { dataset: { since: row.reported_at } }, duration((serverNow() - Date.parse(row.reported_at)) / 1000))),
    h("div.meta", {}, `${placeOf(row)} · ${word("zone", row.zone)} · ${t("patients_n", { n: row.patients })}`),
    active.length ? h("div.meta", {}, active.map((a) => `${a.resource_id}: ${word("milestone", a.milestone)}`).join(" · ")) : null,
    ref && ref.deadline_at ? h("div", {}, countdown(ref), " ", facilityName(ref.facility_id)) : null);
    return h("li", {}, button);
  }));
  fresh.clear();
}

function renderResources() {
  const rows = [...views.resources_view.values()].sort((a, b) =>
    a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  const ready = rows.filter((r) => r.status === "available" && !seasonOf(r));
  byId("resource-count").textContent = String(ready.length) + "/" + rows.length;
  byId("resources").replaceChildren(...rows.map((r) => h("tr", {
    dataset: { resource: r.resource_id, status: r.status, service: seasonOf(r) ? "out_of_season" : "in_service",
      stale: String(Boolean(r.position_stale)) } },
    h("td", {}, h("strong", {}, r.resource_id), " ", h("span.sub", {}, `${r.name} · ${word("kind", r.kind)}`),
      positionNote(r)),
    resourceStatus(r),
    h("td", {}, r.incident_id ? h("button.link-button", { type: "button", on: { click: () => select(r.incident_id) } },
      `#${r.incident_id}${r.milestone ? " · " + word("milestone", r.milestone) : ""}`) : ""),
    h("td", {}, clock(r.status_since)),
    h("td", {}, canAct && r.status !== "assigned" ? h("button.secondary.small", {
      type: "button",
      on: { click: (event) => setService(r, event.currentTarget) },
    }, r.status === "available" ? t("set_out_of_service") : t("set_available")) : ""))));
}

function resourceStatus(row) {
  const season = seasonOf(row);
  if (!season) return h(`td.rstatus.${row.status}`, {}, word("resource_status", row.status));
  // Out of season: it is not there to send, whatever its status; it serves again on its own on the day shown.
  const status = row.status === "available" ? t("out_of_season") : word("resource_status", row.status);
  const shown = row.status === "available" ? "out_of_season" : row.status;
  return h(`td.rstatus.${shown}`, { dataset: { reason: season.service_reason } },
    status, h("span.sub", {}, ` · ${t("back_on", { date: date(season.returns_at) })}`));
}

function select(id) {
  selectedId = id;
  render();
  map.focus(views.board_incidents.get(id));
  loadRecommendations(id);
  loadVessels(id);
  if (window.matchMedia("(max-width: 1099px)").matches) byId("detail").scrollIntoView({ behavior: "smooth" });
}

function renderDetail() {
  const panel = byId("detail");
  const row = selectedId && views.board_incidents.get(selectedId);
  if (!row) {
    panel.replaceChildren(h("p.hint", {}, t("select_incident")));
    return;
  }
  const code = row.triage_scene || row.triage_dispatch;
  const parts = [
    h("section", { dataset: { incident: row.incident_id } },
      h("div.row", {},
        h(`span.chip.triage-${code}`, {}, colourName(code)),
        h("h3", {}, `${word("category", row.category)} · #${row.incident_id}`)),
      h("p.hint", {}, `${word("triage", code, "th")} / ${word("triage", code, "en")}`),
      h("dl.facts", {},
        fact(t("source"), word("source", row.source)),
        fact(t("place"), `${placeOf(row)} (${word("zone", row.zone)})`),
        fact(t("reported_at"), `${dateTime(row.reported_at)} · ${t("age")} `, h("span.age", { dataset: { since: row.reported_at } })),
        fact(t("patients"), String(row.patients)),
        fact(t("patient_language"), languageName(row.language)),
        fact(t("reporter"), row.reporter),
        row.description ? fact(t("description"), row.description) : null,
        fact(t("dispatch_code"), colourName(row.triage_dispatch) + (row.triage_scene ? ` · ${t("scene_code")}: ${colourName(row.triage_scene)}` : "")))),
  ];
  if (!canAct) parts.push(h("p.readonly-note", {}, `(${t("read_only")})`));
  if (row.beacon) parts.push(beaconSection(row));
  if (canAct) parts.push(triageSection(row));
  parts.push(assignedSection(row));
  if (canAct) parts.push(recommendSection(row));
  parts.push(vesselsSection(row));
  parts.push(referralSection(row));
  if (canAct) parts.push(closeSection(row));
  parts.push(timelineSection(row));
  const result = results.get(row.incident_id);
  if (result) parts.splice(1, 0, h("p.result" + (result.error ? ".error" : ""), { role: "status", id: "action-result" }, result.text()));
  const scroll = panel.scrollTop;
  const kept = panel.dataset.incident === row.incident_id ? formState(panel) : null;
  panel.replaceChildren(...parts.filter(Boolean));
  panel.dataset.incident = row.incident_id;
  if (kept) restoreFormState(panel, kept);
  panel.scrollTop = scroll;
  tick();
}

/** What the operator has chosen but not yet sent survives the live updates that redraw the panel. */
function formState(panel) {
  const state = {};
  for (const el of panel.querySelectorAll("select[name], input[type=radio][name]:checked")) state[el.name] = el.value;
  return state;
}

function restoreFormState(panel, state) {
  for (const [name, value] of Object.entries(state)) {
    for (const el of panel.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
      if (el.type === "radio") el.checked = el.value === value;
      else if ([...el.options].some((o) => o.value === value)) el.value = value;
    }
  }
}

function fact(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function triageSection(row) {
  const stage = h("select", { name: "stage", "aria-label": t("triage") },
    h("option", { value: "dispatch" }, t("dispatch_code")), h("option", { value: "scene" }, t("scene_code")));
  const code = h("select", { name: "code", "aria-label": t("triage") },
    vocabulary("triage").map((c) => h("option", { value: c }, `${colourName(c)} · ${word("triage", c)}`)));
  code.value = row.triage_scene || row.triage_dispatch;
  return h("section", {}, h("h3", {}, t("triage")), h("div.row", {}, stage, code,
    h("button.secondary", { type: "button", on: { click: (e) => act(row.incident_id, "triage",
      { stage: stage.value, code: code.value }, e.currentTarget, () => t("done")) } }, t("set_triage"))));
}

function assignedSection(row) {
  const active = (row.assignments || []).filter((a) => !a.released);
  const ended = (row.assignments || []).filter((a) => a.ended_by);
  return h("section", { dataset: { section: "assigned" } }, h("h3", {}, t("assigned")),
    active.length ? h("ul.options", {}, active.map((a) => {
      const reached = STEPS.indexOf(a.milestone);
      const next = STEPS.slice(reached + 1, reached + 3);
      return h("li.option", { dataset: { resource: a.resource_id } },
        h("div.grow", {}, h("strong", {}, `${a.resource_id}`), " ", h("span.sub", {}, resourceName(a.resource_id)),
          h("div.sub", {}, `${word("milestone", a.milestone)} ${clock(a.milestone_at)}`,
            a.from_incident_id ? ` · ${t("reassigned_from", { id: a.from_incident_id })}` : "")),
        canAct ? next.map((m) => h("button.primary", {
          type: "button", dataset: { milestone: m },
          on: { click: (e) => act(row.incident_id, "milestones", { resource_id: a.resource_id, milestone: m },
            e.currentTarget, () => `${a.resource_id}: ${word("milestone", m)}`) },
        }, word("milestone", m))) : null,
        canAct ? corrections(row, a) : null);
    })) : h("p.hint", {}, "—"),
    ended.length ? h("p.sub", { dataset: { section: "released" } }, `${t("released_units")}: `,
      ended.map((a) => `${a.resource_id} · ${t("ended_" + a.ended_by)}`).join(", ")) : null);
}

/** A unit's corrections: stand it down, or move it to another open incident; each asks once before it acts. */
function corrections(row, assignment) {
  const unit = assignment.resource_id;
  const others = openIncidents().filter((other) => other.incident_id !== row.incident_id);
  const target = h("select", { name: `reassign-${unit}`, "aria-label": t("reassign_to") },
    others.length ? others.map((other) => h("option", { value: other.incident_id },
      `#${other.incident_id} · ${colourName(other.triage_scene || other.triage_dispatch)} · ${word("category", other.category)}`))
      : h("option", { value: "" }, t("no_other_incident")));
  return h("div.row.corrections", {},
    h("button.secondary.small", { type: "button", dataset: { standDown: unit }, on: { click: (e) => {
      if (!window.confirm(t("confirm_stand_down", { unit, id: row.incident_id }))) return;
      act(row.incident_id, "stand-down", { resource_id: unit }, e.currentTarget, () => t("stood_down", { unit }));
    } } }, t("stand_down")),
    target,
    h("button.secondary.small", { type: "button", disabled: !others.length, dataset: { reassign: unit }, on: { click: (e) => {
      const to = target.value;
      if (!to || !window.confirm(t("confirm_reassign", { unit, from: row.incident_id, to }))) return;
      act(row.incident_id, "reassign", { resource_id: unit, to_incident_id: to }, e.currentTarget,
        () => t("reassigned", { unit, to }));
    } } }, t("reassign_to")));
}

function recommendSection(row) {
  const answer = recommendations.get(row.incident_id);
  const section = h("section", { dataset: { section: "recommended" } }, h("h3", {}, t("recommended")));
  if (!answer) {
    section.append(h("p.hint", {}, t("loading")));
    return section;
  }
  if (answer.failed) {
    section.append(h("p.hint", {}, t("load_failed")));
    return section;
  }
  const taken = new Set((row.assignments || []).filter((a) => !a.released).map((a) => a.resource_id));
  for (const [kind, limit] of [["boats", 3], ["aeds", 2], ["teams", 2]]) {
    const options = (answer.resources[kind] || []).filter((o) => !taken.has(o.resource_id)).slice(0, limit);
    section.append(h("h4.sub", {}, t(kind)));
    section.append(options.length ? h("ul.options", {}, options.map((o, index) => h(`li.option${index === 0 ? ".first" : ""}`,
      { dataset: { resource: o.resource_id, kind } },
      h("div.grow", {}, h("strong", {}, o.name), index === 0 ? h("span.tag", {}, t("recommended_tag")) : null,
        o.position_stale ? h("span.tag.stale", { dataset: { stale: "true" } }, t("stale")) : null,
        o.dead_reckoned ? h("span.tag", { title: t("dead_reckoned_hint") }, t("dead_reckoned")) : null,
        h("div.sub", {}, [o.resource_id, o.eta_minutes != null ? t("eta_min", { m: Math.round(o.eta_minutes) }) : null,
          t("km", { d: o.distance_km.toFixed(1) }), sourceText(o)].filter(Boolean).join(" · "))),
      h("button.primary", { type: "button", dataset: { dispatch: o.resource_id }, on: { click: (e) =>
        act(row.incident_id, "dispatch", { resource_id: o.resource_id }, e.currentTarget, () => `${t("dispatch")}: ${o.name}`) } },
      t("dispatch"))))) : h("p.hint", {}, t("none_available")));
  }
  return section;
}

function referralSection(row) {
  const ref = referralOf(row);
  const section = h("section", { dataset: { section: "referral" } }, h("h3", {}, t("referral")));
  if (ref) {
    const level = referralLevel(ref);
    section.append(
      h("div.row", {}, ref.deadline_at ? countdown(ref, true) : h("strong", {}, t("no_guarantee")),
        h("strong", {}, word("referral_status", level === "none" ? ref.status : level))),
      h("dl.facts", {},
        fact(t("facility"), facilityName(ref.facility_id)),
        // The receiving hospital needs to know whom to have ready to interpret.
        fact(t("patient_language"), languageName(row.language)),
        ref.resource_id ? fact(t("carried_by"), `${ref.resource_id} · ${resourceName(ref.resource_id)}`) : null,
        ref.deadline_at ? fact(t("deadline"), `${clock(ref.deadline_at)} (${t("guarantee", { m: ref.guarantee_minutes ?? "" })})`) : null,
        ref.predicted_arrival_at ? fact(t("predicted_arrival"), clock(ref.predicted_arrival_at)) : null,
        ref.advice ? fact("", ref.advice) : null));
    if (canAct && !ref.arrived_at) section.append(referralCorrections(row, ref));
    return section;
  }
  if (!canAct) {
    section.append(h("p.hint", {}, "—"));
    return section;
  }
  const answer = recommendations.get(row.incident_id);
  if (!answer || answer.failed) {
    section.append(h("p.hint", {}, answer ? t("load_failed") : t("loading")));
    return section;
  }
  const facilities = answer.facilities.slice(0, 5);
  const group = `facility-${row.incident_id}`;
  const choices = h("ul.options", {}, facilities.map((f, index) => h(`li.option${index === 0 ? ".first" : ""}`, { dataset: { facility: f.facility_id } },
    h("input", { type: "radio", name: group, value: f.facility_id, checked: index === 0, id: `${group}-${index}` }),
    h("label.grow", { for: `${group}-${index}` },
      h("strong", {}, lang() === "th" ? f.name_th || f.name_en : f.name_en),
      index === 0 ? h("span.tag", {}, t("recommended_tag")) : null,
      h("div.sub", {}, `${word("kind", f.kind)} · L${f.level_of_care ?? "?"} · ${t("eta_min", { m: Math.round(f.eta_minutes) })}`)))));
  const active = (row.assignments || []).filter((a) => !a.released);
  const carrier = h("select", { name: "carrier", "aria-label": t("carried_by") },
    h("option", { value: "" }, t("no_resource")),
    active.map((a) => h("option", { value: a.resource_id }, `${a.resource_id} · ${resourceName(a.resource_id)}`)));
  const boat = active.find((a) => a.kind === "boat");
  if (boat) carrier.value = boat.resource_id;
  section.append(h("p.sub", {}, t("facility")), choices,
    h("div.row", {}, h("label.sub", {}, t("carried_by")), carrier),
    h("button.primary.big", { type: "button", dataset: { action: "referral" }, on: { click: (e) => {
      const chosen = section.querySelector(`input[name="${group}"]:checked`)?.value || facilities[0]?.facility_id || "";
      const body = { facility_id: chosen };
      if (carrier.value) body.resource_id = carrier.value;
      act(row.incident_id, "referral", body, e.currentTarget, null);
    } } }, t("request_referral")));
  return section;
}

/** Another carrier (a unit on the incident) or destination for the open referral; its clock keeps running. */
function referralCorrections(row, ref) {
  const carriers = (row.assignments || []).filter((a) => !a.released && a.kind !== "aed" && a.resource_id !== ref.resource_id);
  const carrier = h("select", { name: "new-carrier", "aria-label": t("change_carrier") },
    carriers.map((a) => h("option", { value: a.resource_id }, `${a.resource_id} · ${resourceName(a.resource_id)}`)));
  const destination = h("select", { name: "new-destination", "aria-label": t("change_destination") },
    facilityChoices(row).filter((id) => id !== ref.facility_id).map((id) => h("option", { value: id }, facilityName(id))));
  const body = (fields) => ({ referral_id: ref.referral_id, ...fields });
  return h("div", { dataset: { section: "referral-corrections" } },
    h("div.row", {}, carrier, h("button.secondary.small", { type: "button", disabled: !carriers.length,
      dataset: { action: "change-carrier" }, on: { click: (e) => {
        const unit = carrier.value;
        if (!unit || !window.confirm(t("confirm_change_carrier", { unit }))) return;
        act(row.incident_id, "referral/carrier", body({ resource_id: unit }), e.currentTarget,
          () => t("carrier_changed", { unit }));
      } } }, t("change_carrier"))),
    h("div.row", {}, destination, h("button.secondary.small", { type: "button", dataset: { action: "change-destination" },
      on: { click: (e) => {
        const facility = destination.value;
        if (!facility || !window.confirm(t("confirm_change_destination", { facility: facilityName(facility) }))) return;
        act(row.incident_id, "referral/destination", body({ facility_id: facility }), e.currentTarget,
          () => t("destination_changed", { facility: facilityName(facility) }));
      } } }, t("change_destination"))));
}

/** Facilities to choose from: the recommendation's order (best first) when it has loaded, then every other one. */
function facilityChoices(row) {
  const ranked = (recommendations.get(row.incident_id)?.facilities || []).map((f) => f.facility_id);
  const rest = places.filter(isFacility).map((p) => p.id).filter((id) => !ranked.includes(id));
  return [...ranked, ...rest];
}

function closeSection(row) {
  const outcome = h("select", { name: "outcome", "aria-label": t("outcome") },
    vocabulary("outcome").map((o) => h("option", { value: o }, word("outcome", o))));
  return h("section", {}, h("h3", {}, t("close_incident")), h("div.row", {}, outcome,
    h("button.danger", { type: "button", on: { click: (e) => {
      // Closing releases every unit on the incident: one deliberate question first.
      if (!window.confirm(t("confirm_close", { id: row.incident_id, outcome: word("outcome", outcome.value) }))) return;
      act(row.incident_id, "close", { outcome: outcome.value }, e.currentTarget, () => t("done"));
    } } }, t("close"))));
}

function timelineSection(row) {
  const detail = timelines.get(row.incident_id);
  const box = h("details", { open: timelines.has(row.incident_id) },
    h("summary", {}, h("strong", {}, t("timeline"))),
    detail ? h("ol.timeline", {}, detail.timeline.map((e) => h("li", { dataset: { type: e.type } },
      `${dateTime(e.recorded_at)} · ${word("event", e.type)} · ${e.actor_id}`,
      e.data.milestone ? ` · ${e.data.resource_id}: ${word("milestone", e.data.milestone)}` : "",
      correctionText(e),
      e.data.text ? ` · “${e.data.text}”` : ""))) : h("p.hint", {}, t("loading")));
  box.addEventListener("toggle", () => {
    if (box.open && !timelines.has(row.incident_id)) loadTimeline(row.incident_id);
  });
  return h("section", { dataset: { section: "timeline" } }, box);
}

/** What a correction in the timeline changed: which unit, from what to what. */
function correctionText(e) {
  const d = e.data;
  switch (e.type) {
    case "ResourceStoodDown": return ` · ${d.resource_id}${d.reason ? ` (${d.reason})` : ""}`;
    case "ResourceReassigned": return ` · ${d.resource_id} → #${d.to_incident_id}`;
    case "ResourceDispatched": return ` · ${d.resource_id}${d.from_incident_id ? ` · ${t("reassigned_from", { id: d.from_incident_id })}` : ""}`;
    case "ReferralCarrierChanged": return ` · ${d.previous_resource_id ?? "—"} → ${d.resource_id}`;
    case "ReferralDestinationChanged": return ` · ${facilityName(d.previous_facility_id)} → ${facilityName(d.facility_id)}`;
    default: return "";
  }
}

async function loadTimeline(id) {
  try {
    timelines.set(id, await api(`/api/incidents/${encodeURIComponent(id)}`));
  } catch {
    return;
  }
  if (id === selectedId) renderDetail();
}

// --- actions ------------------------------------------------------------------------------------------

function scheduleRecommendations() {
  clearTimeout(recommendationTimer);
  recommendationTimer = setTimeout(() => selectedId && loadRecommendations(selectedId), 400);
}

async function loadRecommendations(id) {
  if (!canAct) return;
  try {
    recommendations.set(id, await api(`/api/incidents/${encodeURIComponent(id)}/recommendations`));
  } catch {
    if (!recommendations.has(id)) recommendations.set(id, { failed: true });
  }
  if (id === selectedId) renderDetail();
}

async function act(incidentId, action, body, button, doneText) {
  button.disabled = true;
  try {
    const answer = await api(`/api/incidents/${encodeURIComponent(incidentId)}/${action}`, { method: "POST", body, key: newKey() });
    results.set(incidentId, { text: action === "referral" ? () => referralAnswer(answer) : doneText });
    // An open timeline shows what was just done; a closed one loads afresh when opened.
    if (timelines.has(incidentId)) loadTimeline(incidentId);
    loadRecommendations(incidentId);
  } catch (error) {
    const failure = error instanceof ApiError ? error : null;
    const text = () => (failure?.status === 0 ? null : failure ? failure.fullText : error.message);
    results.set(incidentId, { text: () => `${t("error")}: ${text() ?? t("offline")}`, error: true });
  }
  renderDetail();
}

/** The referral's answer states its deadline, in the language on screen now. */
function referralAnswer(answer) {
  const facility = facilityName(answer.facility_id);
  return answer.deadline_at
    ? t("referral_requested", { facility, time: clock(answer.deadline_at), m: answer.guarantee_minutes })
    : t("referral_requested_nodeadline", { facility });
}

async function setService(resource, button) {
  button.disabled = true;
  const status = resource.status === "available" ? "out_of_service" : "available";
  try {
    await api(`/api/resources/${encodeURIComponent(resource.resource_id)}`, { method: "PATCH", body: { status }, key: newKey() });
  } catch (error) {
    button.disabled = false;
    button.title = error instanceof ApiError ? error.fullText : error.message;
  }
}

/** Which units serve now by their season, and when that next changes: asked again then, so a unit comes back
 * into season on screen on the day, without anyone touching it. */
async function loadService() {
  clearTimeout(serviceTimer);
  let next = SERVICE_RECHECK_MAX_S;
  try {
    const answer = await api("/api/resources");
    service.clear();
    for (const row of answer.resources) {
      service.set(row.resource_id, { in_service: row.in_service, service_reason: row.service_reason,
        returns_at: row.returns_at });
      if (row.service_changes_in_seconds != null) next = Math.min(next, row.service_changes_in_seconds);
    }
    render();
  } catch {
    next = 60; // not reached this time
  }
  serviceTimer = setTimeout(loadService, next * 1000);
}

function scheduleService() {
  clearTimeout(serviceTimer);
  serviceTimer = setTimeout(loadService, 400);
}

// --- every second: ages, countdowns, alerts ----------------------------------------------------------

function tick() {
  const now = serverNow();
  for (const el of document.querySelectorAll(".age[data-since]")) {
    el.textContent = duration((now - Date.parse(el.dataset.since)) / 1000);
  }
  for (const el of document.querySelectorAll(".countdown[data-referral]")) {
    const ref = views.referrals_view.get(el.dataset.referral)
      || openIncidents().map((r) => r.referral).find((r) => r?.referral_id === el.dataset.referral);
    if (ref) paintCountdown(el, ref);
  }
  checkAlerts();
}

/** A referral that turns at-risk or breached rings and shows a banner until someone acknowledges it. */
function checkAlerts() {
  let ring = 0;
  const openIds = new Set(openIncidents().map((r) => r.incident_id));
  for (const row of openIncidents()) {
    const ref = referralOf(row);
    if (!ref) continue;
    const level = referralLevel(ref);
    const seen = alertLevels.get(ref.referral_id) ?? 0;
    if (LEVEL_RANK[level] > seen && !ref.arrived_at) {
      alertLevels.set(ref.referral_id, LEVEL_RANK[level]);
      alerts.set(ref.referral_id, { level, incidentId: row.incident_id, facilityId: ref.facility_id });
      ring = Math.max(ring, LEVEL_RANK[level]);
    }
    if (ref.arrived_at) alerts.delete(ref.referral_id);
  }
  for (const [id, alert] of alerts) if (!openIds.has(alert.incidentId)) alerts.delete(id);
  // A distress beacon sounds once when it appears, loud and long: someone may be in the water.
  for (const row of openIncidents().filter((r) => r.beacon?.state === "detected" && !beaconsRung.has(r.incident_id))) {
    beaconsRung.add(row.incident_id);
    ring = Math.max(ring, 3);
  }
  if (ring === 3) beep({ count: 5, ms: 250, hz: 1400 });
  if (ring === 1) beep({ count: 2, hz: 880 });
  if (ring === 2) beep({ count: 3, ms: 300, hz: 660 });
  renderAlerts();
}

function renderAlerts() {
  const beacons = openIncidents().filter((row) => row.beacon?.state === "detected");
  const signature = JSON.stringify([lang(), [...alerts.entries()], beacons.map((row) => row.incident_id)]);
  if (signature === alertsShown) return;
  alertsShown = signature;
  byId("alerts").replaceChildren(...beacons.map(beaconAlert), ...[...alerts.entries()].map(([id, alert]) => h(`div.alert.${alert.level}`, { dataset: { referral: id, level: alert.level } },
    h("span", {}, "⚠ ",
      t(alert.level === "breached" ? "alert_breached" : "alert_at_risk", { id: `#${alert.incidentId}`, facility: facilityName(alert.facilityId) })),
    h("button", { type: "button", on: { click: () => select(alert.incidentId) } }, t("incident")),
    h("button", { type: "button", on: { click: () => { alerts.delete(id); renderAlerts(); } } }, t("acknowledge")))));
}

// --- the live sea picture: beacons, vessels of opportunity, where positions came from -------------------

function beaconName(beacon) {
  return word("beacon", beacon.beacon);
}

function beaconAlert(row) {
  return h("div.alert.breached.beacon", { dataset: { beacon: row.incident_id } },
    h("span", {}, "⚠ ", t("alert_beacon", { beacon: beaconName(row.beacon), mmsi: row.beacon.mmsi, id: `#${row.incident_id}` })),
    h("button", { type: "button", on: { click: () => select(row.incident_id) } }, t("incident")));
}

function beaconSection(row) {
  const beacon = row.beacon;
  const section = h("section.beacon", { dataset: { section: "beacon", state: beacon.state } },
    h("h3", {}, beaconName(beacon)),
    h("dl.facts", {},
      fact("MMSI", beacon.mmsi),
      beacon.vessel_name ? fact(t("vessel"), beacon.vessel_name) : null,
      fact(t("status"), word("beacon_state", beacon.state))));
  if (canAct && beacon.state !== "dismissed") {
    const reason = h("input", { type: "text", name: "beacon-reason", maxlength: 500, placeholder: t("beacon_reason_hint") });
    section.append(h("div.row", {},
      beacon.state === "detected" ? h("button.primary", { type: "button", dataset: { action: "beacon-confirm" }, on: { click: (e) =>
        act(row.incident_id, "beacon/confirm", {}, e.currentTarget, () => t("beacon_confirmed")) } }, t("beacon_confirm")) : null,
      reason,
      h("button.danger", { type: "button", dataset: { action: "beacon-dismiss" }, on: { click: (e) => {
        if (!window.confirm(t("confirm_dismiss_beacon", { id: row.incident_id }))) return;
        act(row.incident_id, "beacon/dismiss", { reason: reason.value }, e.currentTarget, () => t("done"));
      } } }, t("beacon_dismiss"))));
  }
  return section;
}

function vesselsSection(row) {
  const answer = vessels.get(row.incident_id);
  if (!answer || !answer.at_sea) return null;
  const section = h("section", { dataset: { section: "vessels" } }, h("h3", {}, t("vessels_nearby")));
  if (answer.picture !== "live") {
    section.append(h("p.hint", {}, t("vessels_unavailable")));
    return section;
  }
  if (!answer.vessels.length) {
    section.append(h("p.hint", {}, t("vessels_none", { km: answer.radius_km })));
    return section;
  }
  section.append(h("ul.options", {}, answer.vessels.map((v) => h("li.option", { dataset: { mmsi: v.mmsi } },
    h("div.grow", {}, h("strong", {}, v.name || `MMSI ${v.mmsi}`),
      h("div.sub", {}, [t("km", { d: v.distance_km.toFixed(1) }),
        v.eta_minutes != null ? t("eta_at_speed", { m: Math.round(v.eta_minutes), kn: v.sog_knots.toFixed(0) }) : t("not_under_way"),
        v.callsign ? `${t("callsign")} ${v.callsign}` : null, `MMSI ${v.mmsi}`,
        t("heard_ago", { duration: duration(v.heard_seconds_ago) })].filter(Boolean).join(" · ")))))));
  return section;
}

async function loadVessels(id) {
  const before = JSON.stringify(vessels.get(id) ?? null);
  try {
    vessels.set(id, await api(`/api/incidents/${encodeURIComponent(id)}/vessels`));
  } catch {
    return; // the last list stays; the next check tries again
  }
  // Redrawn only when the list changed: an incident ashore, or a quiet sea, leaves the panel as the operator left it.
  if (id === selectedId && JSON.stringify(vessels.get(id)) !== before) {
    renderDetail();
    map.showVessels(vessels.get(id)?.vessels ?? []);
  }
}

/** Where a unit's position came from (AIS, a crew phone, an operator) and, for a tracker gone quiet, that it is stale. */
function sourceText(r) {
  return r.position_source && r.position_source !== "operator" ? word("position_source", r.position_source) : null;
}

function positionNote(r) {
  const source = sourceText(r);
  if (!source && !r.position_stale) return null;
  return h("div.sub", {}, source ? `${source}${r.position_at ? " " + clock(r.position_at) : ""}` : "",
    r.position_stale ? h("span.tag.stale", {}, t("stale")) : null);
}
