// Markdown for replies: markdown-it with raw HTML off, then DOMPurify, and no remote images
// (the page's CSP would block them too). Code is highlighted and gets a copy button.
"use strict";
hearth.markdown = (() => {
  const md = window.markdownit({ html: false, linkify: false, breaks: true,
    highlight(code, lang) {
      if (lang && hljs.getLanguage(lang)) {
        try { return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value; } catch (_) { /* plain */ }
      }
      return ""; // markdown-it escapes it
    } });

  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "IMG" && !(node.getAttribute("src") || "").startsWith("data:")) {
      node.replaceWith(document.createTextNode(node.getAttribute("alt") || ""));
    }
    if (node.tagName === "A") { node.setAttribute("rel", "noopener noreferrer"); }
  });

  function render(text, into) {
    into.innerHTML = DOMPurify.sanitize(md.render(text), { FORBID_TAGS: ["style", "form"] });
    for (const pre of into.querySelectorAll("pre")) {
      const copy = hearth.el("button", { type: "button", class: "copy",
        onclick: () => navigator.clipboard.writeText(pre.innerText).then(() => hearth.notice("Copied.")) }, "Copy");
      pre.before(copy);
    }
  }
  return { render };
})();
