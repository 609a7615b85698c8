// Talking to the API: the session cookie rides along (writes add its CSRF proof); every error answers as
// RFC 9457 Problem Details ({type, title, status, detail, instance} with {code, field}): the pages say what
// went wrong by its code, in the person's language, and fall back to the server's detail (English).
import { problemText } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status; // 0: no answer at all (no signal)
    this.code = body?.code || (status === 0 ? "network" : "http_error");
    this.field = body?.field || null;
    this.detail = body?.detail || null;
  }

  /** What went wrong, in the language on screen now: the text for its code, else the server's detail. */
  get text() {
    return problemText(this.code) ?? this.message;
  }

  /** The text and the server's detail, which names the unit or incident (for the board's operators). */
  get fullText() {
    const text = problemText(this.code);
    return text && this.detail ? `${text} (${this.detail})` : this.text;
  }

  /** Worth trying again later with the same Idempotency-Key: no signal, a server hiccup, a rate limit. */
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

let clockOffsetMs = 0;

/** The server's clock, estimated from the Date header of its answers (phones' clocks drift). */
export function serverNow() {
  return Date.now() + clockOffsetMs;
}

function learnClock(response, sentAt) {
  const stamp = Date.parse(response.headers.get("Date") || "");
  if (Number.isNaN(stamp)) return;
  const estimate = stamp + 500 - (sentAt + Date.now()) / 2; // Date has whole seconds: aim for the middle
  // Only correct clocks that are clearly off; a second of jitter would make countdowns flicker.
  clockOffsetMs = Math.abs(estimate) > 2000 ? estimate : 0;
}

/** The value of a cookie the page may read (the session cookie itself is HttpOnly and never seen here). A
 * service worker, sending the outbox with no page open, has no document.cookie but may have cookieStore. */
async function cookie(name) {
  if (!globalThis.document) return (await globalThis.cookieStore?.get(name))?.value ?? null;
  const found = document.cookie.split("; ").find((pair) => pair.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

/** Call the API; resolves to the JSON answer, rejects with an ApiError (status 0 when there is no signal). */
export async function api(path, { method = "GET", body, key, timeoutMs = 15000 } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  // A change signed in by the session cookie must prove it comes from our own page (CSRF): the server set
  // this readable cookie at sign-in, and another site can neither read it nor set the header.
  const csrf = method === "GET" ? null : await cookie("dispatch_csrf");
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", signal: controller.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  } finally {
    clearTimeout(timer);
  }
  learnClock(response, sentAt);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** A fresh Idempotency-Key. Made from getRandomValues, which (unlike randomUUID) works on plain http too. */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "k-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
