// A 412 answer: someone else changed the record since this page read it (its ETag no longer
// matches). Nothing is overwritten silently: the admin sees what changed, field by field, and
// chooses to reload (take theirs) or retry (apply theirs' ETag to their own change).

import { ApiError } from "./api.js";
import { h, replace, uid } from "./dom.js";
import { button, confirmDialog, errorSlot, run, showError } from "./forms.js";
import { metadataValue } from "./format.js";

function shown(value) {
  if (value === null || value === undefined || value === "") return "(empty)";
  return metadataValue(value);
}

/** Rows of the fields that differ between what the admin saw and what is stored now. */
function differences(fields, seen, current, mine) {
  return fields
    .filter(([name]) => shown(seen[name]) !== shown(current[name]) || name in mine)
    .map(([name, label]) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, label),
        h("td", {}, shown(seen[name])),
        h("td", {}, shown(current[name])),
        h("td", {}, name in mine ? shown(mine[name]) : "(unchanged)"),
      ),
    );
}

function table(rows) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      {},
      h("caption", {}, "What changed"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Field"),
          h("th", { scope: "col" }, "When you opened it"),
          h("th", { scope: "col" }, "Now"),
          h("th", { scope: "col" }, "Your change"),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

/**
 * Show the conflict in `container`.
 * - `what`: "customer", "address", "group"; `fields`: `[name, label]` pairs to compare;
 * - `seen`: the record as the admin read it; `mine`: their change (`{}` for a delete);
 * - `load()`: resolves to the stored `{record, etag}` (a 404 means it is gone);
 * - `reload()`: show the stored record; `retry(etag)`: redo the change based on `etag`.
 */
export async function showConflict(container, { what, fields, seen, mine, load, reload, retry }) {
  const titleId = uid("conflict");
  let current = null;
  try {
    current = await load();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  const slot = errorSlot();
  const retryButton = h("button", { type: "button" }, "Apply my change anyway");
  retryButton.addEventListener("click", () =>
    run(retryButton, slot, () => retry(current.etag), {
      onConflict: () => showConflict(container, { what, fields, seen, mine, load, reload, retry }),
    }),
  );
  const record = current ? current.record : null;
  replace(
    container,
    h(
      "section",
      { class: "conflict", role: "alert", "aria-labelledby": titleId },
      h("h3", { id: titleId, tabindex: "-1" }, `Someone else changed this ${what} since you opened it`),
      record
        ? h("p", {}, "Your change was not saved. Reload to see theirs, or apply yours on top.")
        : h("p", {}, `The ${what} was deleted meanwhile; your change was not saved.`),
      record ? table(differences(fields, seen, record, mine)) : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: reload }, "Reload"),
        record ? retryButton : null,
      ),
      slot,
    ),
  );
  container.hidden = false;
  container.querySelector("h3").focus();
}

/**
 * A "Delete …" button (`label`) that asks first (`confirm()`: the dialog's title and message),
 * deletes with the ETag the page holds (`remove(etag())`) and, on a 412, shows the conflict in
 * `box`: reload, or delete anyway. `conflict`: showConflict's options but `mine` and `retry`.
 */
export function deleteButton({ label, confirm, remove, etag, slot, box, conflict }) {
  const action = button(
    label,
    async () => {
      if (!(await confirmDialog({ ...confirm(), confirmLabel: label }))) return;
      await run(action, slot, () => remove(etag()), {
        onConflict: () =>
          showConflict(box, { ...conflict, mine: {}, retry: remove }).catch((error) =>
            showError(slot, error),
          ),
      });
    },
    { kind: "danger" },
  );
  return action;
}
