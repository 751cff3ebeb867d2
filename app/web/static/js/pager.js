// Paging controls and the tables of customers shared by the list and a group's members.

import { h } from "./dom.js";
import { accountBadge, clipped, count, day, deletedBadge, displayName, plural } from "./format.js";
import { link } from "./router.js";

/** Page number (1-based) from a URL parameter; anything else is page 1. */
export function pageOf(value) {
  const page = Number.parseInt(value || "1", 10);
  return Number.isFinite(page) && page > 0 ? page : 1;
}

/**
 * "Previous" / "Next" and where we are: `{page, size, total, noun, go(page)}`.
 * The status line says the range and the total count ("21–40 of 1,234 customers").
 */
export function pager({ page, size, total, noun, go }) {
  const what = `${noun}s`;
  const pages = Math.max(1, Math.ceil(total / size));
  const first = total ? (page - 1) * size + 1 : 0;
  const last = Math.min(total, page * size);
  const where =
    total === 0
      ? `No ${what}`
      : first > total
        ? `Page ${count(page)} is past the last ${what} (${count(total)} in all)`
        : `${count(first)}–${count(last)} of ${plural(total, noun)}`;
  return h(
    "nav",
    { class: "pager", "aria-label": `Pages of ${what}` },
    h(
      "button",
      { type: "button", disabled: page <= 1, onclick: () => go(Math.min(page - 1, pages)) },
      "Previous",
    ),
    h("span", { role: "status" }, `${where} · page ${count(page)} of ${count(pages)}`),
    h("button", { type: "button", disabled: page >= pages, onclick: () => go(page + 1) }, "Next"),
  );
}

/** A table of customers; `actions(customer)` adds a last column (e.g. "Remove"). */
export function customerTable(customers, { caption, actions = null }) {
  const heads = ["Name", "Email", "Phone", "Company", "Account", "Created"];
  if (actions) heads.push("Actions");
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "customers" },
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          heads.map((head) => h("th", { scope: "col" }, head)),
        ),
      ),
      h(
        "tbody",
        {},
        customers.map((customer) =>
          h(
            "tr",
            {},
            h(
              "th",
              { scope: "row" },
              h("a", { href: link("customers", customer.id) }, displayName(customer)),
            ),
            h("td", { class: "wrap" }, clipped(customer.email)),
            h("td", {}, clipped(customer.phone)),
            h("td", {}, clipped(customer.company_name)),
            h("td", {}, accountBadge(customer), deletedBadge(customer)),
            h("td", {}, day(customer.created_at)),
            actions ? h("td", {}, actions(customer)) : null,
          ),
        ),
      ),
    ),
  );
}
