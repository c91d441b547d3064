// The memory page: everything hearth remembers about the viewer, to search, edit, pin,
// forget (one, or all after a confirmation), export and import.
"use strict";
(() => {
  const { api, el, notice } = hearth;
  const rows = document.getElementById("mem-rows");

  function row(m) {
    const text = el("td", { class: "text" }, m.text);
    return el("tr", { "data-memory": m.id }, text, el("td", {}, m.kind), el("td", {}, hearth.when(m.observed_at)),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "small", onclick: () => edit(m, text) }, "Edit"),
        el("button", { type: "button", class: "small", "aria-pressed": m.pinned ? "true" : "false",
          onclick: () => act(api(`/v1/memories/${m.id}/${m.pinned ? "unpin" : "pin"}`, { method: "POST" })) },
          m.pinned ? "Unpin" : "Pin"),
        el("button", { type: "button", class: "small", onclick: (ev) => why(m, ev.target) }, "Why do you know this?"),
        el("button", { type: "button", class: "small danger", onclick: () => act(api(`/v1/memories/${m.id}`, { method: "DELETE" }), "Forgotten.") }, "Forget")));
  }

  function edit(m, cell) {
    const input = el("input", { type: "text", value: m.text, "aria-label": "Memory text", maxlength: "2000" });
    const save = el("button", { type: "button", class: "small", onclick: () =>
      act(api(`/v1/memories/${m.id}`, { method: "PATCH", body: { text: input.value } }), "Saved.") }, "Save");
    cell.replaceChildren(input, save);
    input.focus();
  }

  async function why(m, button) {
    const sources = await api(`/v1/memories/${m.id}/sources`);
    button.replaceWith(el("div", { class: "why" }, `Noted ${hearth.when(m.observed_at)} from: `,
      el("ul", {}, sources.data.map((s) => el("li", {}, s.excerpt || s.ref || "a message",
        s.conversation_id ? [" (", el("a", { href: `/c/${encodeURIComponent(s.conversation_id)}` }, "conversation"), ")"] : [])))));
  }

  async function act(promise, done) {
    try { await promise; if (done) notice(done); await load(); } catch (e) { notice(e.message); }
  }

  async function load() {
    const q = document.getElementById("mem-search").value.trim();
    const found = q ? (await api(`/v1/memories/search?q=${encodeURIComponent(q)}&limit=50`)).data.map((hit) => hit.memory || hit)
                    : (await api("/v1/memories?limit=500")).data;
    rows.replaceChildren(...(found.length ? found.map(row)
      : [el("tr", {}, el("td", { colspan: "4" }, q ? "No memory matches." : "Nothing remembered yet."))]));
  }

  document.getElementById("mem-search-form").addEventListener("submit", (ev) => { ev.preventDefault(); load().catch((e) => notice(e.message)); });
  document.getElementById("mem-add").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("mem-new");
    if (!input.value.trim()) return;
    act(api("/v1/memories", { method: "POST", body: { text: input.value.trim(), kind: "profile" } }), "Remembered.");
    input.value = "";
  });
  const dialog = document.getElementById("confirm-forget");
  document.getElementById("mem-forget-all").addEventListener("click", () => dialog.showModal());
  document.getElementById("confirm-no").addEventListener("click", () => dialog.close());
  document.getElementById("confirm-yes").addEventListener("click", () => {
    dialog.close();
    act(api("/v1/memories", { method: "DELETE" }), "Every memory was forgotten.");
  });
  document.getElementById("mem-export").addEventListener("click", () =>
    api("/v1/memories/export").then((data) => hearth.download("memories.json", JSON.stringify(data, null, 2))).catch((e) => notice(e.message)));
  document.getElementById("mem-import").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    try {
      const result = await api("/v1/memories/import", { method: "POST", body: JSON.parse(await file.text()) });
      notice(`Imported ${result.imported}, skipped ${result.skipped}.`);
      await load();
    } catch (e) { notice(e.message); }
  });
  load().catch((e) => notice(e.message));
})();
