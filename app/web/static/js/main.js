// The app's entry point: sign-in or the view the URL names, the header, and the `/` key.

import { badge, h } from "./dom.js";
import * as router from "./router.js";
import * as session from "./session.js";
import { customerView } from "./views/customer.js";
import { groupView } from "./views/group.js";
import { groupsView } from "./views/groups.js";
import { homeView } from "./views/home.js";
import { signInView } from "./views/signin.js";

function missingView(root) {
  document.title = "Not found · Customers";
  root.replaceChildren(
    h("h1", {}, "Page not found"),
    h("p", {}, h("a", { href: router.link() }, "Go to the customers")),
  );
}

const VIEWS = {
  home: homeView,
  customer: customerView,
  groups: groupsView,
  group: groupView,
  missing: missingView,
};

const view = document.getElementById("view");
const bar = document.getElementById("bar");
let cleanup = null;

function navLink(text, href, current) {
  return h("li", {}, h("a", { href, "aria-current": current ? "page" : null }, text));
}

function header(route) {
  const inCustomers = route.name === "home" || route.name === "customer";
  bar.replaceChildren(
    h("a", { class: "brand", href: router.link() }, "Customers admin"),
    h(
      "nav",
      { "aria-label": "Main" },
      h(
        "ul",
        {},
        navLink("Customers", router.link(), inCustomers),
        navLink("Groups", router.link("groups"), !inCustomers && route.name !== "missing"),
      ),
    ),
    h(
      "div",
      { class: "session" },
      session.canWrite() ? null : badge("Read-only key", "readonly"),
      h(
        "button",
        { type: "button", onclick: () => session.end("You signed out.") },
        "Sign out",
      ),
    ),
  );
  bar.hidden = false;
}

function render() {
  if (cleanup) cleanup();
  cleanup = null;
  const route = router.current();
  if (!session.key()) {
    bar.hidden = true;
    bar.replaceChildren();
    document.title = "Sign in · Customers";
    signInView(view, { message: session.takeEndReason(), done: render });
    return;
  }
  header(route);
  cleanup = VIEWS[route.name](view, route) || null;
}

/** `/` anywhere but in a text control goes to the search field. */
function slashToSearch(event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (!session.key() || document.querySelector("dialog[open]")) return;
  if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) {
    return;
  }
  event.preventDefault();
  const field = view.querySelector("input[data-lookup]");
  if (field) field.focus();
  else router.navigate(router.link()); // the start page focuses its search field
}

router.onChange(render);
router.install();
window.addEventListener("session-ended", render);
document.addEventListener("keydown", slashToSearch);
render();
