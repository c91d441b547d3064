// What every page's script shares: calling /v1 with the session's CSRF token, building DOM
// from text (never from HTML strings), and saying what went wrong in words.
"use strict";
const hearth = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function api(path, { method = "GET", body, signal, raw = false } = {}) {
    const headers = { "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, signal, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let message = `The server answered ${response.status}.`;
      try { message = (await response.json()).error.message || message; } catch (_) { /* not JSON */ }
      if (response.status === 401) location.assign("/signin");
      throw new ApiError(message, response.status);
    }
    if (raw) return response;
    return response.status === 204 ? null : response.json();
  }

  // el("li", {class: "x", onclick: f}, "text", childNode): text children become text nodes.
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function notice(message) {
    const box = document.getElementById("notice");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function download(name, text, type = "application/json") {
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
    document.body.append(link);
    link.click();
    link.remove();
  }

  const when = (value) => new Date(typeof value === "number" ? value * 1000 : value)
    .toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

  const who = document.getElementById("who");
  return { api, el, notice, download, when, ApiError,
           user: who ? who.dataset.user : "", org: who ? who.dataset.org : "" };
})();
