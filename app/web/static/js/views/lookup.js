// Search-as-you-type over the ranked lookup (GET /admin/customers/search).
//
// Each keystroke restarts a short debounce; each search aborts the one before it, and an
// answer is drawn only if no newer search has started since (a slow earlier answer never
// overwrites a newer one). ↑/↓ move through the rows, Enter opens one, Esc clears.
// The list is `aria-busy` from a keystroke until the answer to it is drawn (or fails).
// Each keystroke marks `lookup-input` and each drawing `lookup-rendered` (Performance API, with
// the query in `detail`): scripts/bench_lookup_browser.py reads them.

import * as api from "../api.js";
import { h, uid } from "../dom.js";
import { accountBadge, clipped, deletedBadge, plural } from "../format.js";
import { highlighted, rangesOf } from "../highlight.js";
import { link, navigate } from "../router.js";

export const DEBOUNCE_MS = 60;
const HITS = 20;

function field(hit, name) {
  const value = hit.customer[name];
  return value ? highlighted(value, rangesOf(hit, name)) : null;
}

function title(hit) {
  const { first_name: first, last_name: last } = hit.customer;
  if (!first && !last) return field(hit, "email");
  return [field(hit, "first_name"), first && last ? " " : null, field(hit, "last_name")];
}

function details(hit) {
  const groups = (hit.customer.groups || []).map((group) => group.name).filter(Boolean);
  const parts = [field(hit, "phone"), field(hit, "company_name")].filter(Boolean);
  if (groups.length) parts.push(clipped(`Groups: ${groups.join(", ")}`));
  return parts.flatMap((part, i) => (i ? [" · ", part] : [part]));
}

function row(hit, id) {
  const customer = hit.customer;
  return h(
    "li",
    { id, class: "hit" },
    h(
      "a",
      { href: link("customers", customer.id) },
      h("span", { class: "hit-title" }, title(hit)),
      h("span", { class: "badges" }, accountBadge(customer), deletedBadge(customer)),
      h("span", { class: "hit-email" }, field(hit, "email")),
      h("span", { class: "hit-details" }, details(hit)),
    ),
  );
}

/**
 * The search field and its results. `onQuery(text)` is told every change of the text (to keep
 * the URL in step); `onEmpty(isEmpty)` when the field becomes empty or not (the list shows).
 */
export function lookup({ initial = "", onQuery, onEmpty }) {
  const inputId = uid("q");
  const listId = uid("results");
  const statusId = uid("status");
  const input = h("input", {
    id: inputId,
    type: "search",
    name: "q",
    value: initial,
    autocomplete: "off",
    spellcheck: "false",
    enterkeyhint: "go",
    "data-lookup": true,
    "aria-controls": listId,
    "aria-describedby": statusId,
  });
  const status = h("p", { id: statusId, class: "status", role: "status" });
  const list = h("ul", { id: listId, class: "results", "aria-label": "Matching customers" });
  const state = { seq: 0, timer: 0, controller: null, hits: [], shownFor: null, active: -1 };
  let openWhenShown = false;

  function setActive(index) {
    const rows = list.children;
    if (rows[state.active]) {
      rows[state.active].classList.remove("active");
      rows[state.active].removeAttribute("aria-current");
    }
    state.active = index;
    const chosen = rows[index];
    if (chosen) {
      chosen.classList.add("active");
      chosen.setAttribute("aria-current", "true");
      chosen.scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", chosen.id);
    } else input.removeAttribute("aria-activedescendant");
  }

  function open(index) {
    const hit = state.hits[index];
    if (hit) navigate(link("customers", hit.customer.id));
  }

  function busy(yes) {
    if (yes) list.setAttribute("aria-busy", "true");
    else list.removeAttribute("aria-busy");
  }

  function show(text, data) {
    busy(false);
    state.hits = data.hits;
    state.shownFor = text;
    state.active = -1;
    input.removeAttribute("aria-activedescendant");
    list.replaceChildren(...data.hits.map((hit, i) => row(hit, `${listId}-${i}`)));
    status.textContent = data.count
      ? `${plural(data.count, "match", "matches")}${data.count > data.hits.length ? `, best ${data.hits.length} shown` : ""}`
      : `No customers match “${text}”.`;
    status.classList.remove("error");
    performance.clearMarks("lookup-rendered");
    performance.mark("lookup-rendered", { detail: { q: text, hits: data.hits.length } });
    if (openWhenShown) {
      openWhenShown = false;
      open(0);
    }
  }

  function clear() {
    busy(false);
    state.controller?.abort();
    state.seq += 1;
    state.hits = [];
    state.shownFor = "";
    list.replaceChildren();
    status.textContent = "";
    input.removeAttribute("aria-activedescendant");
  }

  async function search() {
    const text = input.value.trim();
    onEmpty(!text);
    if (!text) return clear();
    busy(true);
    const mine = ++state.seq;
    state.controller?.abort();
    state.controller = new AbortController();
    try {
      const data = await api.get(
        "/admin/customers/search",
        { q: text, limit: HITS, fields: "*groups" },
        { signal: state.controller.signal },
      );
      if (mine === state.seq) show(text, data);
    } catch (error) {
      if (error.name === "AbortError" || mine !== state.seq) return;
      busy(false);
      status.textContent = error.message;
      status.classList.add("error");
    }
  }

  input.addEventListener("input", (event) => {
    // When the key was pressed (the event's time), not when a busy page got round to it.
    performance.clearMarks("lookup-input");
    performance.mark("lookup-input", { startTime: event.timeStamp, detail: { q: input.value.trim() } });
    busy(true);
    clearTimeout(state.timer);
    state.timer = setTimeout(search, DEBOUNCE_MS);
    onQuery(input.value);
  });
  input.addEventListener("keydown", (event) => {
    const last = state.hits.length - 1;
    if (event.key === "ArrowDown" && last >= 0) setActive(Math.min(state.active + 1, last));
    else if (event.key === "ArrowUp" && last >= 0) setActive(Math.max(state.active - 1, 0));
    else if (event.key === "Enter") {
      if (state.active >= 0) open(state.active);
      else if (state.shownFor === input.value.trim()) open(0);
      else {
        openWhenShown = true; // the answer to what was typed is still on its way
        clearTimeout(state.timer);
        search();
      }
    } else if (event.key === "Escape") {
      input.value = "";
      clearTimeout(state.timer);
      onQuery("");
      search();
    } else return;
    event.preventDefault();
  });

  const element = h(
    "div",
    { class: "lookup" },
    h(
      "form",
      { role: "search", class: "search", onsubmit: (event) => event.preventDefault() },
      h("label", { for: inputId }, "Search customers"),
      input,
      h("small", { class: "hint" }, "Name, email, company or phone. Press / to come back here."),
    ),
    status,
    list,
  );
  return {
    element,
    input,
    /** Run the search for the current text now (on load, back/forward). */
    refresh: search,
    stop: () => {
      clearTimeout(state.timer);
      state.controller?.abort();
    },
  };
}
