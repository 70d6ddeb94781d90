/* The "SQL Sentinel" page: every alert the user may read, its state, a sparkline, filters,
   and silence / unsilence. Filters live in the page's query string, so a reload keeps them. */
"use strict";

(() => {
  const { api, badge, dagLink, errorView, fmtValue, h, s, timeEl, toast } = Sentinel;
  const REFRESH_MS = 30000;
  const STATUS_LABELS = {
    firing: "Firing", flapping: "Flapping", error: "Error", pending: "Pending", silenced: "Silenced", ok: "OK", unknown: "Not run yet",
  };
  const $ = (id) => document.getElementById(id);
  let data = null;
  let timer = null;

  // --- filters <-> query string
  const FILTERS = { q: "f-search", status: "f-status", severity: "f-severity", tag: "f-tag" };
  function readFilters() {
    const params = new URLSearchParams(window.location.search);
    for (const [key, id] of Object.entries(FILTERS)) $(id).value = params.get(key) || "";
  }
  function writeFilters() {
    const params = new URLSearchParams();
    for (const [key, id] of Object.entries(FILTERS)) if ($(id).value) params.set(key, $(id).value);
    const query = params.toString();
    window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
  }
  function matches(alert) {
    const q = $("f-search").value.trim().toLowerCase();
    const status = $("f-status").value;
    const severity = $("f-severity").value;
    const tag = $("f-tag").value;
    if (status && alert.status !== status) return false;
    if (severity && alert.severity !== severity) return false;
    if (tag && !alert.tags.includes(tag)) return false;
    if (q && ![alert.name, alert.dag_id, alert.description, alert.owner].join(" ").toLowerCase().includes(q)) return false;
    return true;
  }

  // --- pieces
  // spark: parallel lists, oldest first ({at: [...], value: [...], threshold: [...], outcome: [...]});
  // at: seconds since the epoch (docs/reference/read-model.md, SparkSeries)
  function sparkline(spark) {
    const points = (spark ? spark.at : []).map((at, i) => ({ at: new Date(at * 1000), value: spark.value[i], threshold: spark.threshold[i], outcome: spark.outcome[i] }));
    const values = points.map((p) => p.value).filter((v) => v !== null);
    if (values.length < 2) return h("span", { class: "muted small", text: values.length ? "1 run" : "no data" });
    const W = 112, H = 30, P = 3;
    const limits = points.map((p) => p.threshold).filter((v) => v !== null);
    const lo = Math.min(...values, ...limits), hi = Math.max(...values, ...limits);
    const span = hi - lo || 1;
    const x = (i) => P + (i * (W - 2 * P)) / (points.length - 1);
    const y = (v) => H - P - ((v - lo) * (H - 2 * P)) / span;
    const path = points.map((p, i) => (p.value === null ? null : `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`)).filter(Boolean);
    const last = points.length - 1;
    const svg = s("svg", { class: "spark", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Last ${points.length} values` });
    const limit = limits.length ? limits[limits.length - 1] : null;
    if (limit !== null) svg.append(s("line", { class: "limit", x1: P, x2: W - P, y1: y(limit), y2: y(limit) }));
    svg.append(s("polyline", { class: "line", points: path.join(" ") }));
    points.forEach((p, i) => {
      if (p.value !== null && (p.outcome !== "ok" || i === last)) {
        svg.append(s("circle", { class: `pt-${p.outcome}`, cx: x(i), cy: y(p.value), r: i === last ? 2.6 : 1.8 },
          s("title", { text: `${fmtValue(p.value)} (${p.outcome.toUpperCase()}) ${Sentinel.fmtTime(p.at)}` })));
      }
    });
    return svg;
  }

  function valueCell(alert) {
    if (alert.status === "unknown") return h("span", { class: "muted", text: "–" });
    if (alert.state === "error" && alert.last_error) {
      return h("span", { class: "outcome-error small", title: alert.last_error, text: "query failed" });
    }
    const value = h("span", { class: "value", text: fmtValue(alert.last_value) });
    if (alert.threshold === null || alert.threshold === undefined) return value;
    return h("span", {}, value, h("span", { class: "vs", text: ` / ${fmtValue(alert.threshold)}` }));
  }

  function deliveriesCell(alert) {
    const parts = [];
    if (alert.dead_deliveries) parts.push(h("span", { class: "bad", title: "gave up after every attempt", text: `${alert.dead_deliveries} dead` }));
    if (alert.pending_deliveries) parts.push(h("span", { class: "wait", title: "waiting for a retry", text: `${alert.pending_deliveries} pending` }));
    if (!parts.length && !alert.has_delivered) return h("span", { class: "muted deliv", title: "no notification was sent yet", text: "none yet" });
    if (!parts.length) return h("span", { class: "muted deliv", title: alert.delivered_deliveries === null ? "every notification was delivered" : `${alert.delivered_deliveries} delivered`, text: "all sent" });
    return h("span", { class: "deliv" }, parts.flatMap((p, i) => (i ? [" · ", p] : [p])));
  }

  function actionsCell(alert) {
    if (!alert.can_edit) return h("span", { class: "muted small", text: "read only" });
    return h("span", { class: "row-actions" }, ackButton(alert), silenceButton(alert));
  }

  /** Acknowledge the firing instances nobody acknowledged yet, else Unacknowledge them;
      nothing for an alert that does not fire. */
  function ackButton(alert) {
    const firing = alert.firing_instances || 0;
    if (!firing) return null;
    const acked = alert.acknowledged_instances || 0;
    if (acked < firing) {
      return h("button", { type: "button", class: "small", "data-action": "ack", title: "Acknowledge its firing instances: you are on it", onclick: () => acknowledge(alert) }, "Ack…");
    }
    return h("button", { type: "button", class: "small", "data-action": "unack", title: "Take back the acknowledgements: reminders and escalation are due again", onclick: () => unacknowledge(alert) }, "Unack");
  }

  /** "Acknowledged by X" (or "2 of 3 acknowledged: X, Y") under the name of a firing alert. */
  function ackNote(alert) {
    const acked = alert.acknowledged_instances || 0;
    if (!acked || !alert.firing_instances) return null;
    const acks = Sentinel.firingInstances(alert).filter((i) => i.ack).map((i) => i.ack);
    const who = [...new Set(acks.map((a) => a.by))];
    const text = acked >= alert.firing_instances && who.length === 1
      ? `Acknowledged by ${who[0]}`
      : `${acked} of ${alert.firing_instances} acknowledged${who.length ? `: ${who.join(", ")}` : ""}`;
    const title = acks.map((a) => `${a.by} at ${Sentinel.fmtTime(a.at)}${a.comment ? `: ${a.comment}` : ""}`).join("\n");
    return h("div", { class: "ack-note" }, h("span", { class: "ack-badge", "data-role": "ack", title, text }));
  }

  function silenceButton(alert) {
    const active = alert.silences.filter((x) => x.status === "active" && x.instance_key == null);
    if (active.length && active.some((x) => x.can_end)) {
      return h("button", { type: "button", class: "small", "data-action": "unsilence", onclick: () => unsilence(alert) }, "Unsilence");
    }
    if (active.length) return h("span", { class: "muted small", title: active[0].reason, text: "silenced in alerts.yaml" });
    return h("button", { type: "button", class: "small", "data-action": "silence", onclick: () => silence(alert) }, "Silence");
  }

  /** The alert's runbook (alerts.yaml `runbook_url`), as an icon opening a new tab. */
  function runbookIcon(alert) {
    return Sentinel.externalLink(alert.runbook_url, { class: "runbook-icon", "data-link": "runbook", title: `Runbook: ${alert.runbook_url}`, "aria-label": `Runbook of ${alert.name}` },
      s("svg", { viewBox: "0 0 24 24", width: 15, height: 15, "aria-hidden": "true" },
        s("path", { d: "M2 4h6a4 4 0 0 1 4 4v13a3 3 0 0 0-3-3H2z" }), s("path", { d: "M22 4h-6a4 4 0 0 0-4 4v13a3 3 0 0 1 3-3h7z" })));
  }

  /** "2 of 3 firing: table_name=customers, table_name=orders" (the firing instances named). */
  function instancesLine(alert) {
    const names = alert.firing_instance_labels;
    const more = alert.firing_instances - names.length;
    const text = names.length
      ? `${alert.firing_instances} of ${alert.instance_count} firing: ${names.join(", ")}${more > 0 ? ` and ${more} more` : ""}`
      : `${alert.firing_instances} of ${alert.instance_count} instances firing`;
    return h("div", { class: "muted small firing-names", "data-role": "firing-instances", title: text, text });
  }

  function row(alert) {
    const silence = alert.silences.find((x) => x.status === "active" && x.instance_key == null);
    const instanceSilences = alert.silences.filter((x) => x.status === "active" && x.instance_key != null);
    const muting = (alert.mute_windows || []).filter((w) => w.active);
    const flags = [
      alert.paused ? h("span", { class: "flag", title: "The DAG is paused: it does not run on its schedule", text: "paused" }) : null,
      alert.stale ? h("span", { class: "flag", title: "The alert is invalid in its file: this DAG runs its last valid version", text: "config error" }) : null,
      alert.enabled === false && alert.status !== "unknown" ? h("span", { class: "flag", title: "enabled: false in alerts.yaml: it runs only when triggered by hand", text: "disabled" }) : null,
    ];
    const instances = alert.instance_count > 1 || alert.firing_instance_labels.length ? instancesLine(alert) : null;
    return h("tr", { "data-dag-id": alert.dag_id, "data-status": alert.status },
      h("td", { "data-label": "State" }, Sentinel.alertBadge(alert)),
      h("td", { class: "c-name" },
        h("div", { class: "alert-name" }, Sentinel.alertTabLink(alert.dag_id, alert.name), flags,
          h("span", { class: "dag-link small" }, dagLink(alert.dag_id, "DAG"))), runbookIcon(alert),
        alert.description ? h("div", { class: "alert-desc", text: alert.description }) : null,
        instances,
        ackNote(alert),
        Sentinel.inhibitedNote(alert.inhibited_by),
        alert.config_errors && alert.config_errors.length ? h("div", { class: "stale-note" }, h("strong", { text: "Runs its last valid version; the file now says:" }), configErrorList(alert.config_errors)) : null,
        instanceSilences.length ? h("div", { class: "silence-note", "data-role": "instance-silences", title: instanceSilences.map((x) => `${x.instance_label}: ${x.reason}`).join("\n"), text: `Silenced: ${instanceSilences.map((x) => x.instance_label).join(", ")}` }) : null,
        silence ? h("div", { class: "silence-note", title: silence.reason, text: `Silenced by ${silence.source === "config" ? "alerts.yaml" : silence.author} until ${Sentinel.fmtShortTime(silence.ends_at)}: ${silence.reason}` }) : null,
        muting.length ? h("div", { class: "silence-note", "data-role": "mute-windows", title: muting.map((w) => `${w.name}: ${w.when}`).join("\n"), text: `Muted by ${muting.map((w) => (w.ends_at ? `${w.name} until ${Sentinel.fmtShortTime(w.ends_at)}` : w.name)).join(", ")}` }) : null,
        alert.tags.length ? h("div", {}, alert.tags.map((t) => h("span", { class: "tag", text: t }))) : null),
      h("td", { "data-label": "Severity" }, h("span", { class: `sev ${alert.severity}`, text: alert.severity })),
      h("td", { "data-label": "Owner", class: "c-owner", text: alert.owner || "–" }),
      h("td", { "data-label": "Value / threshold", class: "num c-value" }, valueCell(alert)),
      h("td", { "data-label": "Recent values" }, sparkline(alert.spark)),
      h("td", { "data-label": "Since" }, timeEl(alert.since)),
      h("td", { "data-label": "Last run" }, timeEl(alert.last_evaluated_at)),
      h("td", { "data-label": "Notifications" }, deliveriesCell(alert)),
      h("td", { class: "c-actions" }, actionsCell(alert)));
  }

  // --- invalid alerts: defined in the file but not running; their errors, readable in full
  function invalidMatches(item) {
    const q = $("f-search").value.trim().toLowerCase();
    const status = $("f-status").value;
    if (status && status !== "invalid") return false;
    if ($("f-severity").value || $("f-tag").value) return false;  // an invalid alert has neither
    return !q || [item.name, item.dag_id, ...item.errors.map((e) => e.text)].join(" ").toLowerCase().includes(q);
  }

  const configErrorList = (errors) => Sentinel.configErrorList(errors);

  function invalidRow(item) {
    return h("tr", { class: "invalid-row", "data-dag-id": item.dag_id, "data-status": "invalid" },
      h("td", { "data-label": "State" }, h("span", { class: "badge invalid", "data-status": "invalid", text: "invalid" })),
      h("td", { class: "c-name" },
        h("div", { class: "alert-name" }, dagLink(item.dag_id, item.name)),
        h("div", { class: "alert-desc", text: `Not running: fix ${item.source_file || "the alerts file"}` })),
      h("td", { colspan: 8, class: "c-errors" }, configErrorList(item.errors)));
  }

  // --- render
  function renderChips() {
    const chips = $("chips");
    chips.replaceChildren();
    for (const status of ["firing", "flapping", "error", "pending", "silenced", "ok", "unknown"]) {
      const count = data.counts[status] || 0;
      if (!count && (status === "unknown" || status === "flapping")) continue;
      const pressed = $("f-status").value === status;
      chips.append(h("button", {
        type: "button", class: "chip", "aria-pressed": String(pressed), "data-chip": status,
        onclick: () => { $("f-status").value = pressed ? "" : status; writeFilters(); render(); },
      }, h("span", { class: `badge ${status}`, text: STATUS_LABELS[status] }), h("span", { class: "count", text: count })));
    }
    const invalid = (data.invalid || []).length;
    if (invalid) {
      const pressed = $("f-status").value === "invalid";
      chips.prepend(h("button", {
        type: "button", class: "chip", "aria-pressed": String(pressed), "data-chip": "invalid",
        onclick: () => { $("f-status").value = pressed ? "" : "invalid"; writeFilters(); render(); },
      }, h("span", { class: "badge invalid", text: "Invalid" }), h("span", { class: "count", text: invalid })));
    }
  }

  function renderTags() {
    const select = $("f-tag");
    const current = select.value;
    const tags = [...new Set(data.alerts.flatMap((a) => a.tags))].sort();
    select.replaceChildren(h("option", { value: "", text: "All tags" }), ...tags.map((t) => h("option", { value: t, text: t })));
    select.value = tags.includes(current) ? current : "";
  }

  function render() {
    if (!data) return;
    renderChips();
    const shown = data.alerts.filter(matches);
    const invalid = data.invalid || [];
    const shownInvalid = invalid.filter(invalidMatches);
    const main = $("main");
    if (!data.alerts.length && !invalid.length) {
      main.replaceChildren(h("div", { class: "state-msg" }, h("strong", { text: "No alerts yet." }),
        "Alerts appear here once Airflow has parsed the DAG file that calls load_alert_dags()."));
      return;
    }
    const head = h("thead", {}, h("tr", {}, ["State", "Alert", "Severity", "Owner", "Value / threshold", "Recent values", "Since", "Last run", "Notifications", ""].map((t) => h("th", { text: t }))));
    // The first screenful now, the rest after it is painted: laying out 1,000 rows with their
    // sparklines took the browser over a second before anything showed.
    const generation = ++drawing;
    const body = h("tbody", {}, shownInvalid.map(invalidRow), shown.slice(0, FIRST_ROWS).map(row));
    if (!shown.length && !shownInvalid.length) body.append(h("tr", {}, h("td", { colspan: 10, class: "empty", text: "No alert matches these filters." })));
    main.replaceChildren(h("table", { class: "alerts" }, head, body));
    const total = data.alerts.length;
    const broken = invalid.length ? ` · ${shownInvalid.length === invalid.length ? "" : `${shownInvalid.length} of `}${invalid.length} invalid` : "";
    $("subtitle").textContent = `${shown.length === total ? total : `${shown.length} of ${total}`} alert${total === 1 ? "" : "s"}${broken} · updated ${Sentinel.fmtShortTime(data.generated_at)}`;
    afterPaint(() => {
      markDrawn("rendered");  // the first screenful is on screen
      appendRows(generation, body, shown, FIRST_ROWS);
    });
  }

  // --- drawing in steps (bench/ui_speed.py reads the two marks)
  const FIRST_ROWS = 60;
  const MORE_ROWS = 250;
  let drawing = 0;  // a newer render() stops an older one's appending

  /** ``then`` once the browser has painted what is in the page now. */
  function afterPaint(then) {
    requestAnimationFrame(() => setTimeout(then, 0));
  }

  function markDrawn(mark) {
    document.body.dataset[mark] = String(performance.timeOrigin + performance.now());
  }

  function appendRows(generation, body, shown, from) {
    if (generation !== drawing) return;
    if (from >= shown.length) {
      markDrawn("renderedAll");  // every row is in the table and painted
      return;
    }
    body.append(...shown.slice(from, from + MORE_ROWS).map(row));
    afterPaint(() => appendRows(generation, body, shown, from + MORE_ROWS));
  }

  async function load() {
    try {
      data = await api("alerts");
      renderTags();
      render();
    } catch (err) {
      data = null;
      $("chips").replaceChildren();
      $("main").replaceChildren(errorView(err));
      $("subtitle").textContent = "";
    }
  }

  async function silence(alert) {
    const created = await Sentinel.silenceDialog(alert);
    if (created) { toast(`${alert.name} silenced until ${Sentinel.fmtTime(created.ends_at)}`); await load(); }
  }

  async function acknowledge(alert) {
    const done = await Sentinel.ackDialog(alert);
    if (done) { toast(`${alert.name} acknowledged`); await load(); }
  }

  async function unacknowledge(alert) {
    try {
      await Sentinel.unacknowledge(alert);
      toast(`${alert.name}: acknowledgement taken back`);
    } catch (err) {
      toast(err.message);
    }
    await load();
  }

  async function unsilence(alert) {
    try {
      const ended = await Sentinel.unsilence(alert);
      toast(ended ? `${alert.name} unsilenced` : "nothing to end");
    } catch (err) {
      toast(err.message);
    }
    await load();
  }

  function schedule() {
    clearInterval(timer);
    if ($("auto-refresh").checked) timer = setInterval(() => { if (!document.querySelector("dialog[open]")) load(); }, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    Sentinel.followTheme();
    readFilters();
    for (const id of Object.values(FILTERS)) {
      $(id).addEventListener(id === "f-search" ? "input" : "change", () => { writeFilters(); render(); });
    }
    $("refresh").addEventListener("click", load);
    $("auto-refresh").addEventListener("change", schedule);
    Sentinel.onTimeZoneChange(render);
    load();
    schedule();
  });
})();
