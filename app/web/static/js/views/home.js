// The start page: the lookup, and the customer list while the search field is empty.

import { h } from "../dom.js";
import { link, navigate } from "../router.js";
import { customerList, LIST_PARAMS } from "./customer_list.js";
import { lookup } from "./lookup.js";

/** `/app?q=…` (lookup) or `/app?group=…&page=…` (list). Returns a cleanup function. */
export function homeView(root, route) {
  let q = route.query.get("q") || "";
  let listParams = Object.fromEntries(LIST_PARAMS.map((name) => [name, route.query.get(name) || ""]));
  let listLoaded = false;
  const url = () => link("", "", { q, ...listParams });

  const list = customerList(listParams, (next) => {
    listParams = next;
    navigate(url(), { quiet: true }); // a new history entry per filter or page: back undoes it
  });
  const showList = (empty) => {
    list.element.hidden = !empty;
    if (empty && !listLoaded) {
      listLoaded = true;
      list.load();
    }
  };
  const search = lookup({
    initial: q,
    onQuery: (text) => {
      q = text;
      navigate(url(), { replace: true, quiet: true }); // typing does not flood the history
    },
    onEmpty: showList,
  });

  root.replaceChildren(
    h("h1", { class: "visually-hidden" }, "Customers"),
    search.element,
    list.element,
  );
  if (q.trim()) {
    list.element.hidden = true;
    search.refresh();
  } else showList(true);
  search.input.focus();
  return () => {
    search.stop();
    list.stop();
  };
}
