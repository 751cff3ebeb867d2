// The URL holds the state (view, query, filters, page, open customer), so reload,
// back/forward and a pasted link restore the same view. Paths are the server's /app routes.

export const BASE = "/app";

const ROUTES = [
  [/^\/?$/, "home"],
  [/^\/customers\/([^/]+)\/?$/, "customer"],
  [/^\/groups\/?$/, "groups"],
  [/^\/groups\/([^/]+)\/?$/, "group"],
];

/** `{name, id, query}` for a location (`query` is a URLSearchParams). */
export function parse(pathname, search) {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const query = new URLSearchParams(search);
  for (const [pattern, name] of ROUTES) {
    const match = path.match(pattern);
    if (match) return { name, id: match[1] ? decodeURIComponent(match[1]) : "", query };
  }
  return { name: "missing", id: "", query };
}

/** The route of the current location. */
export function current() {
  return parse(window.location.pathname, window.location.search);
}

/** A URL of the app: `link("customers", id)`, `link("", "", {q: "ann"})`. */
export function link(section = "", id = "", query = {}) {
  let path = BASE;
  if (section) path += `/${section}`;
  if (id) path += `/${encodeURIComponent(id)}`;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(name, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

const listeners = new Set();

/** Call `listener()` whenever the route changes (navigation, back/forward). */
export function onChange(listener) {
  listeners.add(listener);
}

/**
 * Go to `url`. `replace`: replace the history entry instead of adding one (typing a query).
 * `quiet`: only record it; the view on screen already shows it (filters, paging).
 */
export function navigate(url, { replace = false, quiet = false } = {}) {
  const here = window.location.pathname + window.location.search;
  if (url === here && !quiet) return notify();
  if (url !== here) window.history[replace ? "replaceState" : "pushState"](null, "", url);
  if (!quiet) notify();
}

function notify() {
  for (const listener of listeners) listener();
}

/** Follow back/forward, and turn plain clicks on the app's own links into navigations. */
export function install() {
  window.addEventListener("popstate", notify);
  document.addEventListener("click", (event) => {
    const anchor = event.target.closest ? event.target.closest("a[href]") : null;
    if (!anchor || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || anchor.target) return;
    if (anchor.getAttribute("href").startsWith("#")) return; // in-page (the skip link)
    const url = new URL(anchor.href, window.location.href);
    const ours = url.pathname === BASE || url.pathname.startsWith(`${BASE}/`);
    if (url.origin !== window.location.origin || !ours) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
