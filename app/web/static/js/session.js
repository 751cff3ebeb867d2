// Who is signed in: the admin's key and what it may do, for this browser tab only.
//
// The key lives in sessionStorage (gone when the tab closes, never shared with other tabs or
// sent anywhere but the Authorization header of API requests); never in a URL, the page's
// HTML, or a log line.

const KEY = "customers.key";
const SCOPE = "customers.scope";

/** The signed-in key, or null. */
export function key() {
  return sessionStorage.getItem(KEY);
}

/** `"admin"` (everything) or `"read"` (GET routes only). */
export function scope() {
  return sessionStorage.getItem(SCOPE) || "admin";
}

/** Whether the key may change things: the app hides what a read key cannot do. */
export function canWrite() {
  return scope() !== "read";
}

/** Remember a key the API accepted, with its scope. */
export function begin(secret, keyScope) {
  sessionStorage.setItem(KEY, secret);
  sessionStorage.setItem(SCOPE, keyScope === "read" ? "read" : "admin");
}

let endedBecause = "";

/** Forget the key; `reason` is shown on the sign-in form (empty: signed out on purpose). */
export function end(reason = "") {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(SCOPE);
  endedBecause = reason;
  window.dispatchEvent(new CustomEvent("session-ended"));
}

/** Why the last session ended (read once). */
export function takeEndReason() {
  const reason = endedBecause;
  endedBecause = "";
  return reason;
}
