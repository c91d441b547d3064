// The chat page: streamed replies (drawn at most once per animation frame), Stop, regenerate,
// edit-and-resend, the conversation list, incognito, and the memories under each reply.
"use strict";
(() => {
  const { api, el, notice } = hearth;
  const root = document.querySelector(".chat");
  const log = document.getElementById("log");
  const prompt = document.getElementById("prompt");
  const send = document.getElementById("send");
  const incognito = document.getElementById("incognito");
  const model = document.getElementById("model");
  let conversationId = root.dataset.conversation || null;
  let turns = []; // [{role, content}] as sent to /v1/chat/completions
  let streaming = null; // the AbortController of the reply under way
  let cut = null; // regenerate or edit: how many stored messages stay before the next reply

  // --- the conversation list ---------------------------------------------------------
  async function loadConversations() {
    const q = document.getElementById("conv-search").value.trim();
    const list = document.getElementById("conv-list");
    const found = await api(`/v1/conversations?limit=50${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    list.replaceChildren(...found.data.map((c) => el("li", { class: c.id === conversationId ? "current" : null },
      el("a", { href: `/c/${encodeURIComponent(c.id)}` }, c.title || "Untitled"),
      el("button", { type: "button", class: "small", "aria-label": `Rename ${c.title || "Untitled"}`,
        onclick: () => rename(c) }, "Rename"),
      el("button", { type: "button", class: "small", "aria-label": `Delete ${c.title || "Untitled"}`,
        onclick: () => remove(c) }, "Delete"))));
  }

  async function rename(c) {
    const title = window.prompt("New title", c.title || "");
    if (!title) return;
    await api(`/v1/conversations/${encodeURIComponent(c.id)}`, { method: "PATCH", body: { title } });
    loadConversations();
  }

  async function remove(c) {
    if (!window.confirm(`Delete "${c.title || "Untitled"}"?`)) return;
    await api(`/v1/conversations/${encodeURIComponent(c.id)}`, { method: "DELETE" });
    if (c.id === conversationId) location.assign("/");
    else loadConversations();
  }

  // --- messages ------------------------------------------------------------------------
  function userBubble(text, index) {
    return el("article", { class: "msg user", "data-index": index },
      el("h2", { class: "visually-hidden" }, "You"),
      el("p", { class: "text" }, text),
      el("button", { type: "button", class: "small", onclick: () => editFrom(index) }, "Edit"));
  }

  function assistantBubble() {
    const thinking = el("details", { class: "reasoning", hidden: true }, el("summary", {}, "Reasoning"), el("div"));
    const body = el("div", { class: "md" });
    const node = el("article", { class: "msg assistant" }, el("h2", { class: "visually-hidden" }, "hearth"), thinking, body);
    return { node, thinking, body };
  }

  function showAnswer(bubble, content, reasoning) {
    if (reasoning) { bubble.thinking.hidden = false; bubble.thinking.lastChild.textContent = reasoning; }
    hearth.markdown.render(content, bubble.body);
  }

  async function showMemories(node, ids) {
    if (!ids || !ids.length) return;
    const items = [];
    for (const id of ids) {
      try { items.push(await api(`/v1/memories/${id}`)); } catch (e) { if (e.status !== 404) throw e; }
    }
    if (!items.length) return;
    node.append(el("details", { class: "memories" },
      el("summary", {}, `Memories used (${items.length})`),
      el("ul", {}, items.map((m) => el("li", { "data-memory": m.id }, m.text, " ",
        el("button", { type: "button", class: "small", onclick: (ev) => why(m, ev.target) }, "Why do you know this?"))))));
  }

  async function why(memory, button) {
    const sources = await api(`/v1/memories/${memory.id}/sources`);
    const said = hearth.when(memory.observed_at);
    button.replaceWith(el("div", { class: "why" },
      el("p", {}, `Noted on ${said} from:`),
      el("ul", {}, sources.data.map((s) => el("li", {}, s.excerpt || s.ref || "a message",
        s.conversation_id ? [" (", el("a", { href: `/c/${encodeURIComponent(s.conversation_id)}` }, "conversation"), ")"] : [])))));
  }

  function render(messages) {
    log.replaceChildren();
    turns = [];
    for (const m of messages) {
      if (m.role === "user") {
        log.append(userBubble(m.content || "", turns.length));
      } else if (m.role === "assistant") {
        const bubble = assistantBubble();
        showAnswer(bubble, m.content || "", "");
        log.append(bubble.node);
        showMemories(bubble.node, m.memory_ids).catch((e) => notice(e.message));
      } else continue;
      turns.push({ role: m.role, content: m.content || "" });
    }
    addRegenerate();
  }

  function addRegenerate() {
    document.getElementById("regenerate")?.remove();
    if (turns.length && turns[turns.length - 1].role === "assistant") {
      log.append(el("button", { type: "button", id: "regenerate", class: "small", onclick: regenerate }, "Regenerate"));
    }
  }

  function regenerate() {
    turns.pop();
    cut = turns.length - 1; // the question goes too: the server stores it again with the resend
    log.querySelector(".msg.assistant:last-of-type")?.remove();
    reply();
  }

  function editFrom(index) {
    prompt.value = turns[index].content;
    turns = turns.slice(0, index);
    cut = index;
    for (const node of [...log.children]) {
      if (Number(node.dataset.index) >= index || (node.dataset.index === undefined && indexOf(node) > index)) node.remove();
    }
    prompt.focus();
  }
  const indexOf = (node) => [...log.children].indexOf(node);

  // --- streaming ------------------------------------------------------------------------
  async function reply() {
    if (!conversationId) {
      conversationId = `conv_${crypto.randomUUID().replaceAll("-", "")}`;
    }
    const bubble = assistantBubble();
    document.getElementById("regenerate")?.remove();
    log.append(bubble.node);
    let content = "", reasoning = "", drawn = true;
    const draw = () => { drawn = true; showAnswer(bubble, content, reasoning); log.scrollTop = log.scrollHeight; };
    streaming = new AbortController();
    setBusy(true);
    const metadata = { conversation: conversationId };
    if (incognito.checked) metadata.memory = "off";
    try {
      if (cut !== null) await dropStoredTail();
      const response = await api("/v1/chat/completions", { method: "POST", raw: true, signal: streaming.signal,
        body: { model: model.value, stream: true, messages: turns, user: hearth.user || undefined, metadata } });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const events = buffer.split("\n\n");
        buffer = events.pop();
        for (const event of events) {
          const data = event.replace(/^data: /, "");
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new hearth.ApiError(chunk.error.message, 500);
          const delta = (chunk.choices[0] || {}).delta || {};
          content += delta.content || "";
          reasoning += delta.reasoning || "";
          if (drawn) { drawn = false; requestAnimationFrame(draw); }
        }
      }
      draw();
      turns.push({ role: "assistant", content });
      afterReply(bubble);
    } catch (error) {
      if (error.name === "AbortError") {
        draw();
        bubble.node.append(el("p", { class: "stopped" }, "Stopped."));
        turns.push({ role: "assistant", content });
      } else {
        bubble.node.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
        turns.pop(); // the user's message was not answered; it stays in the box to resend
      }
    } finally {
      streaming = null;
      setBusy(false);
      addRegenerate();
    }
  }

  // The server only appends: the versions a regenerate or an edit replaces go first.
  async function dropStoredTail() {
    const keep = cut;
    cut = null;
    try {
      await api(`/v1/conversations/${encodeURIComponent(conversationId)}/messages?keep=${keep}`, { method: "DELETE" });
    } catch (e) {
      if (e.status !== 404) throw e; // 404: nothing stored yet, nothing to drop
    }
  }

  async function afterReply(bubble) {
    if (root.dataset.conversation !== conversationId) {
      window.history.replaceState(null, "", `/c/${encodeURIComponent(conversationId)}`);
      root.dataset.conversation = conversationId;
    }
    loadConversations().catch((e) => notice(e.message));
    if (incognito.checked) return;
    const stored = await api(`/v1/conversations/${encodeURIComponent(conversationId)}`);
    const last = stored.messages.filter((m) => m.role === "assistant").pop();
    if (last) await showMemories(bubble.node, last.memory_ids);
  }

  function setBusy(busy) {
    log.setAttribute("aria-busy", busy ? "true" : "false");
    send.textContent = busy ? "Stop" : "Send";
    send.classList.toggle("stop", busy);
  }

  function submit() {
    if (streaming) { streaming.abort(); return; }
    const text = prompt.value.trim();
    if (!text) return;
    prompt.value = "";
    log.append(userBubble(text, turns.length));
    turns.push({ role: "user", content: text });
    reply();
  }

  document.getElementById("composer").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  prompt.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  document.getElementById("new-chat").addEventListener("click", () => location.assign("/"));
  document.getElementById("conv-search").addEventListener("input", () => loadConversations().catch((e) => notice(e.message)));
  document.getElementById("export-chat").addEventListener("click", () =>
    hearth.download(`${conversationId || "conversation"}.json`, JSON.stringify({ id: conversationId, messages: turns }, null, 2)));

  api("/v1/models").then((models) => {
    model.replaceChildren(...models.data.map((m) => el("option", { value: m.id }, m.id)));
  }).catch((e) => notice(e.message));
  loadConversations().catch((e) => notice(e.message));
  if (conversationId) {
    api(`/v1/conversations/${encodeURIComponent(conversationId)}`).then((c) => render(c.messages)).catch((e) => notice(e.message));
  }
})();
