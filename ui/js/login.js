// Sign in, then go to the page the person asked for, or to their role's page.
import { api, ApiError } from "./api.js";
import { applyTranslations, languageButton, t } from "./i18n.js";
import { homeFor, PAGES } from "./session.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = form.querySelector("button[type=submit]");

function target(role) {
  const next = new URLSearchParams(location.search).get("next") || "";
  const page = PAGES.find((p) => next.startsWith(p.href));
  // Only our own pages, and only those the role may open: no open redirect, no bounce.
  return page && page.roles.includes(role) ? next : homeFor(role);
}

function show(message) {
  error.textContent = message;
  error.hidden = !message;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  show("");
  submit.disabled = true;
  submit.textContent = t("signing_in");
  try {
    const session = await api("/api/auth/login", {
      method: "POST",
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    localStorage.setItem("dispatch.me", JSON.stringify(session.user));
    location.assign(target(session.user.role));
  } catch (failure) {
    show(!(failure instanceof ApiError) || failure.code === "authentication_failed" ? t("sign_in_failed")
      : failure.status === 0 ? t("no_signal_sign_in") : failure.text);
    submit.disabled = false;
    submit.textContent = t("sign_in");
  }
});

// Already signed in (a cookie from this shift): go straight on.
api("/api/me").then((me) => location.replace(target(me.role)), () => {});
languageButton(document.getElementById("lang"));
applyTranslations();
