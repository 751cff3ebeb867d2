// Sign-in: an admin API key (or an admin JWT), checked against the API before it is kept.

import * as api from "../api.js";
import { h, uid } from "../dom.js";
import { errorSlot, run } from "../forms.js";
import * as session from "../session.js";

const REFUSED = "The API did not accept this key. Check it and try again.";

async function check(secret) {
  try {
    return await api.whoAmI(secret);
  } catch (error) {
    if (error.status === 401) throw new Error(REFUSED);
    throw error;
  }
}

/** The sign-in form; `message` says why the last session ended; `done()` after sign-in. */
export function signInView(root, { message, done }) {
  const inputId = uid("key");
  const titleId = uid("signin");
  const slot = errorSlot();
  const input = h("input", {
    id: inputId,
    name: "key",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": `${inputId}-hint`,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", method: "post", "aria-labelledby": titleId, novalidate: true },
    h("h1", { id: titleId }, "Sign in"),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    h(
      "div",
      { class: "field" },
      h("label", { for: inputId }, "API key"),
      input,
      h(
        "small",
        { id: `${inputId}-hint`, class: "hint" },
        "An admin API key (customers api-key create) or an admin token (customers token --user).",
      ),
    ),
    slot,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const secret = input.value.trim();
    if (!secret) {
      slot.textContent = "Enter an API key.";
      slot.hidden = false;
      input.focus();
      return;
    }
    const who = await run(submit, slot, () => check(secret), { form });
    if (!who) {
      input.focus();
      return;
    }
    input.value = "";
    session.begin(secret, who.scope);
    done();
  });
  root.replaceChildren(form);
  input.focus();
}
