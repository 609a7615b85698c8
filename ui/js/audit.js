// The official's audit page: filters, charts of the intervals and of the referral guarantee by month, a table
// per incident with its timeline, CSV exports, the log's verification and (for officials) who read which
// incident's patient details, all read from /api/reports and /api/audit. Changes nothing.
import { api } from "./api.js";
import { groupedBars, stackedBars } from "./charts.js";
import { byId, h } from "./dom.js";
import { applyTranslations, colourName, lang, t, word } from "./i18n.js";
import { loadPlaces, placeName } from "./places.js";
import { renderHeader, requireSignIn } from "./session.js";
import { dateTime, dateTimeSeconds, duration } from "./time.js";
import { loadVocabulary, vocabulary } from "./vocabulary.js";

const INTERVALS = ["response_seconds", "scene_seconds", "transport_seconds", "hospital_wall_seconds", "total_seconds"];
const PAGE = 100;
const form = byId("filters");
const opened = new Set();
const trails = new Map(); // incident id -> GET /api/audit/incidents/{id}
let report = null;
let verification = null;
let rows = [];
let places = new Map();
let reads = null; // GET /api/audit/reads: { reads: [...] }, or { failed: true }

const me = await requireSignIn(["official", "operator"]);
await loadVocabulary();
renderHeader(me);
byId("anchor").hidden = me.role !== "official"; // checkpoints are downloaded by officials only
try {
  places = new Map((await loadPlaces()).map((p) => [p.id, p]));
} catch {
  places = new Map();
}
buildFilters();
readFiltersFromUrl();
form.addEventListener("submit", (event) => {
  event.preventDefault();
  history.replaceState(null, "", `?${query()}`);
  load();
});
byId("more").addEventListener("click", () => loadMore());
let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => report && renderCharts(), 200);
});
window.addEventListener("langchange", () => {
  buildFilters(true);
  render();
});
// Who read patient details is for officials to review; an operator's page does not offer it.
const readsShown = me.role === "official";
byId("reads-card").hidden = !readsShown;
byId("reads-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  loadReads();
});
await Promise.all([load(), verify(), readsShown ? loadReads() : null]);
document.body.dataset.ready = "true";

// --- filters ------------------------------------------------------------------------------------------

function buildFilters(keep = false) {
  const chosen = keep ? new FormData(form) : null;
  const fill = (id, name, values, label) => {
    const box = byId(id);
    box.querySelectorAll("label").forEach((node) => node.remove());
    box.append(...values.map((value) => h("label.check", {},
      h("input", { type: "checkbox", name, value, checked: chosen ? chosen.getAll(name).includes(value) : false }),
      label(value))));
  };
  fill("zone-filter", "zone", vocabulary("zone"), (z) => word("zone", z));
  fill("triage-filter", "triage", vocabulary("triage"), (c) => colourName(c));
}

function readFiltersFromUrl() {
  const params = new URLSearchParams(location.search);
  byId("from").value = params.get("from") || `${new Date().getFullYear()}-01-01`;
  const to = params.get("to");
  byId("to").value = to ? shiftDay(to, -1) : "";
  for (const name of ["zone", "triage"]) {
    const wanted = params.getAll(name);
    form.querySelectorAll(`input[name=${name}]`).forEach((box) => { box.checked = wanted.includes(box.value); });
  }
}

