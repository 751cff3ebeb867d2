// The groups a customer belongs to: add to a group, remove from one. Memberships are a set
// and their routes take no If-Match: adding twice or removing a removed one changes nothing.

import * as api from "../api.js";
import { allGroups } from "../catalog.js";
import { card, h, uid } from "../dom.js";
import { button, errorSlot, run, showError } from "../forms.js";
import { CUSTOMER_FIELDS, customerPath } from "../resources.js";
import { link } from "../router.js";

const TITLE = "Groups";

async function changeGroups(page, change) {
  const { data } = await api.request(`${customerPath(page.id)}/customer-groups`, {
    method: "POST",
    query: { fields: CUSTOMER_FIELDS },
    body: change,
  });
  page.show(data.customer, page.etag, TITLE);
}

function member(page, group, slot) {
  const remove = button("Remove", () => run(remove, slot, () => changeGroups(page, { remove: [group.id] })), {
    label: `Remove from group ${group.name}`,
  });
  return h(
    "li",
    {},
    h("a", { href: link("groups", group.id) }, group.name),
    page.writable ? remove : null,
  );
}

function adder(page, slot) {
  const selectId = uid("add-group");
  const select = h("select", { id: selectId, name: "group" }, h("option", { value: "" }, "Choose a group"));
  const add = h("button", { type: "submit" }, "Add");
  const form = h(
    "form",
    { class: "inline", "aria-label": "Add to a group" },
    h("label", { for: selectId }, "Add to group"),
    select,
    add,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!select.value) {
      showError(slot, new Error("Choose a group first."));
      return;
    }
    run(add, slot, () => changeGroups(page, { add: [select.value] }));
  });
  const joined = new Set((page.customer.groups || []).map((group) => group.id));
  allGroups()
    .then((groups) => {
      for (const group of groups) {
        if (!joined.has(group.id)) select.append(h("option", { value: group.id }, group.name));
      }
    })
    .catch((error) => showError(slot, error));
  return form;
}

/** The "Groups" card of the customer page. */
export function groupsSection(page) {
  const groups = page.customer.groups || [];
  const slot = errorSlot();
  return card(
    TITLE,
    groups.length
      ? h("ul", { class: "chips" }, groups.map((group) => member(page, group, slot)))
      : h("p", { class: "muted" }, "In no group."),
    page.writable ? adder(page, slot) : null,
    slot,
  );
}
