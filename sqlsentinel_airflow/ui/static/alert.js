/* The "SQL Sentinel" tab of an alert DAG: state, incidents, history chart and table, silences,
   SQL and channels (no secrets: the API sends what the DAG's docs show). ?dag_id=<the DAG>. */
"use strict";

(() => {
  const { api, badge, codeText, dagLink, errorView, fmtAgo, fmtTime, fmtValue, h, s, timeEl, toast } = Sentinel;
  const REFRESH_MS = 30000;  // like the SQL Sentinel page
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
      svg.append(s("text", { x: x(p), y: H - 8, "text-anchor": anchor, text: Sentinel.fmtShortTime(p.at) }));
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
        const q = new URLSearchParams({ limit: String(CHART_POINTS), samples: "true" });
        if (instance !== null) q.set("instance_key", instance);
        const page = await api(`alerts/${encodeURIComponent(dagId)}/history?${q}`);
        // a compacted row stands for its evaluation and the quiet ones folded into it (samples)
        points = page.entries.slice().reverse().flatMap((e) => [
          { at: e.evaluated_at, value: numeric(e.actual_value), threshold: numeric(e.threshold), outcome: e.outcome },
          ...(e.samples || []).map((f) => ({ at: f.evaluated_at, value: numeric(f.actual_value), threshold: numeric(e.threshold), outcome: e.outcome })),
        ]).slice(-CHART_POINTS);
        draw(true);
      } catch (err) { body.replaceChildren(h("div", { class: "form-error", text: err.message })); }
    }
    await fill();  // the points are in before the tab is drawn (the chart follows its width)
    return section(h("div", { class: "section-head" }, h("h2", { text: "Recent values" }), picker), "chart", body);
  }

  const numeric = (v) => (v === null || v === undefined || v === "" || typeof v === "boolean" || Number.isNaN(Number(v)) ? null : Number(v));
  const instanceLabel = (i) => (i.instance_key ? i.label || Sentinel.instanceLabel(alert, i.instance_key) : "(single instance)");
  const isKeyed = () => alert.instances.some((i) => i.instance_key !== "");

  // --- context columns (the query's other columns): compact key=value chips, full text on hover
  const CONTEXT_SHOWN = 6;
  function contextChips(context) {
    const entries = Object.entries(context || {});
    if (!entries.length) return h("span", { class: "muted", text: "–" });
    const whole = ([k, v]) => `${k}=${v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)}`;
    const chip = ([k, v]) => h("span", { class: "kv", title: whole([k, v]),
      text: `${k}=${v !== null && typeof v === "object" ? JSON.stringify(v) : fmtValue(v)}` });
    const more = entries.length - CONTEXT_SHOWN;
    return h("span", { class: "kv-list" }, entries.slice(0, CONTEXT_SHOWN).map(chip),
      more > 0 ? h("span", { class: "kv muted", title: entries.slice(CONTEXT_SHOWN).map(whole).join("\n"), text: `+${more} more` }) : null);
  }

  // --- history table, paged with before_id
  function historyRows() {
    return history.map((e) => h("tr", {},
      h("td", {}, h("span", { title: fmtTime(e.evaluated_at), class: "nowrap", text: fmtTime(e.evaluated_at) }),
        e.repeats ? h("div", { class: "muted small nowrap", title: fmtTime(e.last_evaluated_at), text: `until ${fmtTime(e.last_evaluated_at)}` }) : null),
      alert.instance_count > 1 ? h("td", { text: instanceLabel(e) }) : null,
      h("td", {}, h("span", { class: `outcome-${e.outcome}`, text: e.outcome.toUpperCase() }),
        e.repeats ? h("span", { class: "muted small", title: `${e.repeats + 1} evaluations that changed nothing, kept as one row`, text: ` ×${e.repeats + 1}` }) : null),
      h("td", { text: e.state }),
      h("td", { class: "num", text: fmtValue(e.actual_value) }),
      h("td", { class: "num", text: fmtValue(e.threshold) }),
      hasContext() ? h("td", { class: "c-context" }, contextChips(e.context)) : null,
      h("td", { class: "small", "data-role": "reason", text: e.error || Sentinel.historyReason(e) }),
      h("td", { class: "small", text: e.events.join(", ") || "–" }),
      h("td", { class: "small" }, Sentinel.runLinks(alert.dag_id, e.run_type, e.run_id))));
  }

  const hasContext = () => history.some((e) => Object.keys(e.context || {}).length) || alert.instances.some((i) => Object.keys(i.last_context || {}).length);

  async function historySection() {
    const table = h("table", { class: "rows" });
    const more = h("button", { type: "button", class: "small", text: "Load older" });
    const render = () => {
      const heads = ["Evaluated", alert.instance_count > 1 ? "Instance" : null, "Outcome", "State", "Value", "Threshold", hasContext() ? "Context" : null, "Reason / error", "Notified", "Run"].filter(Boolean);
      table.replaceChildren(h("thead", {}, h("tr", {}, heads.map((t) => h("th", { text: t })))),
        h("tbody", {}, history.length ? historyRows() : h("tr", {}, h("td", { colspan: heads.length, class: "empty", text: "No evaluations yet." }))));
      more.classList.toggle("hidden", nextBefore === null);
    };
    const page = async (size) => {
      more.disabled = true;
      try {
        const q = new URLSearchParams({ limit: String(typeof size === "number" ? size : PAGE) });
        if (nextBefore !== null) q.set("before_id", String(nextBefore));
        const data = await api(`alerts/${encodeURIComponent(dagId)}/history?${q}`);
        history = history.concat(data.entries);
        nextBefore = data.next_before_id;
        render();
      } catch (err) { toast(err.message); }
      more.disabled = false;
    };
    more.addEventListener("click", page);
    const keep = Math.min(500, Math.max(PAGE, history.length));  // a refresh keeps what was loaded
    history = []; nextBefore = null;
    await page(keep);
    return section("History", "history", h("div", { class: "scroll-x" }, table), h("div", { class: "actions" }, more));
  }

  // --- incidents: stretches of firing or of query errors, newest first, paged with before
  const INCIDENTS_PAGE = 5;  // the latest first; "Load older" pages back
  function fmtDuration(seconds) {
    const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
    let rest = Math.max(0, Math.round(seconds));
    const parts = [];
    for (const [unit, size] of units) {
      if (rest >= size || (unit === "s" && !parts.length)) { parts.push(`${Math.floor(rest / size)}${unit}`); rest %= size; }
      if (parts.length === 2) break;
    }
    return parts.join(" ");
  }
  const absTime = (iso) => h("span", { class: "nowrap", title: fmtAgo(iso), text: fmtTime(iso) });

  // an incident's timeline: what people and the escalation ladder did to it (its `actions`,
  // oldest first: acknowledged, unacknowledged, rearmed, escalated)
  const ACTION_WORDS = { acknowledged: "acknowledged", unacknowledged: "acknowledgement taken back", rearmed: "acknowledgement ended: the value got worse", escalated: "escalated" };
  function timelineRow(i, columns) {
    const during = i.actions || [];
    if (!during.length) return null;
    const detail = (a) => {
      const d = a.detail || {};
      if (a.action === "escalated") return ` to ${d.receiver || "the next receiver"}${d.step ? ` (step ${d.step}${d.steps ? ` of ${d.steps}` : ""})` : ""}`;
      return a.source !== "sentinel" ? ` by ${a.actor} (${a.source})` : "";
    };
    return h("tr", { class: "incident-timeline", "data-timeline-of": i.id },
      h("td", { colspan: columns },
        h("ul", { class: "timeline", "aria-label": "Timeline" }, during.map((a) => h("li", { "data-action": a.action },
          h("span", { class: "nowrap", title: fmtAgo(a.at), text: fmtTime(a.at) }), " · ",
          h("span", { class: "what", text: `${ACTION_WORDS[a.action] || a.action}${detail(a)}` }),
          a.comment ? h("span", { text: `: ${a.comment}` }) : null)))));
  }

  function incidentRow(i, keyed) {
    const sent = Object.entries(i.notifications).map(([kind, n]) => `${n} ${kind}`).join(", ");
    const duration = i.ongoing ? `${fmtDuration((Date.now() - new Date(i.started_at).getTime()) / 1000)} so far` : fmtDuration(i.duration_seconds);
    const error = i.error || "query error";
    const peak = i.kind === "error" ? h("span", { class: "small", title: error, text: error.length > 48 ? `${error.slice(0, 47)}…` : error })
      : h("span", { title: i.peak_at ? `at ${fmtTime(i.peak_at)}` : "" }, fmtValue(i.peak_value),
        i.peak_threshold !== null && i.peak_threshold !== undefined ? h("span", { class: "vs", text: ` / ${fmtValue(i.peak_threshold)}` }) : "");
    return h("tr", { "data-incident-id": i.id, "data-kind": i.kind, "data-ongoing": String(i.ongoing) },
      h("td", { class: "nowrap" }, h("span", { class: `outcome-${i.kind === "firing" ? "alert" : "error"}`, text: i.kind === "firing" ? "FIRING" : "QUERY ERROR" })),
      keyed ? h("td", { text: i.instance_key ? instanceLabel(i) : "(the whole alert)" }) : null,  // query errors
      h("td", {}, absTime(i.started_at)),
      h("td", {}, i.ongoing ? h("strong", { text: "ongoing" }) : absTime(i.ended_at)),
      h("td", { class: "nowrap", text: duration }),
      h("td", { class: "num", title: "evaluations during the incident", text: String(i.evaluations) }),
      h("td", {}, peak),
      h("td", { class: "small" }, sent || "none",
        i.silenced ? h("div", { class: "muted", "data-silenced": "true", text: "a silence muted some" }) : null,
        incidentAck(i)));
  }
  /** The acknowledgement of an ongoing firing incident (its instance's, same incident). */
  function incidentAck(i) {
    if (!i.ongoing || i.kind !== "firing") return null;
    const now = alert.instances.find((x) => x.instance_key === i.instance_key);
    return now && now.state === "firing" && now.ack ? h("div", { class: "ack-note" }, Sentinel.ackBadge(now.ack)) : null;
  }

  async function incidentsSection() {
    const table = h("table", { class: "rows" });
    const more = h("button", { type: "button", class: "small hidden", text: "Load older" });
    const keyed = alert.instance_count > 1 || alert.instances.some((i) => i.instance_key);
    let found = [], cursor = null;
    const render = () => {
      const heads = ["Kind", keyed ? "Instance" : null, "Started", "Ended", "Duration", "Evals", "Peak / threshold", "Notifications"].filter(Boolean);
      table.replaceChildren(h("thead", {}, h("tr", {}, heads.map((t) => h("th", { text: t })))),
        h("tbody", {}, found.length ? found.flatMap((i) => [incidentRow(i, keyed), timelineRow(i, heads.length)].filter(Boolean))
          : h("tr", {}, h("td", { colspan: heads.length, class: "empty", text: "No incidents: it has not fired, nor has its query failed." }))));
      more.classList.toggle("hidden", cursor === null);
    };
    const page = async () => {
      more.disabled = true;
      try {
        const q = new URLSearchParams({ limit: String(INCIDENTS_PAGE) });
        if (cursor !== null) q.set("before", String(cursor));
        const data = await api(`alerts/${encodeURIComponent(dagId)}/incidents?${q}`);
        found = found.concat(data.incidents);
        cursor = data.next_before;
        render();
      } catch (err) { table.replaceChildren(h("tbody", {}, h("tr", {}, h("td", { class: "form-error", text: err.message })))); }
      more.disabled = false;
    };
    more.addEventListener("click", page);
    await page();  // drawn with its first page, like the chart and the history
    return section("Incidents", "incidents", h("div", { class: "scroll-x" }, table), h("div", { class: "actions" }, more));
  }

  // --- the Backtest panel: a replay of the recorded evaluations over a range, current vs a
  // proposed policy, drawn by backtest_chart.js (the chart of `sqlsentinel backtest --plot`).
  // Built once: the 30 s refresh keeps the form and the last result.
  const BACKTEST_DAYS = 7;
  const POLICY_FIELDS = [
    ["fire_after", "number", "ALERT results in a row before it fires"],
    ["resolve_after", "number", "OK results in a row before it resolves"],
    ["renotify_after", "text", "reminder interval (4h, never)"],
    ["notify_on_error", "text", "errors in a row before an error notification (3, never)"],
  ];
  let backtestCard = null;
  function backtestSection() {
    if (backtestCard) return backtestCard;
    const wall = (d) => { const t = Sentinel.timeParts(d.toISOString()); return `${t.date}T${t.hm}`; };
    const now = new Date();
    const from = h("input", { type: "datetime-local", id: "bt-from", name: "from", value: wall(new Date(now.getTime() - BACKTEST_DAYS * 86400000)) });
    const to = h("input", { type: "datetime-local", id: "bt-to", name: "to", value: wall(now) });
    const inputs = {};
    const fields = POLICY_FIELDS.map(([key, type, help]) => {
      inputs[key] = h("input", { type, id: `bt-${key}`, name: key, placeholder: "current", min: type === "number" ? 1 : undefined, size: 8, title: help });
      return h("div", { class: "field" }, h("label", { for: `bt-${key}`, text: key }), inputs[key]);
    });
    inputs.notify_on_recovery = h("select", { id: "bt-notify_on_recovery", name: "notify_on_recovery" },
      h("option", { value: "", text: "current" }), h("option", { value: "true", text: "true" }), h("option", { value: "false", text: "false" }));
    fields.push(h("div", { class: "field" }, h("label", { for: "bt-notify_on_recovery", text: "notify_on_recovery" }), inputs.notify_on_recovery));
    const error = h("div", { class: "form-error", role: "alert", "data-role": "backtest-error" });
    const out = h("div", { class: "bt-result", "data-role": "backtest-result" });
    const run = h("button", { type: "submit", class: "primary", "data-action": "run-backtest", text: "Run backtest" });
    const editable = alert.can_edit;
    let last = null, drawnWidth = 0;
    const draw = (force) => {
      if (!last || !out.clientWidth || (out.clientWidth === drawnWidth && force !== true)) return;
      drawnWidth = out.clientWidth;
      SentinelBacktest.render(out, last, { width: drawnWidth, fmtTime: Sentinel.fmtShortTime });
    };
    new ResizeObserver(() => draw(false)).observe(out);
    const form = h("form", { class: "bt-form", novalidate: true },
      h("div", { class: "bt-fields" },
        h("div", { class: "field" }, h("label", { for: "bt-from", text: `From (${Sentinel.timeZone()})` }), from),
        h("div", { class: "field" }, h("label", { for: "bt-to", text: "To" }), to),
        ...fields),
      h("div", { class: "actions" }, editable ? run : h("span", { class: "muted small", text: "read only: a backtest needs edit access to this DAG" })),
      error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!from.value || !to.value) { error.textContent = "give both ends of the range"; return; }
      const proposed = {};
      for (const [key, input] of Object.entries(inputs)) if (input.value.trim() !== "") proposed[key] = input.value.trim();
      run.disabled = true;
      error.textContent = "";
      out.setAttribute("aria-busy", "true");
      try {
        last = await api(`alerts/${encodeURIComponent(dagId)}/backtest`, {
          json: { start: Sentinel.wallTimeToIso(from.value), end: Sentinel.wallTimeToIso(to.value), proposed },
        });
        draw(true);
      } catch (err) { error.textContent = err.message; }
      out.removeAttribute("aria-busy");
      run.disabled = false;
    });
    for (const el of [from, to, ...Object.values(inputs)]) el.disabled = !editable;
    backtestCard = section("Backtest", "backtest",
      h("p", { class: "muted small" }, "What this alert would have done over a past range under its current policy and a proposed one: the evaluations recorded in the state database, decided again by the real state machine (nothing is written, nothing sent). At most 31 days here. As-of backtests, which run the query at every past tick, are a CLI job: ",
        h("code", { text: "sqlsentinel backtest --source as-of" }), "."),
      form, out);
    return backtestCard;
  }

  // --- silences, definition, deliveries, instances
  function silencesSection() {
    const items = alert.silences.map((x) => h("li", { "data-silence-id": x.id ?? "" },
      h("div", {}, h("strong", { text: x.status === "active" ? "Active" : "Upcoming" }), " · ",
        x.source === "config" ? "declared in alerts.yaml" : `by ${x.author}`,
        x.status === "active" ? "" : ` · from ${fmtTime(x.starts_at)} (${fmtAgo(x.starts_at)})`,
        ` · until ${fmtTime(x.ends_at)} (${fmtAgo(x.ends_at)})`),
      x.instance_key != null ? h("div", { class: "small" }, "only ", h("span", { class: "kv", "data-role": "silence-instance", title: x.instance_label, text: x.instance_label })) : null,
      h("div", { class: "muted small", text: x.reason || "(no reason)" }),
      x.match !== alert.name ? h("div", { class: "muted small" }, "matches ", h("code", { text: x.match })) : null,
      x.can_end && alert.can_edit ? h("button", { type: "button", class: "small danger", "data-action": "end-silence", onclick: () => endSilence(x) }, "End silence") : null));
    const add = alert.can_edit ? h("button", { type: "button", class: "small", "data-action": "silence", onclick: silence }, "Silence…") : null;
    return section(h("div", { class: "section-head" }, h("h2", { text: "Silences" }), add), "silences",
      items.length ? h("ul", { class: "plain" }, items) : h("div", { class: "muted", text: "Not silenced. A silence holds back notifications, not evaluations." }),
      muteWindowsPart());
  }

  // Recurring mute windows of alerts.yaml (`mute_windows:`) that match the alert, with
  // when they next start and end (`sqlsentinel mute-windows FILE` lists the same)
  function muteWindowsPart() {
    const windows = alert.mute_windows || [];
    if (!windows.length) return null;
    const when = (w) => {
      if (w.active) return w.ends_at ? `until ${fmtTime(w.ends_at)} (${fmtAgo(w.ends_at)})` : "no end within two years";
      if (!w.starts_at) return "not again within two years";
      return `next ${fmtTime(w.starts_at)} (${fmtAgo(w.starts_at)})${w.ends_at ? ` to ${fmtTime(w.ends_at)}` : ""}`;
    };
    return h("div", { "data-role": "mute-windows" },
      h("h3", { text: "Mute windows" }),
      h("ul", { class: "plain" }, windows.map((w) => h("li", { "data-mute-window": w.name, "data-active": String(w.active) },
        h("div", {}, h("strong", { text: w.active ? "Active" : "Upcoming" }), " · ", h("code", { text: w.name }), ` · ${when(w)}`),
        h("div", { class: "muted small", text: w.when }),
        w.reason ? h("div", { class: "muted small", text: w.reason }) : null))));
  }

  // Where routes: sends the alert (`sqlsentinel routes FILE --alert NAME` prints the same)
  function routingPart(routing, part) {
    const receivers = routing.receivers.map((r) => h("li", { "data-receiver": r.name },
      h("strong", { text: r.name }),
      ...r.via.map((v) => h("div", { class: "muted small" }, "via ", h("code", { text: v }))),
      h("ul", { class: "plain" }, r.channels.map((c) => h("li", {}, codeText(c))))));
    const nobody = routing.nobody_via.map((v) => h("li", { class: "muted small" }, "no receiver via ", h("code", { text: v })));
    return part("Routing", h("ul", { class: "plain", "data-role": "routing" }, receivers, nobody),
      routing.renotify ? h("div", { class: "muted small" }, "renotify_after ", codeText(routing.renotify)) : null,
      routing.escalation && routing.escalation.length
        ? h("div", { "data-role": "escalation" },
          h("div", { class: "muted small" }, `escalation (from ${routing.escalation_from}), while unacknowledged:`),
          h("ul", { class: "plain" }, routing.escalation.map((line) => h("li", {}, codeText(line)))))
        : null,
      routing.reaches_nobody ? h("div", { class: "outcome-alert", text: "Reaches nobody: no channel of its own and no receiver." }) : null);
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
    if (docs.routing) parts.push(routingPart(docs.routing, part));
    if (docs.facts && docs.facts.length) {
      parts.push(part("Settings", h("dl", { class: "facts" }, docs.facts.flatMap((f) => [h("dt", { text: f.label }), h("dd", {}, codeText(f.text))]))));
    }
    return section("Definition", "definition", ...parts);
  }

  // --- deliveries: every notification of the alert, where it went, paged with before_id
  let deliveries = [];
  let deliveriesBefore = null;
  const DELIVERY_CLASS = { dead: "outcome-alert", pending: "outcome-error", delivered: "outcome-ok" };
  // a grouped message (docs/adr/0013-grouped-messages.md): how many events it carried, and
  // which, in its title (the first 20)
  function groupNote(members) {
    if (!members || !members.length) return null;
    const listed = members.slice(0, 20).map((m) => `${m.kind} ${m.label || "(the alert)"}`);
    if (members.length > 20) listed.push(`+${members.length - 20} more`);
    return h("div", { class: "muted small", title: listed.join("\n"), text: `group of ${members.length}` });
  }
  async function deliveriesSection() {
    const table = h("table", { class: "rows" });
    const more = h("button", { type: "button", class: "small", text: "Load older" });
    const heads = ["Created", "Event", "Channel", "Destination", "Attempts", "Status", "Last error"];
    const render = () => {
      const rows = deliveries.map((d) => h("tr", { "data-delivery-id": d.id, "data-status": d.status },
        h("td", {}, timeEl(d.created_at)),
        h("td", {}, d.kind, groupNote(d.members)),
        h("td", { text: d.channel }),
        h("td", { class: "destination", text: d.destination || "–", title: d.destination ? undefined : "enqueued before destinations were recorded" }),
        h("td", { class: "num", text: d.attempts }),
        h("td", {}, h("span", { class: DELIVERY_CLASS[d.status] || "", text: d.status }),
          d.delivered_at ? h("div", { class: "muted small" }, timeEl(d.delivered_at)) : null),
        h("td", { class: "small", text: d.last_error || "" })));
      table.replaceChildren(h("thead", {}, h("tr", {}, heads.map((t) => h("th", { text: t })))),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: heads.length, class: "empty", text: "No notification sent yet." }))));
      more.classList.toggle("hidden", deliveriesBefore === null);
    };
    const page = async (size) => {
      more.disabled = true;
      try {
        const q = new URLSearchParams({ limit: String(typeof size === "number" ? size : PAGE) });
        if (deliveriesBefore !== null) q.set("before_id", String(deliveriesBefore));
        const data = await api(`alerts/${encodeURIComponent(dagId)}/deliveries?${q}`);
        deliveries = deliveries.concat(data.deliveries);
        deliveriesBefore = data.next_before_id;
        render();
      } catch (err) { toast(err.message); }
      more.disabled = false;
    };
    more.addEventListener("click", page);
    const keep = Math.min(500, Math.max(PAGE, deliveries.length));
    deliveries = []; deliveriesBefore = null;
    await page(keep);
    return section("Deliveries", "deliveries", h("div", { class: "scroll-x" }, table), h("div", { class: "actions" }, more));
  }

  /** The "Notifications" card: what is owed, else the last delivery, else "none yet". */
  function notificationsStat() {
    if (alert.dead_deliveries || alert.pending_deliveries) {
      return stat("Notifications", `${alert.pending_deliveries} pending`, h("div", { class: "sub", text: `${alert.dead_deliveries} dead-lettered` }));
    }
    const last = deliveries.find((d) => d.status === "delivered");
    if (!last) return stat("Notifications", "none yet");
    return stat("Notifications", "all sent", h("div", { class: "sub" }, `last: ${last.kind} to ${last.destination || last.channel}, `, timeEl(last.delivered_at || last.created_at)));
  }

  // --- instances of a keyed alert: first after the stat cards, each with its own silence
  function instancesSection() {
    if (!isKeyed()) return null;
    const active = alert.silences.filter((x) => x.status === "active");
    const whole = active.find((x) => x.instance_key == null);
    const firing = alert.instances.filter((i) => i.state === "firing").length;
    const muteCell = (i) => {
      const own = active.find((x) => x.instance_key === i.instance_key);
      if (own) {
        return h("span", { class: "nowrap" }, h("span", { class: "badge silenced", "data-status": "silenced", title: own.reason, text: "silenced" }),
          " ", h("span", { class: "muted small", title: fmtTime(own.ends_at), text: `until ${Sentinel.fmtShortTime(own.ends_at)}` }),
          own.can_end && alert.can_edit ? h("button", { type: "button", class: "small danger", "data-action": "end-instance-silence", onclick: () => endSilence(own) }, "End") : null);
      }
      if (whole) return h("span", { class: "muted small", text: "silenced with the alert" });
      if (!alert.can_edit) return h("span", { class: "muted small", text: "–" });
      return h("button", { type: "button", class: "small", "data-action": "silence-instance", onclick: () => silence(i.instance_key) }, "Silence…");
    };
    // a firing instance: Acknowledge… (or Unacknowledge once someone did), beside Silence…
    const ackButton = (i) => {
      if (i.state !== "firing" || !alert.can_edit) return null;
      if (i.ack) return h("button", { type: "button", class: "small", "data-action": "unack-instance", title: "Take back the acknowledgement: its reminders and escalation are due again", onclick: () => unacknowledge(i.instance_key) }, "Unack");
      return h("button", { type: "button", class: "small", "data-action": "ack-instance", title: "Acknowledge this instance's incident: you are on it", onclick: () => acknowledge(i.instance_key) }, "Ack…");
    };
    const rows = alert.instances.map((i) => h("tr", { "data-instance-key": i.instance_key, "data-state": i.state, "data-silenced": String(i.silenced), "data-acked": String(Boolean(i.ack)) },
      h("td", { class: "c-instance" }, h("span", { class: "kv strong", title: instanceLabel(i), text: instanceLabel(i) }),
        i.state === "firing" && i.ack ? h("div", { class: "ack-note" }, Sentinel.ackBadge(i.ack)) : null,
        Sentinel.inhibitedNote(i.inhibited_by)),
      h("td", {}, badge(i.state)),
      h("td", { class: "num nowrap" }, fmtValue(i.last_value), i.last_threshold !== null && i.last_threshold !== undefined ? h("span", { class: "vs", text: ` / ${fmtValue(i.last_threshold)}` }) : ""),
      h("td", { class: "c-context" }, i.last_error ? h("span", { class: "small outcome-error", text: i.last_error }) : contextChips(i.last_context)),
      h("td", {}, timeEl(i.flapping_since || i.firing_since || i.since)),
      h("td", {}, timeEl(i.last_evaluated_at)),
      h("td", { class: "c-actions" }, h("span", { class: "row-actions" }, ackButton(i), muteCell(i)))));
    const shown = alert.instances.length < alert.instance_count ? ` (showing ${alert.instances.length})` : "";
    return section(h("div", { class: "section-head" }, h("h2", { text: `Instances: ${firing} of ${alert.instance_count} firing${shown}` })), "instances",
      h("div", { class: "scroll-x" }, h("table", { class: "rows" },
        h("thead", {}, h("tr", {}, ["Instance", "State", "Value / threshold", "Context", "Since", "Last run", "Actions"].map((t) => h("th", { text: t })))),
        h("tbody", {}, rows))));
  }

  // --- runbook and links (alerts.yaml `runbook_url`, `links`): buttons that open a new tab
  function linkButtons() {
    const docs = alert.docs || {};
    const runbook = Sentinel.externalLink(docs.runbook_url || alert.runbook_url,
      { class: "button primary small", "data-link": "runbook", title: docs.runbook_url || alert.runbook_url }, "Runbook ↗");
    const more = (docs.links || []).map((l) => Sentinel.externalLink(l.url, { class: "button small", "data-link": "link", title: l.url }, `${l.title} ↗`));
    const all = [runbook, ...more].filter(Boolean);
    return all.length ? h("div", { class: "links", "aria-label": "Runbook and links" }, all) : null;
  }

  // --- ?silence=open[&instance_key=...]: the one-click silence of a message opens the dialog
  // (the user confirms; opening the link changes nothing). The tab is an iframe of Airflow's
  // page, which has the parameters; opened on its own, the tab's own URL has them.
  let silenceAsked = false;
  function silenceRequest() {
    const sources = [window.location.search];
    try { if (window.parent !== window) sources.unshift(window.parent.location.search); } catch (_) { /* not same-origin */ }
    for (const search of sources) {
      const q = new URLSearchParams(search);
      if (q.get("silence") === "open") return { instanceKey: q.get("instance_key") || null };
    }
    return null;
  }
  async function openAskedSilence() {
    if (silenceAsked) return;
    silenceAsked = true;
    const asked = silenceRequest();
    if (!asked) return;
    if (!alert.can_edit) { toast("read only: silencing needs edit access to this DAG"); return; }
    const created = await Sentinel.silenceDialog(alert, { instanceKey: asked.instanceKey });
    if (created) { toast(`silenced until ${fmtTime(created.ends_at)}`); await load(); }
  }

  // --- page
  function header() {
    const active = alert.silences.filter((x) => x.status === "active" && x.instance_key == null);
    const canUnsilence = alert.can_edit && active.some((x) => x.can_end);
    const action = !alert.can_edit ? h("span", { class: "muted small", text: "read only: silencing needs edit access to this DAG" })
      : canUnsilence ? h("button", { type: "button", "data-action": "unsilence", onclick: unsilence }, "Unsilence")
        : h("button", { type: "button", class: "primary", "data-action": "silence", onclick: silence }, "Silence…");
    const single = !isKeyed() ? Sentinel.firingInstances(alert)[0] : null;
    return h("header", { class: "page-head" },
      h("div", {},
        h("div", { class: "title" }, Sentinel.alertBadge(alert), h("h1", { text: alert.name }),
          h("span", { class: `sev ${alert.severity}`, text: alert.severity }),
          single ? Sentinel.ackBadge(single.ack) : null),
        h("div", { class: "sub muted small" }, alert.description || "",
          alert.owner ? ` · owner ${alert.owner}` : "", alert.tags.length ? " · " : "",
          alert.tags.map((t) => h("span", { class: "tag", text: t }))),
        linkButtons()),
      h("div", { class: "actions" }, ackAction(), action, dagLink(alert.dag_id, "Runs", "/runs")));
  }

  /** Acknowledge every firing instance nobody acknowledged yet, else take the
      acknowledgements back; nothing when nothing fires or the user may not edit. */
  function ackAction() {
    const firing = Sentinel.firingInstances(alert);
    if (!firing.length || !alert.can_edit) return null;
    if (firing.some((i) => !i.ack)) {
      return h("button", { type: "button", class: "primary", "data-action": "ack", onclick: () => acknowledge() }, "Acknowledge…");
    }
    return h("button", { type: "button", "data-action": "unack", onclick: () => unacknowledge() }, "Unacknowledge");
  }

  function banners() {
    const out = [staleBanner()];
    if (alert.state === "error" && alert.last_error) out.push(h("div", { class: "banner bad" }, h("strong", { text: "The query failed: " }), alert.last_error));
    if (alert.inhibited_by && alert.inhibited_by.length) out.push(h("div", { class: "banner info", "data-banner": "inhibited" }, h("strong", { text: `Inhibited by ${alert.inhibited_by.join(", ")}: ` }), "a parent alert (depends_on) is firing or failing, so this alert's new notifications are held. It is still evaluated and its history kept; when the parent recovers, an incident still firing is announced once, and a resolved message always goes out for one already announced."));
    if (alert.state === "flapping") out.push(h("div", { class: "banner warn", "data-banner": "flapping" }, h("strong", { text: "Flapping: " }), "it keeps changing between OK and FIRING (flap_detection in alerts.yaml). One message said so; no message goes out per change until it has been stable long enough, then one says how it settled. History keeps every evaluation."));
    if (alert.enabled === false) out.push(h("div", { class: "banner info", "data-banner": "disabled", text: "Disabled (enabled: false in alerts.yaml): the DAG has no schedule; it runs only when triggered by hand." }));
    else if (alert.paused) out.push(h("div", { class: "banner info", text: "The DAG is paused: the alert is not evaluated on its schedule." }));
    return out;
  }

  // --- a stale alert (runs its last valid version) and an invalid one (does not run)
  function staleBanner() {
    if (!alert.stale && !(alert.docs && alert.docs.banner)) return null;
    const text = (alert.docs && alert.docs.banner) || "This alert is invalid in its alerts file: the DAG runs its last valid version.";
    const errors = alert.config_errors || [];
    return h("div", { class: "banner warn", id: "stale-banner" }, h("div", { text }),
      errors.length ? Sentinel.configErrorList(errors) : null);
  }

  function invalidPage(invalid) {
    const count = invalid.errors.length;
    return [
      h("header", { class: "page-head" },
        h("div", {},
          h("div", { class: "title" }, h("span", { class: "badge invalid", "data-status": "invalid", text: "invalid" }), h("h1", { text: invalid.name })),
          h("div", { class: "sub muted small", text: `Defined in ${invalid.source_file || "the alerts file"} but not valid: this alert is not running.` })),
        h("div", { class: "actions" }, dagLink(invalid.dag_id, "Runs", "/runs"))),
      h("section", { class: "card section", id: "invalid" },
        h("div", { class: "section-head" }, h("h2", { text: `${count} configuration error${count === 1 ? "" : "s"}` })),
        Sentinel.configErrorList(invalid.errors),
        h("p", { class: "muted small" }, "Fix the alert in its file: at the next parse this DAG becomes the alert, with its history. ",
          h("code", { text: "sqlsentinel validate" }), " shows the same errors.")),
    ];
  }

  async function load() {
    const main = document.getElementById("main");
    if (!dagId) { main.replaceChildren(h("div", { class: "state-msg", text: "No DAG given." })); return; }
    try {
      const answer = await api(`alerts/${encodeURIComponent(dagId)}`);
      if (answer.invalid) { main.replaceChildren(...invalidPage(answer.invalid)); return; }
      alert = answer.alert;
    } catch (err) {
      main.replaceChildren(errorView(err, "This DAG is not a SQL Sentinel alert."));
      return;
    }
    if (instance === null || !alert.instances.some((i) => i.instance_key === instance)) instance = alert.spark_instance;
    const value = alert.status === "unknown" ? ["–"]
      : [fmtValue(alert.last_value), alert.threshold !== null && alert.threshold !== undefined ? h("span", { class: "vs", text: ` / ${fmtValue(alert.threshold)}` }) : ""];
    const [chartCard, historyCard, deliveriesCard, incidentsCard] = await Promise.all([chartSection(), historySection(), deliveriesSection(), incidentsSection()]);
    const parts = [header(), ...banners(),
      h("div", { class: "grid" },
        stat("Value / threshold", ...value),
        stat(alert.state === "flapping" ? "Flapping since" : alert.status === "firing" || alert.state === "firing" ? "Firing since" : "In this state since", alert.since ? timeEl(alert.state === "flapping" ? alert.since : alert.firing_since || alert.since) : "–"),
        stat("Last evaluation", timeEl(alert.last_evaluated_at)),
        notificationsStat()),
      instancesSection(),
      incidentsCard,
      h("div", { class: "two-col" },
        h("div", { class: "area-chart" }, chartCard),
        h("div", { class: "area-side" }, silencesSection(), definitionSection()),
        h("div", { class: "area-history" }, historyCard)),
      deliveriesCard,
      backtestSection()];
    const scroll = [window.scrollX, window.scrollY];
    main.replaceChildren(...parts.filter(Boolean));
    window.scrollTo(...scroll);  // a refresh keeps the reader where they were
    openAskedSilence();
    // when the tab was drawn and painted (bench/ui_speed.py)
    requestAnimationFrame(() => setTimeout(() => { document.body.dataset.rendered = String(performance.timeOrigin + performance.now()); }, 0));
  }

  async function acknowledge(instanceKey) {
    const done = await Sentinel.ackDialog(alert, typeof instanceKey === "string" ? { instanceKey } : {});
    if (done) {
      const changed = (done.instances || []).filter((a) => a.changed).length;
      toast(changed ? `acknowledged (${changed})` : "already acknowledged");
      await load();
    }
  }
  async function unacknowledge(instanceKey) {
    try {
      await Sentinel.unacknowledge(alert, instanceKey);
      toast("acknowledgement taken back");
    } catch (err) { toast(err.message); }
    await load();
  }

  async function silence(instanceKey) {
    const created = await Sentinel.silenceDialog(alert, typeof instanceKey === "string" ? { instanceKey } : {});
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

  // refresh on its own every 30 s, not while a dialog is open or the tab is hidden
  function autoRefresh() {
    setInterval(() => {
      if (alert && !document.querySelector("dialog[open]") && document.visibilityState !== "hidden") load();
    }, REFRESH_MS);
    Sentinel.onTimeZoneChange(() => { if (!document.querySelector("dialog[open]")) load(); });
  }

  document.addEventListener("DOMContentLoaded", () => { Sentinel.followTheme(); load(); autoRefresh(); });
})();
