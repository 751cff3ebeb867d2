// Drive a running `customers serve` through the official @medusajs/js-sdk (2.21.x).
//
//   cd scripts/js-sdk-check && npm install
//   BASE_URL=http://127.0.0.1:9000 API_KEY=$(customers api-key create --title sdk) \
//   JWT_SECRET=<the server's JWT_SECRET> npm run check
//
// Admin calls use `apiKey` auth (Basic base64("sk_...:")); store calls use customer JWTs minted
// here with JWT_SECRET (HS256, Medusa's claims), as an identity service would. Exit code 0 = pass.
import Medusa, { FetchError } from "@medusajs/js-sdk"
import { createHmac, randomUUID } from "node:crypto"
import assert from "node:assert/strict"

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:9000"
const API_KEY = process.env.API_KEY
const JWT_SECRET = process.env.JWT_SECRET ?? "supersecret"
if (!API_KEY) {
  console.error("API_KEY is required (customers api-key create --title sdk-check)")
  process.exit(2)
}

const b64url = (value) => Buffer.from(value).toString("base64url")
function mintToken(actorId) {
  const now = Math.floor(Date.now() / 1000)
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))
  const claims = b64url(
    JSON.stringify({
      actor_id: actorId,
      actor_type: "customer",
      auth_identity_id: `authid_${randomUUID()}`,
      app_metadata: actorId ? { customer_id: actorId } : {},
      iat: now,
      exp: now + 3600,
    })
  )
  const signature = createHmac("sha256", JWT_SECRET).update(`${header}.${claims}`).digest("base64url")
  return `${header}.${claims}.${signature}`
}
const bearer = (token) => ({ Authorization: `Bearer ${token}` })

const admin = new Medusa({ baseUrl: BASE_URL, apiKey: API_KEY })
const store = new Medusa({
  baseUrl: BASE_URL,
  publishableKey: "pk_ignored_by_this_service",
  auth: { type: "jwt", jwtTokenStorageMethod: "memory" },
})

let passed = 0
async function step(name, fn) {
  try {
    await fn()
    passed += 1
    console.log(`ok   ${name}`)
  } catch (error) {
    console.error(`FAIL ${name}\n     ${error?.stack ?? error}`)
    process.exitCode = 1
    throw error
  }
}
async function expectStatus(status, promise) {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof FetchError, `expected FetchError, got ${error}`)
    assert.equal(error.status, status, error.message)
    return error
  }
  assert.fail(`expected HTTP ${status}`)
}

const run = randomUUID().slice(0, 8)
const email = `sdk-${run}@example.com`
let customer, group, address

