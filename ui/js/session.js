// Who is signed in, which pages their role may open, and the header every page shares.
import { api, ApiError } from "./api.js";
import { applyTranslations, chooseDefault, languageButton, t } from "./i18n.js";

const ME_KEY = "dispatch.me";
export const PAGES = [
  { href: "/report.html", label: "nav_report", roles: ["lifeguard", "operator"] },
  { href: "/board.html", label: "nav_board", roles: ["operator", "official", "admin"] },
  { href: "/audit.html", label: "nav_audit", roles: ["official", "operator"] },
  { href: "/people.html", label: "nav_people", roles: ["admin"] },
];

export function homeFor(role) {
  return { lifeguard: "/report.html", official: "/audit.html", admin: "/people.html" }[role] || "/board.html";
}

export function signInUrl() {
  return "/?next=" + encodeURIComponent(location.pathname + location.search);
}

/** The signed-in person, or a redirect to sign in. Offline, the last known person is used so a lifeguard
 * can keep reporting into the outbox; the server still checks every request. */
export async function requireSignIn(roles) {
  let me;
  try {
    me = await api("/api/me");
    localStorage.setItem(ME_KEY, JSON.stringify(me));
  } catch (error) {
    if (error instanceof ApiError && error.retryable && localStorage.getItem(ME_KEY)) {
      me = JSON.parse(localStorage.getItem(ME_KEY));
    } else {
      location.replace(signInUrl());
      return new Promise(() => {}); // the page is going away
    }
  }
  chooseDefault(me.role);
  if (!roles.includes(me.role)) {
    location.replace(homeFor(me.role));
    return new Promise(() => {});
  }
  return me;
}

export async function signOut() {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // Offline: the cookie stays until the server sees us; forget the person here anyway.
  }
  localStorage.removeItem(ME_KEY);
  location.assign("/");
}

/** Fill the shared header: the pages this role may open, the person, the language switch, sign out. */
export function renderHeader(me) {
  const nav = document.getElementById("nav");
  nav.replaceChildren();
  for (const page of PAGES.filter((p) => p.roles.includes(me.role))) {
    const link = document.createElement("a");
    link.href = page.href;
    link.dataset.i18n = page.label;
    if (location.pathname === page.href) link.setAttribute("aria-current", "page");
    nav.append(link);
  }
  const who = document.getElementById("who");
  const showWho = () => {
    who.textContent = `${me.display_name || me.id} · ${t("role_" + me.role)}`;
  };
  showWho();
  window.addEventListener("langchange", showWho);
  languageButton(document.getElementById("lang"));
  document.getElementById("sign-out").addEventListener("click", signOut);
  applyTranslations();
}
