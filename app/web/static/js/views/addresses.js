// A customer's addresses: default badges; add, edit, delete, make default.
//
// Addresses are embedded in the customer, so each has its own ETag (read from
// GET …/addresses/<id>). A change is based on the address as the admin saw it: the page reads
// it again first, and a difference (or a 412) shows the conflict instead of applying it.

import * as api from "../api.js";
import { showConflict } from "../conflict.js";
import { badge, card, h, replace } from "../dom.js";
import {
  button,
  changedFields,
  checkboxField,
  confirmDialog,
  errorSlot,
  run,
  showError,
  textField,
  valuesOf,
} from "../forms.js";
import { addressPath, CUSTOMER_FIELDS, customerPath, readAddress } from "../resources.js";

const TITLE = "Addresses";
const TEXT_FIELDS = [
  ["address_name", "Address name"],
  ["first_name", "First name"],
  ["last_name", "Last name"],
  ["company", "Company"],
  ["address_1", "Address line 1"],
  ["address_2", "Address line 2"],
  ["postal_code", "Postal code"],
  ["city", "City"],
  ["province", "Province or state"],
  ["country_code", "Country code"],
  ["phone", "Phone"],
];
const DEFAULTS = [
  ["is_default_shipping", "Default shipping address"],
  ["is_default_billing", "Default billing address"],
];
const COMPARED = [...TEXT_FIELDS, ...DEFAULTS];

function lines(address) {
  const name = [address.first_name, address.last_name].filter(Boolean).join(" ");
  const place = [address.postal_code, address.city].filter(Boolean).join(" ");
  return [name, address.company, address.address_1, address.address_2, place, address.province,
    address.country_code && address.country_code.toUpperCase(), address.phone]
    .filter(Boolean)
    .map((line) => h("span", { class: "line" }, line));
}

function sameAddress(a, b) {
  return COMPARED.every(([name]) => (a[name] ?? null) === (b[name] ?? null));
}

function addressForm({ address = {}, label, submitText, onSubmit, onCancel }) {
  const slot = errorSlot();
  const save = h("button", { type: "submit", class: "primary" }, submitText);
  const form = h(
    "form",
    { class: "edit address-form", "aria-label": label, novalidate: true },
    h("div", { class: "grid" }, TEXT_FIELDS.map(([name, text]) =>
      textField({ label: text, name, value: address[name] }))),
    DEFAULTS.map(([name, text]) => checkboxField({ label: text, name, checked: address[name] })),
    slot,
    h("div", { class: "actions" }, save, button("Cancel", onCancel)),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onSubmit({ form, save, slot, values: valuesOf(form) });
  });
  return form;
}

function addressCard(page, address) {
  const slot = errorSlot();
  const conflictBox = h("div", { hidden: true });
  const card = h("li", { class: "address" });
  const name = address.address_name || "Address";

  /**
   * The address as stored now. The admin API's address answers leave out its name and default
   * flags (Medusa's shape): those are taken from the customer's copy on the page.
   */
  async function fresh() {
    const { record, etag } = await readAddress(page.id, address.id);
    return { record: { ...address, ...record }, etag };
  }

  /** Apply `mine` (or delete, when `mine` is null) based on `etag`, then redraw the page. */
  async function apply(mine, etag) {
    const path = addressPath(page.id, address.id);
    const options = { query: { fields: CUSTOMER_FIELDS }, ifMatch: etag };
    if (mine === null) {
      const { data } = await api.request(path, { ...options, method: "DELETE" });
      page.show(data.parent, page.etag, TITLE);
    } else {
      const { data } = await api.request(path, { ...options, method: "POST", body: mine });
      page.show(data.customer, page.etag, TITLE);
    }
  }

  function conflict(seen, mine) {
    return showConflict(conflictBox, {
      what: "address",
      fields: COMPARED,
      seen,
      mine: mine || {},
      load: fresh,
      reload: () => page.reload(),
      retry: (etag) => apply(mine, etag),
    }).catch((error) => showError(slot, error));
  }

  /** Change the address as shown, unless it changed since: then show what changed. */
  async function guarded(control, mine) {
    await run(control, slot, async () => {
      const now = await fresh();
      if (!sameAddress(address, now.record)) return conflict(address, mine);
      await apply(mine, now.etag);
    }, { onConflict: () => conflict(address, mine) });
  }

  async function edit(control) {
    const now = await run(control, slot, fresh);
    if (!now) return;
    const form = addressForm({
      address: now.record,
      label: `Edit address ${name}`,
      submitText: "Save address",
      onCancel: () => page.show(page.customer, page.etag, TITLE),
      onSubmit: ({ form: edited, save, slot: formSlot, values }) => {
        const mine = changedFields(now.record, values);
        run(save, formSlot, () => apply(mine, now.etag), {
          form: edited,
          onConflict: () => conflict(now.record, mine),
        });
      },
    });
    replace(card, conflictBox, form);
    form.querySelector("input").focus();
  }

  const actions = [];
  if (page.writable) {
    const editButton = button("Edit", () => edit(editButton), { label: `Edit address ${name}` });
    actions.push(editButton);
    for (const [flag, text] of DEFAULTS) {
      if (address[flag]) continue;
      const short = flag === "is_default_shipping" ? "shipping" : "billing";
      const make = button(`Make default ${short}`, () => guarded(make, { [flag]: true }), {
        label: `Make ${name} the default ${short} address`,
      });
      actions.push(make);
    }
    const remove = button("Delete", async () => {
      const sure = await confirmDialog({
        title: "Delete this address?",
        message: `${name} will be removed from this customer. This cannot be undone.`,
        confirmLabel: "Delete address",
      });
      if (sure) await guarded(remove, null);
    }, { kind: "danger", label: `Delete address ${name}` });
    actions.push(remove);
  }
  replace(
    card,
    h("h3", {}, name),
    h("span", { class: "badges" },
      address.is_default_shipping ? badge("Default shipping", "default") : null,
      address.is_default_billing ? badge("Default billing", "default") : null),
    h("p", { class: "address-lines" }, lines(address)),
    conflictBox,
    actions.length ? h("div", { class: "actions" }, actions) : null,
    slot,
  );
  return card;
}

function addForm(page, holder) {
  const open = () => {
    const form = addressForm({
      label: "New address",
      submitText: "Add address",
      onCancel: () => replace(holder, opener),
      onSubmit: ({ form: added, save, slot, values }) => {
        const body = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
        run(save, slot, async () => {
          const { data } = await api.request(`${customerPath(page.id)}/addresses`, {
            method: "POST",
            query: { fields: CUSTOMER_FIELDS },
            body,
          });
          page.show(data.customer, page.etag, TITLE);
        }, { form: added });
      },
    });
    replace(holder, form);
    form.querySelector("input").focus();
  };
  const opener = button("Add address", open);
  replace(holder, opener);
  return holder;
}

/** The "Addresses" card of the customer page. */
export function addressesSection(page) {
  const addresses = page.customer.addresses || [];
  return card(
    TITLE,
    addresses.length
      ? h("ul", { class: "addresses" }, addresses.map((address) => addressCard(page, address)))
      : h("p", { class: "muted" }, "No addresses."),
    page.writable ? addForm(page, h("div", { class: "add" })) : null,
  );
}
