// `/app/groups`: the customer groups (filtered by name, paged) and creating one.

import * as api from "../api.js";
import { forgetGroups } from "../catalog.js";
import { card, focusHeading, h, replace } from "../dom.js";
import { errorSlot, run, showError, textField } from "../forms.js";
import { day } from "../format.js";
import { pageOf, pager } from "../pager.js";
import { link, navigate } from "../router.js";
import * as session from "../session.js";

const PAGE_SIZE = 25;
const FILTER_DEBOUNCE_MS = 150;

function table(groups) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      {},
      h("caption", {}, "Customer groups"),
      h(
        "thead",
        {},
        h("tr", {}, ["Name", "Created", "Updated"].map((head) => h("th", { scope: "col" }, head))),
      ),
      h(
        "tbody",
        {},
        groups.map((group) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("a", { href: link("groups", group.id) }, group.name)),
            h("td", {}, day(group.created_at)),
            h("td", {}, day(group.updated_at)),
          ),
        ),
      ),
    ),
  );
}

function createForm() {
  const slot = errorSlot();
  const create = h("button", { type: "submit", class: "primary" }, "Create group");
  const form = h(
    "form",
    { class: "inline", "aria-label": "Create a group", novalidate: true },
    textField({ label: "New group name", name: "name" }),
    create,
    slot,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    const created = await run(
      create,
      slot,
      () => api.request("/admin/customer-groups", { method: "POST", body: { name } }),
      { form },
    );
    if (!created) return;
    forgetGroups();
    navigate(link("groups", created.data.customer_group.id));
  });
  return card("New group", form);
}

/** `/app/groups?q=…&page=…`. Returns a cleanup function. */
export function groupsView(root, route) {
  let q = route.query.get("q") || "";
  let page = pageOf(route.query.get("page"));
  let seq = 0;
  let timer = 0;
  const slot = errorSlot();
  const results = h("div", { "aria-live": "polite" });
  const filter = textField({ label: "Filter groups by name", name: "q", value: q });

  async function load() {
    const mine = ++seq;
    try {
      const data = await api.get("/admin/customer-groups", {
        q: q.trim(),
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
        order: "name",
      });
      if (mine !== seq) return;
      slot.hidden = true;
      const go = (next) => {
        page = next;
        navigate(link("groups", "", { q, page: page > 1 ? page : "" }), { quiet: true });
        load();
      };
      replace(
        results,
        table(data.customer_groups),
        pager({ page, size: PAGE_SIZE, total: data.count, noun: "group", go }),
      );
    } catch (error) {
      if (mine === seq) showError(slot, error);
    }
  }

  filter.querySelector("input").addEventListener("input", (event) => {
    q = event.target.value;
    page = 1;
    navigate(link("groups", "", { q }), { replace: true, quiet: true });
    clearTimeout(timer);
    timer = setTimeout(load, FILTER_DEBOUNCE_MS);
  });
  document.title = "Groups · Customers";
  replace(
    root,
    h("h1", {}, "Customer groups"),
    session.canWrite() ? createForm() : null,
    h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() }, filter),
    slot,
    results,
  );
  focusHeading(root);
  load();
  return () => {
    clearTimeout(timer);
    seq += 1;
  };
}
