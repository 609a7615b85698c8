// The lifeguard's page must open again without signal (a phone that reloads on a boat, a browser that was
// closed): the page and its scripts are kept here, network first, so a new version is used whenever there is
// signal. The API and the live board are never cached: an outbox entry is sent, or it waits.
const CACHE = "dispatch-shell-v1";
const SHELL = [
  "/report.html", "/css/app.css", "/favicon.svg", "/js/report.js", "/js/api.js", "/js/dom.js", "/js/i18n.js",
  "/js/outbox.js", "/js/places.js", "/js/session.js", "/js/time.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const page = url.origin === self.location.origin && event.request.method === "GET"
    && !url.pathname.startsWith("/api/") && !url.pathname.startsWith("/ws/");
  if (!page) return; // the browser fetches it as if there were no worker
  event.respondWith(fetch(event.request).then((answer) => {
    if (answer.ok) {
      const copy = answer.clone();
      caches.open(CACHE).then((cache) => cache.put(event.request, copy));
    }
    return answer;
  }).catch(() => caches.match(event.request, { ignoreSearch: true })
    .then((kept) => kept || Response.error())));
});
