// The outbox: every command a field phone makes is stored here first, with its Idempotency-Key made before
// the first try, and sent until the server confirms. A retry with the same key can never make a second
// incident: the server answers the first result again. Kept per person in a store (IndexedDB on the phone,
// see outbox-store.js), so a reload, a flat battery or a lost signal loses nothing; the page and the service
// worker both send from it, one at a time (the lock), so whichever has signal first empties it.
//
// No window or document here: the same code runs in the page, in the service worker and under `node --test`.
import { ApiError, newKey as makeKey } from "./api.js";

export const KEEP_SENT = 50; // the newest confirmed entries stay, as "my reports"
export const RETRY_MIN_MS = 2000;
export const RETRY_MAX_MS = 15000;
export const CLOCK_FIELDS = ["device_time", "happened_at"];

/** The wait before the next try after `failures` blocked passes in a row: doubling, within bounds. */
export function retryDelay(failures) {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, failures - 1));
}

/** What is kept: everything not yet sent, and the newest KEEP_SENT sent entries, in their order. */
export function trim(entries) {
  const sent = entries.filter((e) => e.state === "sent").slice(-KEEP_SENT);
  return entries.filter((e) => e.state !== "sent" || sent.includes(e));
}

/** Entries kept in memory: the same interface as the IndexedDB store, for tests and browsers without it. */
export class MemoryStore {
  constructor(lists = {}) {
    this.lists = structuredClone(lists);
  }

  async read(user) {
    return structuredClone(this.lists[user] || []);
  }

  /** Replace a person's entries by change(entries), as one step; resolves to what was stored. */
  async change(user, change) {
    this.lists[user] = trim(change(structuredClone(this.lists[user] || [])));
    return structuredClone(this.lists[user]);
  }
}

export class Outbox {
  /**
   * user: whose entries; store: MemoryStore or IdbStore; send(entry): the POST, resolving to the server's
   * answer or rejecting with an ApiError; lock(fn): runs fn alone among every page and worker of the site;
   * onChange(): the entries changed; onSent(entry): one was confirmed; onBlocked(): a pass stopped for want of
   * signal (the page asks for a Background Sync).
   */
  constructor({ user, store, send, lock = (fn) => fn(), onChange = () => {}, onSent = () => {},
    onBlocked = () => {}, newKey = makeKey, now = () => new Date(), timers = globalThis }) {
    Object.assign(this, { user, store, sendCommand: send, lock, onChange, onSent, onBlocked, newKey, now, timers });
    this.list = [];
    this.sending = null;
    this.failures = 0;
    this.timer = null;
    this.needsSignIn = false;
  }

  /** The entries as last read or written, oldest first (synchronous, for drawing). */
  entries() {
    return this.list;
  }

  waiting() {
    return this.list.filter((e) => e.state === "waiting");
  }

  /** Read the store again (another tab or the service worker may have changed it). */
  async reload() {
    this.list = await this.store.read(this.user);
    this.onChange();
    return this.list;
  }

  async change(fn) {
    this.list = await this.store.change(this.user, fn);
    return this.list;
  }

  async update(key, changes) {
    let found = null;
    await this.change((entries) => entries.map((e) => (e.key === key ? (found = { ...e, ...changes }) : e)));
    return found;
  }

  /** Store a command (it is on the phone from now on), then try to send it. */
  async add(kind, path, body, extra = {}) {
    const entry = { key: this.newKey(), kind, path, body, state: "waiting", attempts: 0,
      created_at: this.now().toISOString(), ...extra };
    await this.change((entries) => [...entries, entry]);
    this.onChange();
    this.flush();
    return entry;
  }

  async discard(key) {
    await this.change((entries) => entries.filter((e) => e.key !== key || e.state === "sent"));
    this.onChange();
  }

  /** Send what is waiting, oldest first; stop at the first sign of no signal and try again later. */
  flush() {
    // One pass at a time in this context; a call during a pass gets that pass, which re-reads as it goes.
    this.sending ||= this.retrying().finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  async retrying() {
    this.timers.clearTimeout(this.timer);
    const sent = await this.pass();
    this.failures = sent ? 0 : this.failures + 1;
    if (!sent) {
      this.timer = this.timers.setTimeout(() => this.flush(), retryDelay(this.failures));
      this.onBlocked();
    }
    this.onChange();
    return sent;
  }

  /** One pass over what is waiting, without a retry of its own; true when nothing is left waiting. */
  async pass() {
    return !(await this.lock(() => this.sendWaiting()));
  }

  /** True when a command had to wait. Re-reads before each: one added meanwhile goes in this same pass. */
  async sendWaiting() {
    for (;;) {
      await this.reload();
      const entry = this.waiting()[0];
      if (!entry) return false;
      if (!(await this.send(entry))) return true;
    }
  }

  /** One try; true when the entry is settled (sent or refused for good), false when it must wait. */
  async send(entry) {
    await this.update(entry.key, { attempts: entry.attempts + 1, last_try_at: this.now().toISOString() });
    try {
      const result = await this.sendCommand(entry);
      this.needsSignIn = false;
      this.onSent(await this.update(entry.key, { state: "sent", result, sent_at: this.now().toISOString(),
        error: null }));
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return this.failed(entry, error);
    }
  }

  async failed(entry, error) {
    if (error.status === 401) {
      this.needsSignIn = true; // keep it: it goes as soon as the person signs in again
      return false;
    }
    if (error.retryable) return false;
    if (error.status === 422 && CLOCK_FIELDS.includes(error.field)) {
      // The phone's clock is ahead of the server's beyond the tolerance. Nothing was stored under this
      // key (the server refused it), so the same command goes again without the clock, under a new key.
      const body = { ...entry.body };
      delete body[error.field];
      await this.update(entry.key, { body, key: this.newKey() });
      return false;
    }
    await this.update(entry.key, { state: "refused", error: error.text });
    return true;
  }
}
