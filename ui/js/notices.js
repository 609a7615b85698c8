// What the board shows beyond incidents (GET /api/board/notices): messages to crews and hospitals that failed or
// are still being sent, warnings from CAP feeds in force over the province, feeds that cannot be read, and the
// public alerts this centre has out. A failed delivery stays on the board until it is hours old: never silent.
import { api, ApiError } from "./api.js";
import { byId, h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { clock } from "./time.js";

const POLL_MS = 10000;
const box = byId("notices");

function kindText(kind) {
  return t(`notice_${kind}`) === `notice_${kind}` ? kind : t(`notice_${kind}`);
}

function notificationLine(n) {
  const who = n.unreachable?.length ? ` · ${t("notice_unreachable", { people: n.unreachable.join(", ") })}` : "";
  const state = n.status === "expired" ? t("notice_expired")
    : n.status === "failed" ? t("notice_failed", { failed: n.failed, people: n.people })
      : t("notice_sending", { reached: n.reached, people: n.people });
  return h(`p.alert.notice-${n.status}`, {}, `${kindText(n.kind)} · ${n.incident_id ?? ""} · ${state}${who}`);
}

function warningLine(a) {
  const headline = (lang() === "th" && a.headline_th) || a.headline || a.event;
  const until = a.expires_at ? ` · ${t("until")} ${clock(a.expires_at)}` : "";
  return h("p.alert.notice-warning", {}, `${t("warning_in_force")} (${a.severity}): ${headline} · ${a.zones.join(", ")}${until}`);
}

function feedLine(f) {
  return h("p.alert.notice-feed", {}, t("feed_error", { url: f.url, error: f.error }));
}

function publicLine(p) {
  const headline = lang() === "th" ? p.headline_th : p.headline_en;
  return h("p.alert.notice-public", {}, `${t("public_alert")}${p.exercise ? ` (${t("exercise")})` : ""}: ${headline}`);
}

async function refresh() {
  let found;
  try {
    found = await api("/api/board/notices");
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) box.hidden = true; // not for this role
    return;
  }
  const failing = found.notifications.filter((n) => n.status === "failed" || n.status === "expired");
  const sending = found.notifications.filter((n) => n.status === "sending" || n.status === "pending");
  box.replaceChildren(
    ...failing.map(notificationLine),
    ...found.feeds.filter((f) => f.error).map(feedLine),
    ...found.external_alerts.map(warningLine),
    ...found.public_alerts.map(publicLine),
    ...(sending.length ? [h("p.alert.notice-sending", {}, t("notices_sending", { n: sending.length }))] : []),
  );
}

if (box) {
  refresh();
  setInterval(refresh, POLL_MS);
  window.addEventListener("langchange", refresh);
}
