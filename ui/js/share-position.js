// A crew member on duty shares the phone's position as their unit's, from the report page in the foreground:
// the phone's GPS is watched only while the page is visible, and a fix is sent at most every SHARE_EVERY_MS. The
// server records it only when the unit moved enough (the same rule as for an AIS transponder), so a boat without
// one still shows where it is on the board. A fix that does not get through is not retried: the next is newer.
import { api, newKey } from "./api.js";
import { t } from "./i18n.js";
import { clock } from "./time.js";

const SHARE_EVERY_MS = 30000;
const KEY = "dispatch.share-position";

export class PositionSharing {
  constructor({ unit, checkbox, status }) {
    this.unit = unit;
    this.checkbox = checkbox;
    this.status = status;
    this.watch = null;
    this.lastSentAt = 0;
    this.lastText = "";
    // Sharing is a choice for this sign-in's duty, kept across reloads of the page, never across sign-ins.
    checkbox.checked = sessionStorage.getItem(KEY) === unit;
    checkbox.addEventListener("change", () => {
      sessionStorage.setItem(KEY, checkbox.checked ? unit : "");
      this.update();
    });
    document.addEventListener("visibilitychange", () => this.update());
    window.addEventListener("langchange", () => this.show(this.lastText));
    this.update();
  }

  get wanted() {
    return this.checkbox.checked && document.visibilityState === "visible" && Boolean(navigator.geolocation);
  }

  update() {
    if (this.wanted && this.watch === null) {
      this.watch = navigator.geolocation.watchPosition((fix) => this.send(fix), () => this.show("share_no_gps"),
        { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
      this.show("share_on");
    } else if (!this.wanted && this.watch !== null) {
      navigator.geolocation.clearWatch(this.watch);
      this.watch = null;
    }
    if (!this.checkbox.checked) this.show("share_off");
    else if (document.visibilityState !== "visible") this.show("share_paused");
    else if (!navigator.geolocation) this.show("share_no_gps");
  }

  async send(fix) {
    const now = Date.now();
    if (now - this.lastSentAt < SHARE_EVERY_MS) return;
    this.lastSentAt = now;
    const { latitude, longitude, heading, speed } = fix.coords;
    const body = { position: { lat: latitude, lon: longitude } };
    // The phone knows its course and speed only while moving; metres a second to knots.
    if (Number.isFinite(heading) && Number.isFinite(speed) && speed > 0) {
      body.course_deg = heading % 360;
      body.speed_knots = Math.min(100, speed * 1.943844);
    }
    try {
      await api(`/api/resources/${encodeURIComponent(this.unit)}/position`, { method: "POST", body, key: newKey() });
      this.show("share_sent", { time: clock(new Date(now).toISOString()) });
    } catch {
      this.show("share_failed");
    }
  }

  show(key, vars = {}) {
    this.lastText = key;
    this.lastVars = key ? vars : this.lastVars;
    this.status.textContent = key ? t(key, { unit: this.unit, ...(this.lastVars || {}) }) : "";
    this.status.dataset.state = key;
  }
}
