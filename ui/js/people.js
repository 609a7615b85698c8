// The admin's page: add a person with a role (POST /api/users). Admins change nothing on the board.
import { api, newKey } from "./api.js";
import { byId, h } from "./dom.js";
import { applyTranslations, t } from "./i18n.js";
import { renderHeader, requireSignIn } from "./session.js";
import { loadVocabulary, vocabulary } from "./vocabulary.js";

const form = byId("person-form");
const result = byId("person-result");
let last = null; // the last answer, shown again in the other language

const me = await requireSignIn(["admin"]);
await loadVocabulary();
renderHeader(me);
fillRoles();
window.addEventListener("langchange", () => {
  fillRoles();
  show();
});
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  const body = { username: data.username.trim(), role: data.role, password: data.password };
  if (data.display_name.trim()) body.display_name = data.display_name.trim();
  if (data.resource_id.trim()) body.resource_id = data.resource_id.trim();
  try {
    const added = await api("/api/users", { method: "POST", body, key: newKey() });
    last = { ok: true, id: added.id, role: added.role };
    form.reset();
    fillRoles();
  } catch (error) {
    last = { ok: false, error };
  }
  show();
});
document.body.dataset.ready = "true";

function fillRoles() {
  const select = byId("new-role");
  const chosen = select.value || "lifeguard";
  select.replaceChildren(...vocabulary("role").map((role) => h("option", { value: role }, t(`role_${role}`))));
  select.value = chosen;
  applyTranslations();
}

function show() {
  result.hidden = !last;
  if (!last) return;
  result.className = "result" + (last.ok ? "" : " error");
  result.textContent = last.ok ? t("person_added", { id: last.id, role: t(`role_${last.role}`) }) : `${t("error")}: ${last.error.text ?? last.error.message}`;
}
