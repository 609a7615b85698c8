// The outbox: every command a field phone makes is stored here first, with its Idempotency-Key made before
// the first try, and sent until the server confirms. A retry with the same key can never make a second
// incident: the server answers the first result again. Kept in localStorage, per person, so a reload, a
// flat battery or a lost signal loses nothing.
import { api, ApiError, newKey } from "./api.js";

const KEEP_SENT = 50; // the newest confirmed entries stay, as "my reports"
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 15000;

export class Outbox {
  constructor(user, onChange, onSent = () => {}) {
    this.user = user;
    this.onSent = onSent;
    this.storageKey = `dispatch.outbox.${user}`;
    this.onChange = onChange;
    this.sending = false;
    this.failures = 0;
    this.timer = null;
    this.needsSignIn = false;
    window.addEventListener("online", () => this.flush());
    window.addEventListener("offline", () => this.onChange());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.flush();
    });
    window.addEventListener("storage", (event) => {
      if (event.key === this.storageKey) this.onChange(); // another tab sent something
    });
  }

  entries() {
    try {
      return JSON.parse(localStorage.getItem(this.storageKey) || "[]");
    } catch {
      return [];
    }
  }

  save(entries) {
    const waiting = entries.filter((e) => e.state !== "sent");
    const sent = entries.filter((e) => e.state === "sent").slice(-KEEP_SENT);
    const kept = entries.filter((e) => waiting.includes(e) || sent.includes(e));
    localStorage.setItem(this.storageKey, JSON.stringify(kept));
  }

  update(key, changes) {
    const entries = this.entries();
    const entry = entries.find((e) => e.key === key);
    if (entry) Object.assign(entry, changes);
    this.save(entries);
    return entry;
  }

  /** Store a command (it is on the phone from now on), then try to send it. */
  add(kind, path, body, extra = {}) {
    const entry = { key: newKey(), kind, path, body, state: "waiting", attempts: 0, created_at: new Date().toISOString(),
      ...extra };
    const entries = this.entries();
    entries.push(entry);
    this.save(entries);
    this.onChange();
    this.flush();
    return entry;
  }

  discard(key) {
    this.save(this.entries().filter((e) => e.key !== key || e.state === "sent"));
    this.onChange();
  }

  waiting() {
    return this.entries().filter((e) => e.state === "waiting");
  }

  /** Send what is waiting, oldest first; stop at the first sign of no signal and try again later. */
  async flush() {
    if (this.sending) return;
    this.sending = true;
    clearTimeout(this.timer);
    let blocked = false;
    try {
      // Re-read each time: a command added while one is in flight goes in this same pass.
      for (let entry = this.waiting()[0]; entry && !blocked; entry = this.waiting()[0]) {
        blocked = !(await this.send(entry));
      }
    } finally {
      this.sending = false;
    }
    this.failures = blocked ? this.failures + 1 : 0;
    if (blocked) {
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, this.failures - 1));
      this.timer = setTimeout(() => this.flush(), delay);
    }
    this.onChange();
  }

  /** One try; true when the entry is settled (sent or refused for good), false when it must wait. */
  async send(entry) {
    this.update(entry.key, { attempts: entry.attempts + 1, last_try_at: new Date().toISOString() });
    try {
      const result = await api(entry.path, { method: "POST", body: entry.body, key: entry.key });
      this.needsSignIn = false;
      this.onSent(this.update(entry.key, { state: "sent", result, sent_at: new Date().toISOString(), error: null }));
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) {
        this.needsSignIn = true; // keep it: it goes as soon as the person signs in again
        return false;
      }
      if (error.retryable) return false;
      if (error.status === 422 && ["device_time", "happened_at"].includes(error.field)) {
        // The phone's clock is ahead of the server's beyond the tolerance. Nothing was stored under this
        // key (the server refused it), so the same command goes again without the clock, under a new key.
        const body = { ...entry.body };
        delete body[error.field];
        this.update(entry.key, { body, key: newKey() });
        return false;
      }
      this.update(entry.key, { state: "refused", error: error.text });
      return true;
    }
  }
}
