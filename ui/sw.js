// The lifeguard's page must open again without signal (a phone that reloads on a boat, a browser that was
// closed) and on one bar of it: the page and its scripts are kept here, network first so a new version is used
// whenever there is signal, but the kept copy answers when the network has not within NETWORK_TIMEOUT_MS. The
// API and the live board are never cached. The outbox is sent from here too, on a Background Sync, so a report
// made without signal goes when the signal comes back even if the page was closed meanwhile.
import { api, ApiError } from "/js/api.js";
import { Outbox } from "/js/outbox.js";
import { CHANNEL, IdbStore, SYNC_TAG, outboxLock, sendEntry } from "/js/outbox-store.js";

// Changed with every change to the files below: a new worker fills a new cache and drops the old ones.
const VERSION = "2026-12-08.2";
const CACHE_PREFIX = "dispatch-shell-";
const CACHE = CACHE_PREFIX + VERSION;
const NETWORK_TIMEOUT_MS = 3500;
const SHELL = [
  "/report.html", "/css/app.css", "/favicon.svg", "/manifest.webmanifest", "/icons/icon-192.png",
  "/icons/icon-512.png", "/icons/icon-maskable-512.png", "/js/report.js", "/js/api.js", "/js/dom.js",
  "/js/i18n.js", "/js/outbox.js", "/js/outbox-store.js", "/js/places.js", "/js/session.js", "/js/time.js",
  "/js/vocabulary.js", "/js/languages.js",
  "/js/share-position.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const page = url.origin === self.location.origin && event.request.method === "GET"
    && !url.pathname.startsWith("/api/") && !url.pathname.startsWith("/ws/");
  if (page) event.respondWith(networkFirst(event));
  // anything else the browser fetches as if there were no worker
});

async function networkFirst(event) {
  const network = fetch(event.request).then(async (answer) => {
    if (answer.ok) await (await caches.open(CACHE)).put(event.request, answer.clone());
    return answer;
  });
  event.waitUntil(network.catch(() => {})); // a late answer still refreshes the kept copy
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, NETWORK_TIMEOUT_MS, null);
  });
  try {
    const first = await Promise.race([network, late]);
    if (first) return first;
  } catch {
    // no network at all: the kept copy
  } finally {
    clearTimeout(timer);
  }
  const kept = await caches.match(event.request, { ignoreSearch: true });
  return kept || network.catch(() => Response.error());
}

self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(sendOutbox());
});

/** Send the signed-in person's outbox (no one else's: the session would put their name on it). */
async function sendOutbox() {
  let me;
  try {
    me = await api("/api/me");
  } catch (error) {
    if (error instanceof ApiError && !error.retryable) return; // signed out: the page asks them to sign in
    throw error; // no signal yet: the browser fires the sync again later
  }
  const channel = new BroadcastChannel(CHANNEL);
  const outbox = new Outbox({
    user: me.id, store: new IdbStore(channel), lock: outboxLock(me.id), send: sendEntry,
  });
  const empty = await outbox.pass();
  channel.close();
  if (!empty) throw new Error("the outbox is still waiting"); // the browser tries again later
}
