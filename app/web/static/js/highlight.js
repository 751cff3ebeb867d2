// Matched parts of a lookup hit, drawn as text nodes and <mark> elements.
//
// The API's contract: `highlights` maps a field to `[start, end)` ranges in characters (Unicode
// code points, as Python counts them) of the stored value, e.g. `{"first_name": [[0, 3]]}`.
// The page draws the stored value itself and only uses the ranges to cut it, so a highlight can
// never add text (or markup) that is not in the value.

import { h } from "./dom.js";
import { SHOWN_CHARS } from "./format.js";

/** Sorted, merged ranges of `value` that are valid for it (anything malformed is dropped). */
export function cleanRanges(ranges, length) {
  if (!Array.isArray(ranges)) return [];
  const valid = ranges
    .filter((r) => Array.isArray(r) && Number.isInteger(r[0]) && Number.isInteger(r[1]))
    .map(([start, end]) => [Math.max(0, start), Math.min(length, end)])
    .filter(([start, end]) => start < end)
    .sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const [start, end] of valid) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** `value` as a fragment: text nodes, with the `ranges` in <mark>; clipped like `clipped`. */
export function highlighted(value, ranges, max = SHOWN_CHARS) {
  const text = value == null ? "" : String(value);
  // Code points, so ranges match the server's characters; only as many as are shown.
  const head = Array.from(text.slice(0, 2 * max + 2));
  const chars = head.slice(0, max);
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const [start, end] of cleanRanges(ranges, chars.length)) {
    if (start > at) fragment.append(chars.slice(at, start).join(""));
    fragment.append(h("mark", {}, chars.slice(start, end).join("")));
    at = end;
  }
  if (at < chars.length) fragment.append(chars.slice(at).join(""));
  if (head.length > max) fragment.append("…");
  return fragment;
}

/** The ranges of `field` in a hit (none when the API sent none, or not a list). */
export function rangesOf(hit, field) {
  const found = hit.highlights ? hit.highlights[field] : undefined;
  return Array.isArray(found) ? found : [];
}
