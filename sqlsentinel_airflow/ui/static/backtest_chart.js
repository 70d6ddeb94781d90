/* The backtest chart and counts: one place that draws a backtest (BacktestResult.to_dict JSON,
   docs/backtests.md). Used by the Backtest panel of an alert's tab (alert.js) and inlined, with
   backtest_chart.css, into the self-contained file of `sqlsentinel backtest --plot FILE.html`
   (backtest/plot.py). Plain DOM and SVG, no library, nothing fetched.

   Per instance: the value (line) against the threshold (dashed) over the range, the current
   policy's incidents shaded behind them, and under the plot one lane per policy (current,
   proposed) with its incidents as bars: firing in the policy's colour, query errors hatched. */
"use strict";

const SentinelBacktest = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const MAX_INSTANCES = 12;  // charts drawn; the instances with incidents first

  function node(ns, tag, attrs, children) {
    const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") el.textContent = String(v);
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }
  const h = (tag, attrs, ...children) => node(null, tag, attrs, children);
  const s = (tag, attrs, ...children) => node(SVG, tag, attrs, children);

  const ms = (iso) => new Date(iso).getTime();
  const defaultTime = (iso) => `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  function fmtNumber(v) {
    if (v === null || v === undefined) return "n/a";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    return Math.abs(v) >= 1000 ? v.toLocaleString("en-US", { maximumFractionDigits: 1 }) : String(Number(v.toPrecision(4)));
  }
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
  function niceTicks(lo, hi, count = 4) {
    const raw = (hi - lo) / count;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((m) => m >= raw) || raw;
    const ticks = [];
    for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
    if (ticks[ticks.length - 1] < hi) ticks.push(ticks[ticks.length - 1] + step);
    return ticks;
  }
  const instanceLabel = (series) => {
    const kv = Object.entries(series.key_values || {});
    if (kv.length) return kv.map(([k, v]) => `${k}=${v}`).join(", ");
    return series.instance_key ? series.instance_key : "(single instance)";
  };

  /** The instances to draw: those with incidents under either policy first, at most ``max``. */
  function chosenSeries(result, max) {
    const busy = new Set(result.runs.flatMap((r) => r.incidents.map((i) => i.instance_key)));
    const ordered = result.series.slice().sort((a, b) => Number(busy.has(b.instance_key)) - Number(busy.has(a.instance_key)));
    return ordered.slice(0, max);
  }

  /** One instance's chart (SVG) ``width`` pixels wide. */
  function chart(result, series, width, options = {}) {
    const fmtTime = options.fmtTime || defaultTime;
    const W = Math.max(360, Math.round(width)), L = 56, R = 14, T = 10, PH = 170, LANE = 16, GAP = 6;
    const runs = result.runs;
    const lanesTop = T + PH + 8;
    const H = lanesTop + runs.length * (LANE + GAP) + 22;
    const t0 = ms(result.start), t1 = ms(result.end);
    const x = (t) => L + ((Math.min(Math.max(t, t0), t1) - t0) * (W - L - R)) / Math.max(1, t1 - t0);
    const points = series.times.map((at, i) => ({ t: ms(at), v: series.values[i], th: series.thresholds[i] }));
    const numbers = points.flatMap((p) => [p.v, p.th]).filter((v) => v !== null);
    let lo = numbers.length ? Math.min(...numbers) : 0, hi = numbers.length ? Math.max(...numbers) : 1;
    if (lo === hi) { lo -= 1; hi += 1; }
    const ticks = niceTicks(lo, hi);
    lo = ticks[0]; hi = ticks[ticks.length - 1];
    const y = (v) => T + ((hi - v) * PH) / (hi - lo);
    const svg = s("svg", { class: "bt-chart", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
      "aria-label": `value against threshold, ${instanceLabel(series)}`, "data-instance-key": series.instance_key });
    // a keyed alert's query errors belong to the whole alert (instance ""): on every chart
    const mine = (run) => run.incidents.filter((i) => i.instance_key === series.instance_key || i.instance_key === "");
    const span = (i) => [x(ms(i.started_at)), x(i.ended_at ? ms(i.ended_at) : t1)];
    // the current policy's incidents, shaded behind the values
    for (const i of mine(runs[0])) {
      const [a, b] = span(i);
      svg.append(s("rect", { class: `bt-shade bt-shade-${i.kind}`, x: a.toFixed(1), y: T, width: Math.max(1.5, b - a).toFixed(1), height: PH }));
    }
    for (const v of ticks) {
      svg.append(s("line", { class: "bt-grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        s("text", { class: "bt-tick", x: L - 6, y: y(v) + 4, "text-anchor": "end", text: fmtNumber(v) }));
    }
    // value and threshold: a line per run of numbers (a gap where there is none)
    const paths = (key) => {
      const out = [];
      let current = [];
      for (const p of points) {
        if (p[key] === null) { if (current.length) out.push(current); current = []; continue; }
        current.push(`${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`);
      }
      if (current.length) out.push(current);
      return out;
    };
    for (const part of paths("th")) svg.append(s("polyline", { class: "bt-threshold", points: (part.length === 1 ? [part[0], `${W - R},${part[0].split(",")[1]}`] : part).join(" ") }));
    for (const part of paths("v")) {
      svg.append(part.length === 1
        ? s("circle", { class: "bt-dot", cx: part[0].split(",")[0], cy: part[0].split(",")[1], r: 2.2 })
        : s("polyline", { class: "bt-value", points: part.join(" ") }));
    }
    if (!points.some((p) => p.v !== null)) {
      svg.append(s("text", { class: "bt-tick", x: (L + W - R) / 2, y: T + PH / 2, "text-anchor": "middle", text: "no numeric value in the range" }));
    }
    svg.append(s("line", { class: "bt-axis", x1: L, x2: W - R, y1: T + PH, y2: T + PH }));
    // one lane per policy, its incidents as bars
    runs.forEach((run, n) => {
      const top = lanesTop + n * (LANE + GAP);
      svg.append(s("rect", { class: "bt-lane", x: L, y: top, width: W - L - R, height: LANE }),
        s("text", { class: "bt-lane-label", x: L - 6, y: top + LANE - 4, "text-anchor": "end", text: run.label }));
      for (const i of mine(run)) {
        const [a, b] = span(i);
        const peak = i.kind === "firing" && i.peak_value !== null ? `, peak ${fmtNumber(i.peak_value)} / ${fmtNumber(i.peak_threshold)}` : "";
        const what = i.kind === "firing" ? "firing" : `query error${i.error ? `: ${i.error}` : ""}`;
        svg.append(s("rect", { class: `bt-bar bt-bar-${i.kind} bt-${run.label}`, "data-run": run.label, "data-kind": i.kind,
          x: a.toFixed(1), y: top + 1, width: Math.max(2, b - a).toFixed(1), height: LANE - 2 },
        s("title", { text: `${run.label}: ${what}, ${fmtTime(i.started_at)} to ${i.ended_at ? fmtTime(i.ended_at) : "the end (ongoing)"} (${fmtDuration(i.duration_seconds)})${peak}` })));
      }
    });
    const axisY = H - 6;
    const marks = 4;
    for (let k = 0; k <= marks; k++) {
      const t = t0 + ((t1 - t0) * k) / marks;
      svg.append(s("text", { class: "bt-tick", x: x(t), y: axisY, "text-anchor": k === 0 ? "start" : k === marks ? "end" : "middle", text: fmtTime(new Date(t).toISOString()) }));
    }
    return svg;
  }

  function legend(result) {
    const item = (cls, text) => h("span", {}, h("i", { class: cls }), text);
    return h("div", { class: "bt-legend" },
      item("bt-key-value", "value"), item("bt-key-threshold", "threshold"),
      item("bt-key-shade", "current policy firing (shaded)"),
      ...result.runs.map((r) => item(`bt-key-bar bt-${r.label}`, `${r.label} policy's incidents`)),
      item("bt-key-bar bt-key-error", "query errors"));
  }

  const COUNT_ROWS = [
    ["incidents", (c) => c.incidents],
    ["time firing", (c) => c.firing_seconds, fmtDuration],
    ["flaps", (c) => c.flaps],
    ["error incidents", (c) => c.error_incidents],
    ["firing events", (c) => c.events.firing || 0],
    ["reminder events", (c) => c.events.reminder || 0],
    ["resolved events", (c) => c.events.resolved || 0],
    ["error events", (c) => c.events.error || 0],
    ["messages (all channels)", (c) => c.messages],
  ];
  const POLICY_ROWS = [
    ["fire_after", (p) => p.fire_after],
    ["resolve_after", (p) => p.resolve_after],
    ["renotify_after", (p) => (p.renotify_after_seconds === null ? "never" : fmtDuration(p.renotify_after_seconds))],
    ["notify_on_recovery", (p) => String(p.notify_on_recovery)],
    ["notify_on_error", (p) => (p.notify_on_error === null ? "never" : p.notify_on_error)],
  ];

  /** The policies and the counts, the runs side by side; a proposed value that differs is marked. */
  function countsTable(result) {
    const runs = result.runs;
    const row = (label, values, key) => {
      const differs = values.length > 1 && values.some((v) => String(v) !== String(values[0]));
      return h("tr", { "data-count": key || label, class: differs ? "bt-changed" : null },
        h("th", { scope: "row", text: label }), values.map((v, n) => h("td", { class: "num", "data-run": runs[n].label, text: String(v) })));
    };
    const flapWindow = fmtDuration(runs[0].counts.flap_window_seconds);
    return h("table", { class: "bt-counts rows" },
      h("thead", {}, h("tr", {}, h("th", { text: "" }), runs.map((r) => h("th", { class: "num", text: r.label })))),
      h("tbody", {},
        POLICY_ROWS.map(([label, get]) => row(label, runs.map((r) => get(r.policy)), label)),
        COUNT_ROWS.map(([label, get, fmt]) => row(label === "flaps" ? `flaps (within ${flapWindow})` : label,
          runs.map((r) => (fmt ? fmt(get(r.counts)) : fmtNumber(get(r.counts)))), label))));
  }

  /** Draw ``result`` into ``container``: a heading line, the legend, a chart per instance
      (at most ``options.maxInstances``), the counts; ``options.fmtTime`` formats an ISO time. */
  function render(container, result, options = {}) {
    const fmtTime = options.fmtTime || defaultTime;
    const width = options.width || container.clientWidth || 960;
    const max = options.maxInstances || MAX_INSTANCES;
    const shown = chosenSeries(result, max);
    const source = result.source === "replay" ? "replay of recorded evaluations" : "as-of queries";
    const parts = [
      h("div", { class: "bt-summary" }, `${result.alert_name}: ${source}, ${fmtTime(result.start)} to ${fmtTime(result.end)}, `,
        h("strong", { text: `${result.evaluations.toLocaleString("en-US")} evaluations` })),
      legend(result),
    ];
    if (!result.series.length) parts.push(h("div", { class: "bt-empty", text: "No value to draw: no evaluation in the range." }));
    for (const series of shown) {
      parts.push(h("figure", { class: "bt-figure" },
        result.series.length > 1 || series.instance_key ? h("figcaption", { text: instanceLabel(series) }) : null,
        chart(result, series, width, { fmtTime })));
    }
    if (result.series.length > shown.length) {
      parts.push(h("div", { class: "bt-note", text: `${result.series.length - shown.length} more instances not drawn (those without incidents); the counts cover every instance.` }));
    }
    parts.push(countsTable(result));
    for (const note of result.notes || []) parts.push(h("div", { class: "bt-note", text: `note: ${note}` }));
    container.replaceChildren(...parts);
    container.dataset.drawn = "true";
  }

  return { chart, countsTable, render, fmtDuration };
})();
