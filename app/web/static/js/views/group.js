// `/app/groups/<id>`: a group, renaming and deleting it (If-Match), and its members, paged.

import * as api from "../api.js";
import { forgetGroups } from "../catalog.js";
import { deleteButton, showConflict } from "../conflict.js";
import { card, focusCard, focusHeading, h, replace } from "../dom.js";
import { button, errorSlot, run, showError, textField } from "../forms.js";
import { dateTime } from "../format.js";
import { customerTable, pageOf, pager } from "../pager.js";
import { groupPath, readGroup } from "../resources.js";
import { link, navigate } from "../router.js";
import * as session from "../session.js";

const PAGE_SIZE = 20;
const COMPARED = [["name", "Name"]];

function detailsCard(view) {
  const { group } = view;
  const slot = errorSlot();
  const conflictBox = h("div", { hidden: true });
  const body = h("div");
  const showFacts = () =>
    replace(
      body,
      h(
        "dl",
        { class: "facts" },
        [
          ["Name", group.name],
          ["Group id", h("code", {}, group.id)],
          ["Created", dateTime(group.created_at)],
          ["Updated", dateTime(group.updated_at)],
        ].map(([term, value]) => [h("dt", {}, term), h("dd", {}, value || "—")]),
      ),
      view.canWrite ? button("Rename", rename) : null,
    );

  async function save(name, etag) {
    const { data, etag: next } = await api.request(groupPath(view.id), {
      method: "POST",
      body: { name },
      ifMatch: etag,
    });
    forgetGroups();
    view.show(data.customer_group, next || view.etag, "Group");
  }

  function rename() {
    const submit = h("button", { type: "submit", class: "primary" }, "Save name");
    const form = h(
      "form",
      { class: "edit", "aria-label": "Rename group", novalidate: true },
      textField({ label: "Group name", name: "name", value: group.name }),
      h("div", { class: "actions" }, submit, button("Cancel", showFacts)),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = form.elements.name.value.trim();
      run(submit, slot, () => save(name, view.etag), {
        form,
        onConflict: () =>
          showConflict(conflictBox, {
            what: "group",
            fields: COMPARED,
            seen: group,
            mine: { name },
            load: () => readGroup(view.id),
            reload: () => view.reload(),
            retry: (etag) => save(name, etag),
          }).catch((error) => showError(slot, error)),
      });
    });
    replace(body, form);
    form.elements.name.focus();
  }

  showFacts();
  return card("Group", conflictBox, body, slot);
}

function membersCard(view) {
  const results = h("div", { "aria-live": "polite" });
  const slot = errorSlot();
  const remove = (customer) => {
    const control = button("Remove", () =>
      run(control, slot, async () => {
        await api.request(`${groupPath(view.id)}/customers`, {
          method: "POST",
          body: { remove: [customer.id] },
        });
        await view.loadMembers();
      }),
    );
    control.setAttribute("aria-label", `Remove ${customer.email || customer.id} from the group`);
    return control;
  };
  view.loadMembers = async () => {
    const data = await api.get("/admin/customers", {
      groups: view.id,
      limit: PAGE_SIZE,
      offset: (view.page - 1) * PAGE_SIZE,
      order: "email",
    });
    const go = (page) => {
      view.page = page;
      navigate(link("groups", view.id, { page: page > 1 ? page : "" }), { quiet: true });
      view.loadMembers().catch((error) => showError(slot, error));
    };
    replace(
      results,
      customerTable(data.customers, {
        caption: `Members of ${view.group.name}`,
        actions: view.canWrite ? remove : null,
      }),
      pager({ page: view.page, size: PAGE_SIZE, total: data.count, noun: "member", go }),
    );
  };
  view.loadMembers().catch((error) => showError(slot, error));
  return card("Members", slot, results);
}

function deleteCard(view) {
  const slot = errorSlot();
  const conflictBox = h("div", { hidden: true });
  const destroy = async (etag) => {
    await api.request(groupPath(view.id), { method: "DELETE", ifMatch: etag });
    forgetGroups();
    navigate(link("groups"));
  };
  const action = deleteButton({
    label: "Delete group",
    confirm: () => ({
      title: "Delete this group?",
      message: `The group ${view.group.name} will be deleted; its members stay customers.`,
    }),
    remove: destroy,
    etag: () => view.etag,
    slot,
    box: conflictBox,
    conflict: {
      what: "group",
      fields: COMPARED,
      seen: view.group,
      load: () => readGroup(view.id),
      reload: () => view.reload(),
    },
  });
  return card("Delete", conflictBox, action, slot);
}

function notFound(root, id) {
  document.title = "Group not found · Customers";
  replace(
    root,
    h("h1", {}, "Group not found"),
    h("p", {}, `No group has the id ${id}.`),
    h("p", {}, h("a", { href: link("groups") }, "Back to the groups")),
  );
}

/** `/app/groups/<id>?page=…`. Returns a cleanup function. */
export function groupView(root, route) {
  let live = true;
  const view = {
    id: route.id,
    page: pageOf(route.query.get("page")),
    canWrite: session.canWrite(),
    group: null,
    etag: null,
    show(group, etag = view.etag, focus = "") {
      if (!live) return;
      view.group = group;
      view.etag = etag;
      document.title = `${group.name} · Groups · Customers`;
      replace(
        root,
        h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
          h("a", { href: link("groups") }, "Groups"), " › ", group.name),
        h("h1", {}, group.name),
        h("div", { class: "sections" }, detailsCard(view), membersCard(view),
          view.canWrite ? deleteCard(view) : null),
      );
      if (!focus || !focusCard(root, focus)) focusHeading(root);
    },
    async reload() {
      try {
        const { record, etag } = await readGroup(view.id);
        view.show(record, etag);
      } catch (error) {
        if (!live) return;
        if (error.status === 404) return notFound(root, view.id);
        const slot = errorSlot();
        replace(root, h("h1", {}, "Group"), slot);
        showError(slot, error);
      }
    },
  };
  document.title = "Group · Customers";
  replace(root, h("h1", {}, "Group"), h("p", { role: "status" }, "Loading…"));
  view.reload();
  return () => {
    live = false;
  };
}
