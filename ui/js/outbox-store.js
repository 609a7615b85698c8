// Where the outbox lives on the phone: IndexedDB, one record per person (their entries, oldest first), read
// and written in one transaction per change so the page, another tab and the service worker never lose each
// other's writes. Also what the page and the worker share about it: the lock, the sync tag, the channel that
// says "it changed", and the one-time move out of localStorage where older versions kept it.
import { api } from "./api.js";
import { MemoryStore, trim } from "./outbox.js";

const DATABASE = "dispatch";
const TABLE = "outbox";
const LEGACY_PREFIX = "dispatch.outbox."; // localStorage keys of the older pages: dispatch.outbox.<user>
export const SYNC_TAG = "outbox";
export const CHANNEL = "dispatch.outbox";

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function open() {
  const request = indexedDB.open(DATABASE, 1);
  request.onupgradeneeded = () => request.result.createObjectStore(TABLE);
  return done(request);
}

export class IdbStore {
  /** channel: a BroadcastChannel told the person's id after each change, so other tabs read again. */
  constructor(channel = null) {
    this.db = open();
    this.channel = channel;
  }

  async read(user) {
    const db = await this.db;
    return (await done(db.transaction(TABLE).objectStore(TABLE).get(user))) || [];
  }

  /** Replace a person's entries by change(entries) in one readwrite transaction; resolves to what was stored. */
  async change(user, change) {
    const db = await this.db;
    const transaction = db.transaction(TABLE, "readwrite");
    const table = transaction.objectStore(TABLE);
    const entries = trim(change((await done(table.get(user))) || []));
    table.put(entries, user);
    await new Promise((resolve, reject) => {
      transaction.oncomplete = resolve;
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
    this.channel?.postMessage(user);
    return entries;
  }
}

/** IndexedDB where the browser has it; otherwise memory (the page still sends, but a reload forgets). */
export function outboxStore(channel = null) {
  return globalThis.indexedDB ? new IdbStore(channel) : new MemoryStore();
}

/** Move every person's outbox left in localStorage into the store, once: the key goes when its entries are in. */
export async function migrateLocalStorage(store, storage = globalThis.localStorage) {
  const keys = [];
  for (let i = 0; i < (storage?.length ?? 0); i += 1) {
    if (storage.key(i).startsWith(LEGACY_PREFIX)) keys.push(storage.key(i));
  }
  for (const key of keys) {
    let legacy;
    try {
      legacy = JSON.parse(storage.getItem(key) || "[]");
    } catch {
      legacy = [];
    }
    if (Array.isArray(legacy) && legacy.length) {
      await store.change(key.slice(LEGACY_PREFIX.length), (entries) => {
        const known = new Set(entries.map((e) => e.key));
        return [...legacy.filter((e) => e && e.key && !known.has(e.key)), ...entries];
      });
    }
    storage.removeItem(key);
  }
  return keys.length;
}

/** Runs fn alone among every page and worker of the site sending this person's outbox (Web Locks). */
export function outboxLock(user) {
  const locks = globalThis.navigator?.locks;
  return (fn) => (locks ? locks.request(`${CHANNEL}.${user}`, fn) : fn());
}

/** The entry's command, POSTed under its own Idempotency-Key. */
export function sendEntry(entry) {
  return api(entry.path, { method: "POST", body: entry.body, key: entry.key });
}
