/* The "SQL Sentinel" tab of an alert DAG: state, history chart and table, silences, SQL and
   channels (no secrets: the API sends what the DAG's docs show). ?dag_id=<the DAG>. */
"use strict";

(() => {
  const { api, badge, codeText, dagLink, errorView, fmtAgo, fmtTime, fmtValue, h, s, timeEl, toast } = Sentinel;
  const dagId = new URLSearchParams(window.location.search).get("dag_id") || "";
  const CHART_POINTS = 120;
  const PAGE = 50;
  let alert = null;
  let instance = null;  // instance_key shown in the chart
  let history = [];
  let nextBefore = null;

  const stat = (label, ...value) => h("div", { class: "card stat" }, h("div", { class: "label", text: label }), h("div", { class: "big" }, ...value));
  const section = (title, id, ...body) => h("section", { class: "card section", id },
    typeof title === "string" ? h("div", { class: "section-head" }, h("h2", { text: title })) : title, ...body);

  // --- the history chart (inline SVG: value line, threshold, points coloured by outcome)
  function niceTicks(lo, hi, count = 4) {
    const raw = (hi - lo) / count;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((m) => m >= raw) || raw;
    const first = Math.floor(lo / step) * step;
    const ticks = [];
    for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
    if (ticks[ticks.length - 1] < hi) ticks.push(ticks[ticks.length - 1] + step);
    return ticks;
  }

  function chart(points, width) {
    const values = points.filter((p) => p.value !== null);
    if (!values.length) return h("div", { class: "empty", text: points.length ? "These evaluations returned no numeric actual_value." : "No evaluations yet." });
    const W = Math.max(320, Math.round(width)), H = 240, L = 52, R = 12, T = 12, B = 28;
    const limits = points.map((p) => p.threshold).filter((v) => v !== null);
    let lo = Math.min(...values.map((p) => p.value), ...limits);
    let hi = Math.max(...values.map((p) => p.value), ...limits);
    if (lo === hi) { lo -= 1; hi += 1; }
    const ticks = niceTicks(lo, hi);
    lo = ticks[0]; hi = ticks[ticks.length - 1];
    const t0 = new Date(points[0].at).getTime(), t1 = new Date(points[points.length - 1].at).getTime();
    const x = (p) => (t1 === t0 ? L + (W - L - R) / 2 : L + ((new Date(p.at).getTime() - t0) * (W - L - R)) / (t1 - t0));
    const y = (v) => T + ((hi - v) * (H - T - B)) / (hi - lo);
    const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "actual_value over recent evaluations" });
    for (const v of ticks) {
      svg.append(s("line", { class: "gridline", x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", text: fmtValue(v) }));
    }
    svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    for (const [p, anchor] of [[points[0], "start"], [points[points.length - 1], "end"]]) {
      svg.append(s("text", { x: x(p), y: H - 8, "text-anchor": anchor, text: new Date(p.at).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) }));
    }
    const line = values.map((p) => `${x(p).toFixed(1)},${y(p.value).toFixed(1)}`);
    svg.append(s("polygon", { class: "area", points: [`${x(values[0]).toFixed(1)},${H - B}`, ...line, `${x(values[values.length - 1]).toFixed(1)},${H - B}`].join(" ") }));
    const steps = [];
    points.forEach((p) => { if (p.threshold !== null) steps.push(`${x(p).toFixed(1)},${y(p.threshold).toFixed(1)}`); });
    if (steps.length === 1) steps.push(`${W - R},${steps[0].split(",")[1]}`);
    if (steps.length) svg.append(s("polyline", { class: "limit", points: steps.join(" "), fill: "none" }));
    svg.append(s("polyline", { class: "line", points: line.join(" ") }));
    for (const p of values) {
      svg.append(s("circle", { class: `pt-${p.outcome}`, cx: x(p), cy: y(p.value), r: 3.2 },
        s("title", { text: `${fmtValue(p.value)}${p.threshold !== null ? ` / ${fmtValue(p.threshold)}` : ""} · ${p.outcome.toUpperCase()} · ${fmtTime(p.at)}` })));
    }
    return h("div", {}, svg, h("div", { class: "legend" },
      h("span", {}, h("i", { class: "alert" }), "ALERT"), h("span", {}, h("i", { class: "ok" }), "OK"),
      h("span", {}, h("i", { class: "error" }), "query error"), h("span", {}, h("i", { class: "limit" }), "threshold")));
  }

  async function chartSection() {
    const body = h("div", {}, h("div", { class: "muted small", text: "Loading…" }));
    const picker = alert.instance_count > 1
      ? h("select", { "aria-label": "Instance", onchange: (e) => { instance = e.target.value; fill(); } },
        alert.instances.map((i) => h("option", { value: i.instance_key, selected: i.instance_key === instance, text: instanceLabel(i) })))
      : null;
    let points = null;
    let drawnWidth = 0;
    const draw = (force) => {
      if (!points || !body.clientWidth || (body.clientWidth === drawnWidth && force !== true)) return;
      drawnWidth = body.clientWidth;
      body.replaceChildren(chart(points, drawnWidth));
    };
    new ResizeObserver(() => draw(false)).observe(body);
    async function fill() {
      try {
        const q = new URLSearchParams({ limit: String(CHART_POINTS) });
        if (instance !== null) q.set("instance_key", instance);
        const page = await api(`alerts/${encodeURIComponent(dagId)}/history?${q}`);
        points = page.entries.slice().reverse().map((e) => ({
          at: e.evaluated_at, value: numeric(e.actual_value), threshold: numeric(e.threshold), outcome: e.outcome,
        }));
        draw(true);
      } catch (err) { body.replaceChildren(h("div", { class: "form-error", text: err.message })); }
    }
    fill();
    return section(h("div", { class: "section-head" }, h("h2", { text: "Recent values" }), picker), "chart", body);
  }

  const numeric = (v) => (v === null || v === undefined || v === "" || typeof v === "boolean" || Number.isNaN(Number(v)) ? null : Number(v));
  const instanceLabel = (i) => (i.instance_key ? Object.entries(i.key_values || {}).map(([k, v]) => `${k}=${v}`).join(", ") || i.instance_key : "(single instance)");

  // --- history table, paged with before_id
  function historyRows() {
    return history.map((e) => h("tr", {},
      h("td", {}, h("span", { title: fmtTime(e.evaluated_at), class: "nowrap", text: fmtTime(e.evaluated_at) })),
      alert.instance_count > 1 ? h("td", { text: instanceLabel(e) }) : null,
      h("td", {}, h("span", { class: `outcome-${e.outcome}`, text: e.outcome.toUpperCase() })),
      h("td", { text: e.state }),
      h("td", { class: "num", text: fmtValue(e.actual_value) }),
      h("td", { class: "num", text: fmtValue(e.threshold) }),
      h("td", { class: "small", text: e.error || e.reason || "" }),
      h("td", { class: "small", text: e.events.join(", ") || "–" }),
      h("td", { class: "small muted", text: e.run_type })));
  }

  async function historySection() {
    const table = h("table", { class: "rows" });
    const more = h("button", { type: "button", class: "small", text: "Load older" });
    const render = () => {
      const heads = ["Evaluated", alert.instance_count > 1 ? "Instance" : null, "Outcome", "State", "Value", "Threshold", "Reason / error", "Notified", "Run"].filter(Boolean);
      table.replaceChildren(h("thead", {}, h("tr", {}, heads.map((t) => h("th", { text: t })))),
        h("tbody", {}, history.length ? historyRows() : h("tr", {}, h("td", { colspan: heads.length, class: "empty", text: "No evaluations yet." }))));
      more.classList.toggle("hidden", nextBefore === null);
    };
    const page = async () => {
      more.disabled = true;
      try {
        const q = new URLSearchParams({ limit: String(PAGE) });
        if (nextBefore !== null) q.set("before_id", String(nextBefore));
        const data = await api(`alerts/${encodeURIComponent(dagId)}/history?${q}`);
        history = history.concat(data.entries);
        nextBefore = data.next_before_id;
        render();
      } catch (err) { toast(err.message); }
      more.disabled = false;
    };
    more.addEventListener("click", page);
    history = []; nextBefore = null;
    await page();
    return section("History", "history", h("div", { class: "scroll-x" }, table), h("div", { class: "actions" }, more));
  }

  // --- silences, definition, deliveries, instances
  function silencesSection() {
    const items = alert.silences.map((x) => h("li", { "data-silence-id": x.id ?? "" },
      h("div", {}, h("strong", { text: x.status === "active" ? "Active" : "Upcoming" }), " · ",
        x.source === "config" ? "declared in alerts.yaml" : `by ${x.author}`,
        ` · until ${fmtTime(x.ends_at)} (${fmtAgo(x.ends_at)})`),
      h("div", { class: "muted small", text: x.reason || "(no reason)" }),
      x.match !== alert.name ? h("div", { class: "muted small" }, "matches ", h("code", { text: x.match })) : null,
      x.can_end && alert.can_edit ? h("button", { type: "button", class: "small danger", "data-action": "end-silence", onclick: () => endSilence(x) }, "End silence") : null));
    const add = alert.can_edit ? h("button", { type: "button", class: "small", "data-action": "silence", onclick: silence }, "Silence…") : null;
    return section(h("div", { class: "section-head" }, h("h2", { text: "Silences" }), add), "silences",
      items.length ? h("ul", { class: "plain" }, items) : h("div", { class: "muted", text: "Not silenced. A silence holds back notifications, not evaluations." }));
  }

  function definitionSection() {
    const docs = alert.docs || {};
    const part = (title, ...body) => h("div", { class: "def-part" }, h("h2", { text: title }), ...body);
    const parts = [
      part("Query", docs.query ? h("pre", { class: "sql" }, h("code", { text: docs.query }))
        : h("div", { class: "muted", text: "The DAG's documentation holds no query (it may not be parsed yet)." })),
      part("Notifications", docs.channels && docs.channels.length
        ? h("ul", { class: "plain" }, docs.channels.map((c) => h("li", {}, codeText(c))))
        : h("div", { class: "muted", text: "No channels configured." })),
    ];
    if (docs.facts && docs.facts.length) {
      parts.push(part("Settings", h("dl", { class: "facts" }, docs.facts.flatMap((f) => [h("dt", { text: f.label }), h("dd", {}, codeText(f.text))]))));
    }
    return section("Definition", "definition", ...parts);
  }

  function deliveriesSection() {
    if (!alert.deliveries.length) return null;
    const rows = alert.deliveries.map((d) => h("tr", {},
      h("td", {}, h("span", { class: d.status === "dead" ? "outcome-alert" : "outcome-error", text: d.status })),
      h("td", { text: d.kind }), h("td", { text: d.channel }), h("td", { class: "num", text: d.attempts }),
      h("td", { class: "small", text: d.last_error || "" }), h("td", {}, timeEl(d.created_at))));
    return section("Undelivered notifications", "deliveries", h("div", { class: "scroll-x" }, h("table", { class: "rows" },
      h("thead", {}, h("tr", {}, ["Status", "Event", "Channel", "Attempts", "Last error", "Created"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows))));
  }

  function instancesSection() {
    if (alert.instance_count < 2) return null;
    const rows = alert.instances.map((i) => h("tr", {},
      h("td", { text: instanceLabel(i) }), h("td", {}, badge(i.state)),
      h("td", { class: "num", text: fmtValue(i.last_value) }), h("td", { class: "num", text: fmtValue(i.last_threshold) }),
      h("td", {}, timeEl(i.since)), h("td", {}, timeEl(i.last_evaluated_at))));
    return section(`Instances (${alert.instance_count})`, "instances", h("div", { class: "scroll-x" }, h("table", { class: "rows" },
      h("thead", {}, h("tr", {}, ["Instance", "State", "Value", "Threshold", "Since", "Last run"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows))));
  }

  // --- page
  function header() {
    const active = alert.silences.filter((x) => x.status === "active");
    const canUnsilence = alert.can_edit && active.some((x) => x.can_end);
    const action = !alert.can_edit ? h("span", { class: "muted small", text: "read only: silencing needs edit access to this DAG" })
      : canUnsilence ? h("button", { type: "button", "data-action": "unsilence", onclick: unsilence }, "Unsilence")
        : h("button", { type: "button", class: "primary", "data-action": "silence", onclick: silence }, "Silence…");
    return h("header", { class: "page-head" },
      h("div", {},
        h("div", { class: "title" }, badge(alert.status, alert.state), h("h1", { text: alert.name }),
          h("span", { class: `sev ${alert.severity}`, text: alert.severity })),
        h("div", { class: "sub muted small" }, alert.description || "",
          alert.owner ? ` · owner ${alert.owner}` : "", alert.tags.length ? " · " : "",
          alert.tags.map((t) => h("span", { class: "tag", text: t })))),
      h("div", { class: "actions" }, action, dagLink(alert.dag_id, "Runs", "/runs")));
  }

  function banners() {
    const out = [];
    if (alert.docs && alert.docs.banner) out.push(h("div", { class: "banner warn", text: alert.docs.banner }));
    else if (alert.stale) out.push(h("div", { class: "banner warn", text: "This alert is invalid in its alerts file: the DAG runs its last valid version." }));
    if (alert.state === "error" && alert.last_error) out.push(h("div", { class: "banner bad" }, h("strong", { text: "The query failed: " }), alert.last_error));
    if (alert.paused) out.push(h("div", { class: "banner info", text: "The DAG is paused: the alert is not evaluated on its schedule." }));
    return out;
  }

  async function load() {
    const main = document.getElementById("main");
    if (!dagId) { main.replaceChildren(h("div", { class: "state-msg", text: "No DAG given." })); return; }
    try {
      alert = (await api(`alerts/${encodeURIComponent(dagId)}`)).alert;
    } catch (err) {
      main.replaceChildren(errorView(err, "This DAG is not a SQL Sentinel alert."));
      return;
    }
    if (instance === null || !alert.instances.some((i) => i.instance_key === instance)) instance = alert.spark_instance;
    const value = alert.status === "unknown" ? ["–"]
      : [fmtValue(alert.last_value), alert.threshold !== null && alert.threshold !== undefined ? h("span", { class: "vs", text: ` / ${fmtValue(alert.threshold)}` }) : ""];
    const deliveries = alert.dead_deliveries || alert.pending_deliveries
      ? [`${alert.pending_deliveries} pending`, h("div", { class: "sub", text: `${alert.dead_deliveries} dead-lettered` })]
      : ["all sent"];
    const [chartCard, historyCard] = await Promise.all([chartSection(), historySection()]);
    const parts = [header(), ...banners(),
      h("div", { class: "grid" },
        stat("Value / threshold", ...value),
        stat(alert.status === "firing" || alert.state === "firing" ? "Firing since" : "In this state since", alert.since ? timeEl(alert.firing_since || alert.since) : "–"),
        stat("Last evaluation", timeEl(alert.last_evaluated_at)),
        stat("Notifications", ...deliveries)),
      h("div", { class: "two-col" },
        h("div", { class: "area-chart" }, chartCard),
        h("div", { class: "area-side" }, silencesSection(), definitionSection()),
        h("div", { class: "area-history" }, historyCard)),
      deliveriesSection(), instancesSection()];
    main.replaceChildren(...parts.filter(Boolean));

    document.body.dataset.rendered = String(performance.timeOrigin + performance.now());  // when the tab was drawn (bench/ui_speed.py)
  }

  async function silence() {
    const created = await Sentinel.silenceDialog(alert);
    if (created) { toast(`silenced until ${fmtTime(created.ends_at)}`); await load(); }
  }
  async function unsilence() {
    try { await Sentinel.unsilence(alert); toast("unsilenced"); } catch (err) { toast(err.message); }
    await load();
  }
  async function endSilence(x) {
    try {
      await api(`alerts/${encodeURIComponent(dagId)}/silences/${x.id}/end`, { json: {} });
      toast(`silence #${x.id} ended`);
    } catch (err) { toast(err.message); }
    await load();
  }

  document.addEventListener("DOMContentLoaded", () => { Sentinel.followTheme(); load(); });
})();
