// The customer list shown while the search field is empty: filters (group, account, created
// between, deleted), sort and paging with the total count, all held in the URL.

import * as api from "../api.js";
import { allGroups } from "../catalog.js";
import { h, replace } from "../dom.js";
import { errorSlot, selectField, showError, textField } from "../forms.js";
import { startOfDay } from "../format.js";
import { customerTable, pageOf, pager } from "../pager.js";

export const PAGE_SIZE = 25;
/** The URL parameters of the list (the search field's is `q`). */
export const LIST_PARAMS = ["group", "account", "from", "to", "deleted", "sort", "page"];

const SORTS = [
  ["-created_at", "Newest first"],
  ["created_at", "Oldest first"],
  ["last_name", "Last name, A to Z"],
  ["-last_name", "Last name, Z to A"],
  ["first_name", "First name, A to Z"],
  ["email", "Email, A to Z"],
  ["company_name", "Company, A to Z"],
  ["-updated_at", "Recently updated"],
];
const EPOCH = "1970-01-01T00:00:00.000Z";

/** The API query of the list for `params` (the URL's list parameters). */
export function listQuery(params) {
  const query = {
    limit: PAGE_SIZE,
    offset: (pageOf(params.page) - 1) * PAGE_SIZE,
    order: SORTS.some(([value]) => value === params.sort) ? params.sort : SORTS[0][0],
  };
  if (params.group) query.groups = params.group;
  if (params.account) query.has_account = params.account === "yes";
  const created = { $gte: startOfDay(params.from), $lt: startOfDay(params.to, 1) };
  if (created.$gte || created.$lt) query.created_at = created;
  if (params.deleted === "only") query.deleted_at = { $gt: EPOCH };
  if (params.deleted) query.with_deleted = true;
  return query;
}

function filterForm(params, changed) {
  const group = selectField({
    label: "Group",
    name: "group",
    options: [["", "Any group"]],
    value: params.group || "",
  });
  const form = h(
    "form",
    { class: "filters", "aria-label": "Filter and sort customers" },
    group,
    selectField({
      label: "Account",
      name: "account",
      options: [
        ["", "Any"],
        ["yes", "Registered (account)"],
        ["no", "Guest"],
      ],
      value: params.account || "",
    }),
    textField({ label: "Created from", name: "from", type: "date", value: params.from }),
    textField({ label: "Created to", name: "to", type: "date", value: params.to }),
    selectField({
      label: "Deleted",
      name: "deleted",
      options: [
        ["", "Live customers"],
        ["only", "Deleted only"],
        ["all", "Live and deleted"],
      ],
      value: params.deleted || "",
    }),
    selectField({ label: "Sort by", name: "sort", options: SORTS, value: params.sort || "" }),
  );
  form.addEventListener("change", () => {
    const next = {};
    for (const control of form.elements) if (control.name) next[control.name] = control.value;
    changed(next);
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  const select = group.querySelector("select");
  allGroups()
    .then((groups) => {
      for (const { id, name } of groups) {
        select.append(h("option", { value: id, selected: id === params.group }, name));
      }
    })
    .catch(() => {}); // the filter then offers "Any group" only; the list still works
  return form;
}

/**
 * The list for `params` (the URL's list parameters); `onParams(next)` records changed ones.
 * Returns `{element, load, stop}`.
 */
export function customerList(params, onParams) {
  let current = { ...params };
  let seq = 0;
  let controller = null;
  const results = h("div", { class: "list-results", "aria-live": "polite" });
  const slot = errorSlot();

  async function load() {
    const mine = ++seq;
    controller?.abort();
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    try {
      const data = await api.get("/admin/customers", listQuery(current), {
        signal: controller.signal,
      });
      if (mine !== seq) return;
      slot.hidden = true;
      const page = pageOf(current.page);
      replace(
        results,
        customerTable(data.customers, { caption: "Customers" }),
        pager({ page, size: PAGE_SIZE, total: data.count, noun: "customer", go: setPage }),
      );
    } catch (error) {
      if (error.name !== "AbortError" && mine === seq) showError(slot, error);
    } finally {
      if (mine === seq) results.removeAttribute("aria-busy");
    }
  }

  function setPage(page) {
    current = { ...current, page: page > 1 ? String(page) : "" };
    onParams(current);
    load();
  }

  const form = filterForm(current, (next) => {
    current = { ...next, page: "" };
    onParams(current);
    load();
  });
  const element = h("section", { class: "list", "aria-label": "All customers" }, form, slot, results);
  return { element, load, stop: () => controller?.abort() };
}
