// Building the page from data without ever parsing HTML.
//
// Customer data is untrusted: anyone can register as `<img src=x onerror=…>`. So nothing in
// this app assigns `innerHTML` or builds markup from strings: elements are created here and
// every value goes in as a text node or a property. Event handlers are functions only.

/** Properties set as DOM properties (their attributes only hold the initial value). */
const PROPERTIES = new Set(["value", "checked", "selected", "disabled", "hidden", "open"]);

/**
 * Create an element: `h("a", {href, class: "x", onclick: fn}, "text", child, [more])`.
 * Children may be nodes, strings, numbers, arrays of them, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (PROPERTIES.has(name)) {
      element[name] = value;
    } else {
      element.setAttribute(name === "className" ? "class" : name, value === true ? "" : value);
    }
  }
  append(element, children);
  return element;
}

/** Append children (see `h`) as nodes; strings become text nodes. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

/** Replace every child of `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

let lastId = 0;

/** A document-unique id for label/control and aria-* pairs. */
export function uid(prefix = "id") {
  lastId += 1;
  return `${prefix}-${lastId}`;
}

/** A short text badge: the word carries the meaning, the colour only repeats it. */
export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}`.trim() }, text);
}

/** A titled card; its heading can take the focus back after the card is redrawn. */
export function card(title, ...children) {
  const id = uid("card");
  return h(
    "section",
    { class: "card", "aria-labelledby": id, "data-card": title },
    h("h2", { id, tabindex: "-1" }, title),
    children,
  );
}

/** Focus the heading of the card titled `title` inside `root` (true when there is one). */
export function focusCard(root, title) {
  const heading = root.querySelector(`[data-card="${title}"] h2`);
  if (heading) heading.focus();
  return Boolean(heading);
}

/** Move focus to a view's heading (made focusable) so screen readers announce the new view. */
export function focusHeading(root) {
  const heading = root.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}
