// Labelled controls, errors shown next to what caused them, confirmations, busy buttons.

import { h, uid } from "./dom.js";

/** A labelled text input (`type` email, tel, date...). */
export function textField({ label, name, value = "", type = "text", required = false, hint }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", {
      id,
      name,
      type,
      value: value ?? "",
      required,
      autocomplete: "off",
      "aria-describedby": hintId,
    }),
    hint ? h("small", { id: hintId, class: "hint" }, hint) : null,
  );
}

/** A labelled select; `options` are `[value, text]` pairs. */
export function selectField({ label, name, options, value = "" }) {
  const id = uid(name);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h(
      "select",
      { id, name },
      options.map(([optionValue, text]) =>
        h("option", { value: optionValue, selected: optionValue === value }, text),
      ),
    ),
  );
}

/** A labelled checkbox. */
export function checkboxField({ label, name, checked = false }) {
  const id = uid(name);
  return h(
    "div",
    { class: "field check" },
    h("input", { id, name, type: "checkbox", checked }),
    h("label", { for: id }, label),
  );
}

/** Where an error appears: right next to the control or form that caused it. */
export function errorSlot() {
  return h("p", { class: "error", role: "alert", id: uid("error"), hidden: true });
}

/** Show the API's message in `slot`; mark the fields of `form` the message names as invalid. */
export function showError(slot, error, form = null) {
  slot.textContent = error.message;
  slot.hidden = false;
  if (!form) return;
  for (const control of form.elements) {
    if (!control.name) continue;
    const named = new RegExp(`'${control.name}'|\\b${control.name}\\b`, "i");
    const invalid = named.test(error.message) || (control.type === "email" && /email/i.test(error.message));
    if (invalid) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-errormessage", slot.id);
    }
  }
}

/** Hide `slot` and clear the invalid marks of `form`. */
export function clearError(slot, form = null) {
  slot.hidden = true;
  slot.textContent = "";
  if (!form) return;
  for (const control of form.elements) {
    control.removeAttribute("aria-invalid");
    control.removeAttribute("aria-errormessage");
  }
}

/**
 * Run `work` for `button`: disabled while it runs; an error goes to `slot` (and marks the
 * fields of `form` it names), except a 412 conflict, handed to `onConflict` when given.
 * Resolves to the result of `work`, or undefined when it failed.
 */
export async function run(button, slot, work, { form = null, onConflict = null } = {}) {
  clearError(slot, form);
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (error) {
    if (error.name === "AbortError") return undefined;
    if (error.isConflict && onConflict) onConflict(error);
    else showError(slot, error, form);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A form's named inputs as `{name: value}`: text trimmed, empty text null, checkboxes bool. */
export function valuesOf(form) {
  const values = {};
  for (const control of form.elements) {
    if (!control.name) continue;
    if (control.type === "checkbox") values[control.name] = control.checked;
    else values[control.name] = control.value.trim() === "" ? null : control.value.trim();
  }
  return values;
}

/** The entries of `values` that differ from `record` (null and "" and absent are the same). */
export function changedFields(record, values) {
  const changed = {};
  for (const [name, value] of Object.entries(values)) {
    const before = record[name] ?? null;
    if ((before === "" ? null : before) !== value) changed[name] = value;
  }
  return changed;
}

/** A button (type "button" unless given). */
export function button(text, onclick, { kind = "", type = "button", label } = {}) {
  return h("button", { type, class: kind, onclick, "aria-label": label }, text);
}

/** Ask before something that cannot be undone; resolves to true when confirmed. */
export function confirmDialog({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    let confirmed = false;
    const dialog = h(
      "dialog",
      { "aria-labelledby": titleId, class: "confirm" },
      h("h2", { id: titleId }, title),
      h("p", {}, message),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", autofocus: true, onclick: () => dialog.close() }, "Cancel"),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: () => {
              confirmed = true;
              dialog.close();
            },
          },
          confirmLabel,
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(confirmed);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
