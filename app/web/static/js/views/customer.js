// One customer: profile, addresses, groups, metadata and times; edit, delete and restore.
//
// The page keeps the customer's ETag from the last read or write of the customer itself and
// sends it as If-Match, so an edit based on an outdated page is refused (412), not applied.

import * as api from "../api.js";
import { deleteButton, showConflict } from "../conflict.js";
import { card, focusCard, focusHeading, h, replace } from "../dom.js";
import {
  button,
  changedFields,
  errorSlot,
  run,
  showError,
  textField,
  valuesOf,
} from "../forms.js";
import { accountBadge, dateTime, deletedBadge, displayName, metadataValue } from "../format.js";
import {
  CUSTOMER_FIELDS,
  customerPath,
  findCustomer,
  readCustomer,
} from "../resources.js";
import { link } from "../router.js";
import * as session from "../session.js";
import { addressesSection } from "./addresses.js";
import { groupsSection } from "./memberships.js";

const PROFILE = [
  ["first_name", "First name", "text"],
  ["last_name", "Last name", "text"],
  ["email", "Email", "email"],
  ["company_name", "Company", "text"],
  ["phone", "Phone", "tel"],
];

function definitionList(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value || "—")]),
  );
}

function profileSection(page) {
  const { customer } = page;
  const body = h("div");
  const conflictBox = h("div", { hidden: true });
  const showFacts = () =>
    replace(
      body,
      definitionList(PROFILE.map(([name, label]) => [label, customer[name]])),
      page.writable ? button("Edit profile", edit, { label: "Edit profile" }) : null,
    );

  function edit() {
    const slot = errorSlot();
    const save = h("button", { type: "submit", class: "primary" }, "Save profile");
    const form = h(
      "form",
      { class: "edit", "aria-label": "Edit profile", novalidate: true },
      PROFILE.map(([name, label, type]) => textField({ label, name, type, value: customer[name] })),
      slot,
      h("div", { class: "actions" }, save, button("Cancel", showFacts)),
    );
    const submit = (etag) =>
      run(save, slot, () => update(changedFields(customer, valuesOf(form)), etag), {
        form,
        onConflict: () => conflict(changedFields(customer, valuesOf(form))),
      });
    async function update(changes, etag) {
      if (!Object.keys(changes).length) return showFacts();
      const { data, etag: next } = await api.request(customerPath(page.id), {
        method: "POST",
        query: { fields: CUSTOMER_FIELDS },
        body: changes,
        ifMatch: etag,
      });
      page.show(data.customer, next || page.etag, "Profile");
    }
    const conflict = (mine) =>
      showConflict(conflictBox, {
        what: "customer",
        fields: PROFILE,
        seen: customer,
        mine,
        load: () => readCustomer(page.id),
        reload: () => page.reload(),
        retry: (etag) => update(mine, etag),
      }).catch((error) => showError(slot, error));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit(page.etag);
    });
    replace(body, form);
    form.querySelector("input").focus();
  }

  showFacts();
  return card("Profile", conflictBox, body);
}

function metadataSection(customer) {
  const entries = Object.entries(customer.metadata || {});
  return card(
    "Metadata",
    entries.length
      ? definitionList(entries.map(([key, value]) => [key, metadataValue(value)]))
      : h("p", { class: "muted" }, "No metadata."),
  );
}

function recordSection(customer) {
  return card(
    "Record",
    definitionList([
      ["Customer id", h("code", {}, customer.id)],
      ["Created", dateTime(customer.created_at)],
      ["Updated", dateTime(customer.updated_at)],
      ["Created by", customer.created_by],
      customer.deleted_at ? ["Deleted", dateTime(customer.deleted_at)] : null,
    ].filter(Boolean)),
  );
}

function deleteSection(page) {
  const slot = errorSlot();
  const conflictBox = h("div", { hidden: true });
  const remove = async (etag) => {
    await api.request(customerPath(page.id), { method: "DELETE", ifMatch: etag });
    page.show({ ...page.customer, deleted_at: new Date().toISOString() }, null);
  };
  const action = deleteButton({
    label: "Delete customer",
    confirm: () => ({
      title: "Delete this customer?",
      message: `${displayName(page.customer)} and their addresses will be deleted. An admin can restore them later.`,
    }),
    remove,
    etag: () => page.etag,
    slot,
    box: conflictBox,
    conflict: {
      what: "customer",
      fields: PROFILE,
      seen: page.customer,
      load: () => readCustomer(page.id),
      reload: () => page.reload(),
    },
  });
  return card("Delete", h("p", {}, "Deleting hides the customer from lists and lookups."), conflictBox, action, slot);
}

function deletedNotice(page) {
  const slot = errorSlot();
  const restore = button("Restore customer", () =>
    run(restore, slot, async () => {
      await api.request(`${customerPath(page.id)}/restore`, { method: "POST" });
      await page.reload();
    }),
  );
  return h(
    "div",
    { class: "notice deleted", role: "status" },
    h("p", {}, `This customer was deleted on ${dateTime(page.customer.deleted_at)}.`),
    page.canWrite ? restore : null,
    slot,
  );
}

function draw(root, page) {
  const { customer } = page;
  const name = displayName(customer);
  document.title = `${name} · Customers`;
  replace(
    root,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: link() }, "Customers"), " › ", name),
    h("div", { class: "record-head" }, h("h1", {}, name), h("span", { class: "badges" }, accountBadge(customer), deletedBadge(customer))),
    customer.email && name !== customer.email ? h("p", { class: "lead" }, customer.email) : null,
    customer.deleted_at ? deletedNotice(page) : null,
    h(
      "div",
      { class: "sections" },
      profileSection(page),
      addressesSection(page),
      groupsSection(page),
      metadataSection(customer),
      recordSection(customer),
      page.writable ? deleteSection(page) : null,
    ),
  );
}

/** `/app/customers/<id>`. */
export function customerView(root, route) {
  let live = true;
  const page = {
    id: route.id,
    customer: null,
    etag: null,
    canWrite: session.canWrite(),
    get writable() {
      return this.canWrite && !this.customer.deleted_at;
    },
    /**
     * Redraw with `customer` (and the customer's ETag, when the answer carried one); the focus
     * goes back to the heading of the section `focus` names (where the admin was working).
     */
    show(customer, etag = page.etag, focus = "") {
      if (!live) return;
      page.customer = customer;
      page.etag = etag;
      draw(root, page);
      if (focus) focusCard(root, focus);
    },
    /** Read the customer again and redraw (after a conflict, a restore). */
    async reload() {
      const found = await findCustomer(page.id);
      if (!live) return;
      if (!found) return notFound(root, page.id);
      page.show(found.record, found.etag);
      focusHeading(root);
    },
  };
  document.title = "Customer · Customers";
  replace(root, h("h1", {}, "Customer"), h("p", { role: "status" }, "Loading…"));
  page.reload().catch((error) => {
    if (!live) return;
    const slot = errorSlot();
    replace(root, h("h1", {}, "Customer"), slot);
    showError(slot, error);
  });
  return () => {
    live = false;
  };
}

function notFound(root, id) {
  document.title = "Customer not found · Customers";
  replace(
    root,
    h("h1", {}, "Customer not found"),
    h("p", {}, `No customer has the id ${id}.`),
    h("p", {}, h("a", { href: link() }, "Back to the customers")),
  );
  focusHeading(root);
}