try {
  await step("admin: create customer", async () => {
    ;({ customer } = await admin.admin.customer.create({
      email: email.toUpperCase(),
      first_name: "Sdk",
      last_name: "Check",
      metadata: { run },
    }))
    assert.match(customer.id, /^cus_/)
    assert.equal(customer.email, email)
    assert.equal(customer.has_account, false)
  })
  await step("admin: retrieve with fields", async () => {
    const { customer: found } = await admin.admin.customer.retrieve(customer.id, {
      fields: "*addresses,*groups",
    })
    assert.deepEqual(found.addresses, [])
    assert.deepEqual(found.groups, [])
  })
  await step("admin: update (metadata merge)", async () => {
    const { customer: updated } = await admin.admin.customer.update(customer.id, {
      last_name: "Checked",
      metadata: { extra: true },
    })
    assert.equal(updated.last_name, "Checked")
    assert.deepEqual(updated.metadata, { run, extra: true })
  })
  await step("admin: list with q and email filters", async () => {
    const byQ = await admin.admin.customer.list({ q: `sdk-${run}`, limit: 10 })
    assert.equal(byQ.count, 1)
    assert.equal(byQ.limit, 10)
    const byEmail = await admin.admin.customer.list({ email: [email], has_account: false })
    assert.deepEqual(byEmail.customers.map((c) => c.id), [customer.id])
  })
  await step("admin: validation error shape", async () => {
    const error = await expectStatus(400, admin.admin.customer.create({ email: "nope" }))
    assert.equal(error.message, "Invalid request: Invalid email")
  })
  await step("admin: addresses create/list/retrieve/update/delete", async () => {
    const { customer: parent } = await admin.admin.customer.createAddress(customer.id, {
      address_1: "1 Main St",
      city: "Paris",
      country_code: "fr",
      is_default_shipping: true,
    })
    assert.equal(parent.id, customer.id)
    const { addresses, count } = await admin.admin.customer.listAddresses(customer.id)
    assert.equal(count, 1)
    address = addresses[0]
    const { address: one } = await admin.admin.customer.retrieveAddress(customer.id, address.id)
    assert.equal(one.city, "Paris")
    await admin.admin.customer.updateAddress(customer.id, address.id, { city: "Lyon" })
    const { address: changed } = await admin.admin.customer.retrieveAddress(customer.id, address.id)
    assert.equal(changed.city, "Lyon")
    const deleted = await admin.admin.customer.deleteAddress(customer.id, address.id)
    assert.equal(deleted.id, address.id)
    assert.equal(deleted.object, "customer_address")
    assert.equal(deleted.deleted, true)
    await expectStatus(404, admin.admin.customer.retrieveAddress(customer.id, address.id))
  })
  await step("admin: customer groups create/list/retrieve/update", async () => {
    ;({ customer_group: group } = await admin.admin.customerGroup.create({ name: `SDK ${run}` }))
    assert.match(group.id, /^cusgroup_/)
    const listed = await admin.admin.customerGroup.list({ q: run })
    assert.deepEqual(listed.customer_groups.map((g) => g.id), [group.id])
    const { customer_group: renamed } = await admin.admin.customerGroup.update(group.id, {
      name: `SDK ${run} renamed`,
    })
    assert.equal(renamed.name, `SDK ${run} renamed`)
    await expectStatus(400, admin.admin.customerGroup.create({ name: renamed.name }))
  })
  await step("admin: batch membership both ways + groups filter (qs arrays)", async () => {
    await admin.admin.customerGroup.batchCustomers(group.id, { add: [customer.id] })
    const { customer_group: withMembers } = await admin.admin.customerGroup.retrieve(group.id, {
      fields: "*customers",
    })
    assert.deepEqual(withMembers.customers.map((c) => c.id), [customer.id])
    const inGroup = await admin.admin.customer.list({ groups: [group.id] })
    assert.deepEqual(inGroup.customers.map((c) => c.id), [customer.id])
    const byGroupId = await admin.admin.customer.list({ groups: { id: [group.id] } })
    assert.equal(byGroupId.count, 1)
    await admin.admin.customer.batchCustomerGroups(customer.id, { remove: [group.id] })
    const after = await admin.admin.customer.list({ groups: [group.id] })
    assert.equal(after.count, 0)
    await admin.admin.customer.batchCustomerGroups(customer.id, { add: [group.id] })
    const { customer: member } = await admin.admin.customer.retrieve(customer.id, {
      fields: "id,*groups",
    })
    assert.deepEqual(member.groups.map((g) => g.id), [group.id])
  })
  await step("admin: delete group and customer (soft), then 404", async () => {
    const deletedGroup = await admin.admin.customerGroup.delete(group.id)
    assert.deepEqual(deletedGroup, { id: group.id, object: "customer_group", deleted: true })
    const deleted = await admin.admin.customer.delete(customer.id)
    assert.deepEqual(deleted, { id: customer.id, object: "customer", deleted: true })
    await expectStatus(404, admin.admin.customer.retrieve(customer.id))
    const withDeleted = await admin.admin.customer.list({ id: [customer.id], with_deleted: true })
    assert.equal(withDeleted.count, 1)
  })

  let me, meHeaders
  await step("store: register with a registration token", async () => {
    ;({ customer: me } = await store.store.customer.create(
      { email, first_name: "Store" },
      {},
      bearer(mintToken(""))
    ))
    assert.equal(me.has_account, true)
    meHeaders = bearer(mintToken(me.id))
    await expectStatus(
      422,
      store.store.customer.create({ email }, {}, bearer(mintToken("")))
    )
  })
  await step("store: /me retrieve and update", async () => {
    const { customer: found } = await store.store.customer.retrieve({}, meHeaders)
    assert.equal(found.id, me.id)
    assert.deepEqual(found.addresses, [])
    const { customer: updated } = await store.store.customer.update(
      { last_name: "Shopper" },
      {},
      meHeaders
    )
    assert.equal(updated.last_name, "Shopper")
  })
  await step("store: addresses, newest default wins", async () => {
    await store.store.customer.createAddress({ city: "A", is_default_billing: true }, {}, meHeaders)
    const { customer: after } = await store.store.customer.createAddress(
      { city: "B", is_default_billing: true },
      {},
      meHeaders
    )
    const flags = Object.fromEntries(after.addresses.map((a) => [a.city, a.is_default_billing]))
    assert.deepEqual(flags, { A: false, B: true })
    const { addresses, count } = await store.store.customer.listAddress({ city: "A" }, meHeaders)
    assert.equal(count, 1)
    const target = addresses[0]
    const { address } = await store.store.customer.retrieveAddress(target.id, {}, meHeaders)
    assert.equal(address.city, "A")
    await store.store.customer.updateAddress(target.id, { city: "A2" }, {}, meHeaders)
    const deleted = await store.store.customer.deleteAddress(target.id, meHeaders)
    assert.equal(deleted.id, target.id)
    assert.equal(deleted.deleted, true)
    assert.deepEqual(deleted.parent.addresses.map((a) => a.city), ["B"])
  })
  await step("store: another customer's address is 404, bad token is 401", async () => {
    const { customer: other } = await store.store.customer.create(
      { email: `other-${run}@example.com` },
      {},
      bearer(mintToken(""))
    )
    const { customer: mine } = await store.store.customer.retrieve({}, meHeaders)
    const foreign = mine.addresses[0].id
    await expectStatus(
      404,
      store.store.customer.retrieveAddress(foreign, {}, bearer(mintToken(other.id)))
    )
    await expectStatus(401, store.store.customer.retrieve({}, bearer("not-a-token")))
  })
  console.log(`\n${passed} steps passed against ${BASE_URL}`)
} catch {
  console.error(`\nstopped after ${passed} passing steps`)
  process.exitCode = 1
}
