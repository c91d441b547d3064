// The admin page: users, their roles and passwords, keys (the secret shown once), plans, retention, usage by
// user, key or model (CSV too) and the audit log with its chain check, all via /admin/v1.
"use strict";
(() => {
  const { api, el, notice } = hearth;
  const org = encodeURIComponent(hearth.org);
  const cells = (...values) => values.map((v) => el("td", {}, v ?? ""));
  const guard = (promise) => promise.catch((e) => notice(e.message));

  async function users() {
    const list = await api(`/admin/v1/orgs/${org}/users`);
    document.getElementById("users").replaceChildren(...list.map((u) => {
      const role = el("select", { "aria-label": `Role of ${u.user_id}`, onchange: (ev) =>
        guard(api(`/admin/v1/orgs/${org}/users/${encodeURIComponent(u.user_id)}`, { method: "PATCH", body: { role: ev.target.value } })
          .then(() => notice(`${u.user_id} is now ${ev.target.value}.`))) },
        ["owner", "admin", "member", "service"].map((r) => el("option", { selected: r === u.role }, r)));
      return el("tr", {}, el("td", {}, u.user_id), el("td", {}, role), el("td", {}, u.plan || "(org's)"),
        el("td", {}, u.has_password ? "set" : "none"),
        el("td", {}, el("button", { type: "button", class: "small", onclick: () =>
          guard(api(`/admin/v1/orgs/${org}/users/${encodeURIComponent(u.user_id)}/sessions`, { method: "DELETE" })
            .then((r) => notice(`${r.ended} session(s) ended.`))) }, `Sign ${u.user_id} out`)));
    }));
  }

  async function keys() {
    const list = await api(`/admin/v1/orgs/${org}/keys`);
    document.getElementById("keys").replaceChildren(...list.map((k) => el("tr", { "data-key": k.id },
      ...cells(`${k.prefix}…`, k.user_id, k.name, k.revoked_at ? "revoked" : "active"),
      el("td", {}, k.revoked_at ? "" : el("button", { type: "button", class: "small danger",
        onclick: () => guard(api(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" }).then(keys)) }, `Revoke ${k.prefix}`)))));
  }

  async function plans() {
    const list = await api("/admin/v1/plans");
    document.getElementById("plans").replaceChildren(...list.map((p) => el("tr", {},
      ...cells(p.name, p.priority, Object.entries(p.limits).map(([kind, levels]) =>
        `${kind}: ${Object.entries(levels).filter(([, v]) => v !== null).map(([l, v]) => `${v}/${l}`).join(", ") || "none"}`).join("; ")))));
  }

  async function retention() {
    const o = await api(`/admin/v1/orgs/${org}`);
    document.getElementById("conv-days").value = o.conversation_retention_days ?? "";
    document.getElementById("mem-days").value = o.memory_retention_days ?? "";
  }

  async function usage() {
    const group = document.getElementById("group-by").value;
    document.getElementById("usage-csv").href = `/admin/v1/usage?group_by=${group}&format=csv`;
    const report = await api(`/admin/v1/usage?group_by=${group}`);
    document.getElementById("usage").replaceChildren(...report.data.map((r) => el("tr", {},
      ...cells(r.group, r.requests, r.prompt_tokens, r.completion_tokens, (r.energy_joules / 3600).toFixed(3)))));
  }

  async function audit() {
    const list = await api("/admin/v1/audit?limit=100");
    document.getElementById("audit").replaceChildren(...list.map((a) => el("tr", {},
      ...cells(hearth.when(a.at), a.actor, a.action, a.target))));
  }

  document.getElementById("user-add").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guard(api(`/admin/v1/orgs/${org}/users`, { method: "POST", body: {
      user_id: document.getElementById("new-user").value.trim(), role: document.getElementById("new-role").value } }).then(users));
  });
  const password = (method, body) => {
    const user = document.getElementById("pw-user").value.trim();
    return guard(api(`/admin/v1/orgs/${org}/users/${encodeURIComponent(user)}/password`, { method, body }).then(() => {
      document.getElementById("pw-value").value = "";
      notice(method === "PUT" ? `${user} has a new password.` : `${user} signs in with a key only.`);
      return users();
    }));
  };
  document.getElementById("password-set").addEventListener("submit", (ev) => {
    ev.preventDefault();
    password("PUT", { password: document.getElementById("pw-value").value });
  });
  document.getElementById("pw-clear").addEventListener("click", () => password("DELETE"));
  document.getElementById("key-add").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = document.getElementById("key-name").value.trim();
    guard(api(`/admin/v1/orgs/${org}/keys`, { method: "POST", body: {
      user_id: document.getElementById("key-user").value.trim(), name: name || undefined } }).then((made) => {
      const box = document.getElementById("new-secret");
      box.replaceChildren(el("p", {}, "The new key, shown only this once: copy it now."), el("code", { class: "new-key" }, made.secret));
      box.hidden = false;
      return keys();
    }));
  });
  document.getElementById("retention").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const days = (id) => (document.getElementById(id).value ? Number(document.getElementById(id).value) : null);
    guard(api(`/admin/v1/orgs/${org}`, { method: "PATCH", body: {
      conversation_retention_days: days("conv-days"), memory_retention_days: days("mem-days") } }).then(() => notice("Retention saved.")));
  });
  document.getElementById("group-by").addEventListener("change", () => guard(usage()));
  document.getElementById("verify")?.addEventListener("click", () => guard(api("/admin/v1/audit/verify").then((v) => {
    document.getElementById("verify-result").textContent = v.ok ? `The chain holds: ${v.length} entries, none changed.`
      : `Broken: ${v.problems.join("; ")}`;
  })));
  for (const load of [users, keys, plans, retention, usage, audit]) guard(load());
})();