function shiftDay(iso, days) {
  const day = new Date(`${iso}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

/** The API's filter: dates are Bangkok days; "until" is inclusive on screen and exclusive in the API. */
function query(extra = {}) {
  const params = new URLSearchParams();
  if (byId("from").value) params.set("from", byId("from").value);
  if (byId("to").value) params.set("to", shiftDay(byId("to").value, 1));
  for (const box of form.querySelectorAll("input[type=checkbox]:checked")) params.append(box.name, box.value);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
}

// --- loading ------------------------------------------------------------------------------------------

async function load() {
  report = await api(`/api/reports/response-times?${query({ limit: PAGE, offset: 0 })}`);
  rows = report.responses.rows;
  byId("csv").href = `/api/reports/response-times?${query({ format: "csv" })}`;
  byId("nemsis").href = `/api/reports/nemsis.csv?${query()}`;
  render();
}

async function loadMore() {
  const next = await api(`/api/reports/response-times?${query({ limit: PAGE, offset: rows.length })}`);
  rows = rows.concat(next.responses.rows);
  render();
}

async function verify() {
  try {
    verification = await api("/api/audit/verify");
  } catch (error) {
    verification = { intact: false, first_bad_position: "?", problem: error.text ?? error.message };
  }
  render();
}

async function loadReads() {
  const params = new URLSearchParams({ limit: "200" });
  for (const [name, id] of [["incident_id", "reads-incident"], ["actor_id", "reads-person"]]) {
    const value = byId(id).value.trim();
    if (value) params.set(name, value);
  }
  try {
    reads = await api(`/api/audit/reads?${params}`);
  } catch {
    reads = { failed: true };
  }
  renderReads();
}

async function toggle(incidentId) {
  if (opened.has(incidentId)) opened.delete(incidentId);
  else {
    opened.add(incidentId);
    if (!trails.has(incidentId)) trails.set(incidentId, await api(`/api/audit/incidents/${encodeURIComponent(incidentId)}`));
  }
  renderTable();
}

// --- rendering ----------------------------------------------------------------------------------------

function minutes(seconds) {
  return seconds === null || seconds === undefined ? null : Math.round(seconds / 6) / 10;
}

function render() {
  renderVerification();
  renderReads();
  if (!report) return;
  renderFigures();
  renderCharts();
  renderTable();
  applyTranslations(document.querySelector("main"));
}

function renderVerification() {
  const box = byId("verify");
  if (!verification) return;
  box.className = "verify " + (verification.intact ? "ok" : "bad");
  box.dataset.intact = String(verification.intact);
  box.textContent = verification.intact
    ? t("verify_ok", { n: verification.checked, head: verification.head_position })
    : t("verify_bad", { pos: verification.first_bad_position, problem: verification.problem });
  if (verification.intact && verification.anchored_position) {
    box.textContent += " " + t("verify_anchored", { pos: verification.anchored_position });
  }
}

function renderFigures() {
  const ref = report.referrals;
  const items = [
    [t("fig_incidents"), report.incidents], [t("fig_responses"), report.responses.total],
    [t("fig_referrals"), ref.with_guarantee], [t("fig_met"), ref.met], [t("fig_missed"), ref.missed],
    [t("fig_open"), ref.open],
    [t("fig_compliance"), ref.compliance_percent === null ? "–" : `${ref.compliance_percent.toFixed(1)} %`],
  ];
  byId("figures").replaceChildren(...items.map(([label, value]) => h("div.figure", {}, h("dt", {}, label), h("dd", {}, String(value)))));
}

function renderCharts() {
  const series = [{ name: t("median"), className: "median" }, { name: t("p90"), className: "p90" }];
  groupedBars(byId("chart-intervals"), {
    title: t("chart_intervals"), series, empty: t("no_data"),
    rows: INTERVALS.map((name) => ({ label: t(`int_${name}`),
      values: [minutes(report.intervals[name].median), minutes(report.intervals[name].p90)] })),
  });
  const months = Object.entries(report.referrals.by_month);
  stackedBars(byId("chart-compliance"), {
    title: t("chart_compliance"), empty: t("no_data"),
    series: [{ name: t("fig_met"), className: "met" }, { name: t("fig_missed"), className: "missed" },
      { name: t("fig_open"), className: "open" }],
    rows: months.map(([month, tally]) => ({
      label: monthLabel(month), values: [tally.met, tally.missed, tally.open],
      note: tally.compliance_percent === null ? "–" : `${tally.compliance_percent.toFixed(0)} %`,
    })),
  });
  groupedBars(byId("chart-months"), {
    title: t("chart_response_month"), series, empty: t("no_data"),
    rows: Object.entries(report.by_month).map(([month, stats]) => ({ label: monthLabel(month),
      values: [minutes(stats.response_seconds.median), minutes(stats.response_seconds.p90)] })),
  });
}

function monthLabel(month) {
  const [year, number] = month.split("-").map(Number);
  return new Intl.DateTimeFormat(lang() === "th" ? "th-TH" : "en-GB", { month: "short", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(year, number - 1, 1)));
}

function interval(seconds) {
  return seconds === null || seconds === undefined ? "–" : duration(seconds);
}

function renderTable() {
  const body = byId("responses");
  if (!rows.length) {
    body.replaceChildren(h("tr", {}, h("td.hint", { colSpan: 9 }, t("no_data"))));
  } else {
    body.replaceChildren(...rows.flatMap((row) => {
      const id = row.incident_id;
      const line = h("tr.response", { dataset: { incident: id } },
        h("td", {}, h("button.link-button", { type: "button", "aria-expanded": String(opened.has(id)),
          on: { click: () => toggle(id) } }, `#${id}`)),
        h("td", {}, dateTime(row.reported_at)), h("td", {}, word("zone", row.zone)),
        h("td", {}, h(`span.chip.triage-${row.triage}`, {}, colourName(row.triage))),
        h("td", {}, row.resource_id),
        h("td.num", {}, interval(row.response_seconds)), h("td.num", {}, interval(row.scene_seconds)),
        h("td.num", {}, interval(row.transport_seconds)), h("td.num", {}, interval(row.total_seconds)));
      return opened.has(id) ? [line, h("tr.trail", { dataset: { incident: id } }, h("td", { colSpan: 9 }, trail(id)))] : [line];
    }));
  }
  byId("more").hidden = rows.length >= report.responses.total;
}

