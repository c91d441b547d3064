// The usage page: the viewer's tokens and energy per day (an SVG bar chart and a table),
// the plan, and what is left of today's quota.
"use strict";
(() => {
  const { api, el, notice } = hearth;
  const svg = (tag, attrs, ...children) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };
  const wh = (joules) => (joules / 3600).toFixed(3);

  function chart(days) {
    const width = 600, height = 160, most = Math.max(1, ...days.map((d) => d.tokens));
    const bar = width / days.length;
    return svg("svg", { viewBox: `0 0 ${width} ${height + 20}`, role: "img", "aria-labelledby": "chart-caption", class: "bars" },
      ...days.map((d, i) => {
        const h = Math.round((d.tokens / most) * height);
        return svg("rect", { x: i * bar + 1, y: height - h, width: bar - 2, height: h },
          svg("title", {}, `${d.date}: ${d.tokens} tokens`));
      }),
      svg("text", { x: 0, y: height + 16 }, days[0].date),
      svg("text", { x: width, y: height + 16, "text-anchor": "end" }, days[days.length - 1].date));
  }

  api("/v1/usage?days=30").then((u) => {
    document.getElementById("plan").textContent = `Plan: ${u.plan} (${u.user_id} in ${u.org_id}).`;
    const quotas = document.getElementById("quotas");
    quotas.replaceChildren(...(u.quotas.length ? u.quotas.map((q) => el("li", {},
      `${q.left} of ${q.limit} tokens left today (${q.level} limit)`,
      q.left === 0 ? el("strong", {}, " — used up; it resets at 00:00 UTC.") : null))
      : [el("li", {}, "No daily token limit on your plan.")]));
    document.getElementById("chart").replaceChildren(chart(u.days));
    const total = u.days.reduce((sum, d) => sum + d.tokens, 0);
    document.getElementById("chart-caption").textContent = `${total} tokens over ${u.days.length} days.`;
    document.getElementById("days").replaceChildren(...u.days.filter((d) => d.requests).reverse().map((d) =>
      el("tr", {}, el("td", {}, d.date), el("td", {}, d.requests), el("td", {}, d.tokens), el("td", {}, wh(d.energy_joules)))));
  }).catch((e) => notice(e.message));
})();
