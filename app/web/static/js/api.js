// The admin API, and nothing else: everything the app does is also possible over HTTP.

import * as session from "./session.js";

/** An answer other than 2xx: `status`, the API's `type` and `message` (shown to the admin). */
export class ApiError extends Error {
  constructor(status, body) {
    super(messageOf(status, body));
    this.name = "ApiError";
    this.status = status;
    this.type = (body && body.type) || "";
    this.body = body;
  }

  /** Someone else changed the resource since its ETag was read (If-Match failed). */
  get isConflict() {
    return this.status === 412;
  }
}

function messageOf(status, body) {
  if (body && typeof body.message === "string" && body.message) return body.message;
  if (status === 0) return "The server could not be reached. Check the connection and retry.";
  return `The server answered ${status}.`;
}

/**
 * Flatten `{created_at: {$gte: d}, groups: ["a"]}` into the API's query-string form
 * (`created_at[$gte]=d&groups[0]=a`); null, undefined and "" are left out.
 */
export function queryString(query = {}) {
  const params = new URLSearchParams();
  const add = (name, value) => {
    if (value === null || value === undefined || value === "") return;
    if (Array.isArray(value)) value.forEach((item, i) => add(`${name}[${i}]`, item));
    else if (typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) add(`${name}[${key}]`, inner);
    } else params.append(name, String(value));
  };
  for (const [name, value] of Object.entries(query)) add(name, value);
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * Send one request with the signed-in key; resolve to `{data, etag}` or reject with ApiError.
 * `ifMatch`: the ETag the change is based on (a 412 then means someone else changed it).
 * A 401 ends the session: the app goes back to sign-in with a message.
 */
export async function request(
  path,
  { method = "GET", query, body, ifMatch, signal, key = session.key() } = {},
) {
  const headers = { Accept: "application/json" };
  const secret = key;
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (ifMatch) headers["If-Match"] = ifMatch;
  let response;
  try {
    response = await fetch(path + queryString(query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, null);
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return { data, etag: response.headers.get("ETag") };
  if (response.status === 401 && secret && secret === session.key()) {
    session.end("The API no longer accepts your key (it may be revoked or expired). Sign in again.");
  }
  throw new ApiError(response.status, data);
}

/** `GET path` → data. */
export async function get(path, query, options = {}) {
  return (await request(path, { ...options, query })).data;
}

/**
 * What `key` may do: `GET /admin/me` → `{scope: "admin" | "read", actor_type, actor_id,
 * expires_at}`; a 401 means the API does not accept the key.
 */
export async function whoAmI(key) {
  return (await request("/admin/me", { key })).data;
}