function trail(id) {
  const found = trails.get(id);
  if (!found) return h("p.hint", {}, t("loading"));
  const referrals = found.referrals.map((r) => h("p", {},
    `${t("referral")}: ${placeName(places.get(r.facility_id)) || r.facility_id} · ${word("referral_status", r.status)} · ${t("deadline")} ${dateTime(r.deadline_at)}`,
    r.arrived_at ? ` · ${t("arrived")} ${dateTime(r.arrived_at)}` : ""));
  const whoRead = readsShown ? [h("button.link-button", { type: "button", dataset: { readsOf: id }, on: { click: () => {
    byId("reads-incident").value = id;
    loadReads();
    byId("reads-card").scrollIntoView();
  } } }, t("reads_of_incident"))] : [];
  return h("div.trail-box", {}, ...referrals, ...whoRead,
    h("ol.timeline", {}, found.events.map((e) => h("li", {},
      h("strong", {}, `${dateTimeSeconds(e.recorded_at)} `), `${e.type} · ${e.actor_id} (${e.role})`,
      e.data.milestone ? ` · ${e.data.resource_id}: ${word("milestone", e.data.milestone)}` : "",
      e.data.text ? ` · “${e.data.text}”` : "",
      e.device_at ? ` · ${t("device_time")} ${dateTimeSeconds(e.device_at)}` : "",
      h("code.hash", { title: e.hash }, ` ${e.hash.slice(0, 10)}…`)))));
}

function renderReads() {
  const body = byId("reads");
  if (!reads) return;
  if (reads.failed || !reads.reads.length) {
    body.replaceChildren(h("tr", {}, h("td.hint", { colSpan: 5 }, t(reads.failed ? "reads_failed" : "reads_none"))));
    return;
  }
  body.replaceChildren(...reads.reads.map((r) => h("tr.read", { dataset: { incident: r.incident_id } },
    h("td", {}, dateTimeSeconds(r.read_at)), h("td", {}, r.actor_id), h("td", {}, t(`role_${r.role}`)),
    h("td", {}, `#${r.incident_id}`), h("td", {}, t(`read_view_${r.view}`)))));
}
