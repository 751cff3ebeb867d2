// Where the admin API keeps each resource, and reads that return a record with its ETag.

import * as api from "./api.js";

/** Relations every read and write of the customer page asks for, so any answer redraws it. */
export const CUSTOMER_FIELDS = "*addresses,*groups";

/** `/admin/customers/<id>`. */
export function customerPath(id) {
  return `/admin/customers/${encodeURIComponent(id)}`;
}

/** `/admin/customers/<id>/addresses/<address id>`. */
export function addressPath(customerId, addressId) {
  return `${customerPath(customerId)}/addresses/${encodeURIComponent(addressId)}`;
}

/** `/admin/customer-groups/<id>`. */
export function groupPath(id) {
  return `/admin/customer-groups/${encodeURIComponent(id)}`;
}

/** `{record, etag}` of a live customer (ApiError 404 when it is missing or deleted). */
export async function readCustomer(id) {
  const { data, etag } = await api.request(customerPath(id), {
    query: { fields: CUSTOMER_FIELDS },
  });
  return { record: data.customer, etag };
}

/** A live customer, or a deleted one (found by listing with `with_deleted`: no ETag), or null. */
export async function findCustomer(id) {
  try {
    return await readCustomer(id);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const data = await api.get("/admin/customers", {
    id,
    with_deleted: true,
    fields: CUSTOMER_FIELDS,
    limit: 1,
  });
  return data.customers.length ? { record: data.customers[0], etag: null } : null;
}

/** `{record, etag}` of one address as stored now. */
export async function readAddress(customerId, addressId) {
  const { data, etag } = await api.request(addressPath(customerId, addressId));
  return { record: data.address, etag };
}

/** `{record, etag}` of a live group (ApiError 404 when it is missing or deleted). */
export async function readGroup(id) {
  const { data, etag } = await api.request(groupPath(id));
  return { record: data.customer_group, etag };
}
