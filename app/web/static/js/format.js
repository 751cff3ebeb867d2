// How values read on screen: names, times, metadata, counts.

import { badge } from "./dom.js";

/** How many characters of one value a list, a lookup row or a heading shows. */
export const SHOWN_CHARS = 200;

/**
 * The first `max` characters (code points) of `value` and "…" when there are more. Stored
 * values are untrusted and some predate the input limits (a 1 MB email): drawn whole, one such
 * row stalls the page's layout for seconds.
 */
export function clipped(value, max = SHOWN_CHARS) {
  const text = value == null ? "" : String(value);
  const head = Array.from(text.slice(0, 2 * max + 2)); // at least max + 1 code points if longer
  return head.length > max ? `${head.slice(0, max).join("")}…` : text;
}

/** "First Last", or the email, or the id: what a customer is called on screen (clipped). */
export function displayName(customer) {
  const name = [customer.first_name, customer.last_name].filter(Boolean).join(" ").trim();
  return clipped(name || customer.email || customer.id);
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const NUMBER = new Intl.NumberFormat();

/** A timestamp in the admin's locale and time zone ("" when absent). */
export function dateTime(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : DATE_TIME.format(date);
}

/** A day in the admin's locale ("" when absent). */
export function day(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : DATE.format(date);
}

/** A count with thousands separators. */
export function count(value) {
  return NUMBER.format(value);
}

/** "1 customer" / "2 customers". */
export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** A metadata value as text (objects and lists as JSON). */
export function metadataValue(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Registered customers have an account; the others are guests (words, not colours). */
export function accountBadge(customer) {
  return customer.has_account ? badge("Account", "account") : badge("Guest", "guest");
}

/** The badge of a soft-deleted record. */
export function deletedBadge(record) {
  return record.deleted_at ? badge("Deleted", "deleted") : null;
}

/** Midnight (local) of a `YYYY-MM-DD` date input, `days` later, as ISO 8601 (or ""). */
export function startOfDay(text, days = 0) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
  if (!match) return "";
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + days);
  return date.toISOString();
}
