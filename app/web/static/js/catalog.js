// The customer groups, for pickers (list filter, "add to group"): read once, then shared
// until a group is created, renamed or deleted here.

import * as api from "./api.js";

export const MAX_GROUPS = 1000; // the API's largest page; pickers offer at most these

let groups = null;

/** Every live group, by name: `[{id, name}]`. */
export function allGroups() {
  if (!groups) {
    groups = api
      .get("/admin/customer-groups", { limit: MAX_GROUPS, order: "name", fields: "id,name" })
      .then((data) => data.customer_groups)
      .catch((error) => {
        groups = null;
        throw error;
      });
  }
  return groups;
}

/** Read the groups again next time (one was created, renamed or deleted). */
export function forgetGroups() {
  groups = null;
}
