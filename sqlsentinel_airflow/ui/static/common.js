/* SQL Sentinel UI, shared by both pages: theme, API calls, formatting, the silence dialog.
   Plain JavaScript, no build step, nothing fetched from elsewhere. Every value from the API is
   put into the page as text (never as HTML): alert names, SQL and errors are data. */
"use strict";

const Sentinel = (() => {
  const API = new URL("../api/", document.baseURI);
  const AIRFLOW = new URL("../../", document.baseURI);

  // --- theme: Airflow's own (its <html class="dark">), else its stored choice, else the OS
  function airflowTheme() {
    try {
      const root = window.parent !== window ? window.parent.document.documentElement : null;
      if (root && root.classList.contains("dark")) return "dark";
      if (root && root.classList.contains("light")) return "light";
    } catch (_) { /* not same-origin: fall through */ }
    try {
      const stored = window.localStorage.getItem("theme");
      if (stored === "dark" || stored === "light") return stored;
    } catch (_) { /* storage blocked */ }
    return null;
  }

  function applyTheme() {
    const theme = airflowTheme();
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
  }

  function followTheme() {
    if (window.parent !== window) document.documentElement.classList.add("embedded");
    applyTheme();
    try {
      if (window.parent !== window) {
        new MutationObserver(applyTheme).observe(window.parent.document.documentElement, {
          attributes: true, attributeFilter: ["class", "style"],
        });
      }
    } catch (_) { /* not same-origin */ }
    window.addEventListener("storage", applyTheme);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", applyTheme);
  }

  // --- DOM
  function h(tag, attrs, ...children) {
    const el = document.createElementNS(
      tag === "svg" || (attrs && attrs.svg) ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
      tag,
    );
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "svg" || value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "text") el.textContent = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const s = (tag, attrs, ...children) => h(tag, { ...(attrs || {}), svg: true }, ...children);

  /** Text with `code` spans (as the DAG docs write connection names) shown as <code>. */
  function codeText(text) {
    const parts = String(text || "").split("`");
    return parts.map((part, i) => (i % 2 ? h("code", { text: part }) : part));
  }

  // --- API
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  function detailText(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => {
        const path = (d.loc || []).filter((p) => p !== "body" && p !== "query");
        const where = path.join(".");
        const msg = String(d.msg || "").replace(/^Value error, /, "");
        // "reason must not be empty…" names its field already: no "reason: " in front
        const named = path.length && msg.toLowerCase().startsWith(String(path[path.length - 1]).toLowerCase());
        return where && !named ? `${where}: ${msg}` : msg;
      }).join("; ");
    }
    return "unexpected answer";
  }

  async function api(path, options = {}) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
    if (options.json !== undefined) {
      init.method = init.method || "POST";
      init.headers = { ...init.headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(options.json);
    }
    let response;
    try {
      response = await fetch(new URL(path, API), init);
    } catch (err) {
      throw new ApiError(0, "the Airflow API server cannot be reached");
    }
    let body = null;
    try { body = await response.json(); } catch (_) { /* empty or not JSON */ }
    if (!response.ok) {
      throw new ApiError(response.status, detailText(body && body.detail) || response.statusText);
    }
    return body;
  }

  /** A full-page message for an error: log in again, not allowed, not found, or broken. */
  function errorView(err, notFoundText) {
    const login = h("a", { href: AIRFLOW.href, target: "_top", text: "Log in to Airflow" });
    if (err.status === 401 || err.status === 403 && /token/i.test(err.message)) {
      return h("div", { class: "state-msg" }, h("strong", { text: "Your Airflow session has ended." }), login);
    }
    if (err.status === 403) {
      return h("div", { class: "state-msg" }, h("strong", { text: "You may not see this." }),
        "Reading an alert needs read access to its DAG.");
    }
    if (err.status === 404) {
      return h("div", { class: "state-msg" }, h("strong", { text: notFoundText || "Not found." }), err.message);
    }
    return h("div", { class: "state-msg" }, h("strong", { text: "The alerts could not be loaded." }), err.message);
  }

  // --- formatting
  const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  function fmtValue(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return numberFormat.format(value);
    if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) {
      return numberFormat.format(Number(value));
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function fmtAgo(iso, now = Date.now()) {
    if (!iso) return "–";
    const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
    const future = seconds < 0;
    const abs = Math.abs(seconds);
    const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
    let text = "just now";
    for (const [unit, size] of units) {
      if (abs >= size) { text = `${Math.floor(abs / size)}${unit}`; break; }
    }
    if (text === "just now") return text;
    return future ? `in ${text}` : `${text} ago`;
  }
  // --- times: in the timezone chosen in Airflow's UI (its timezone button in the nav stores it
  // in localStorage "timezone" as JSON; the browser's zone until one is chosen), 24-hour, the
  // zone always said
  const TZ_KEY = "timezone";
  let ownZone = null;  // the browser's zone, asked once: building a DateTimeFormat is slow
  const browserZone = () => {
    if (ownZone === null) {
      try { ownZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (_) { ownZone = "UTC"; }
    }
    return ownZone;
  };
  const formatters = new Map();
  function formatter(zone) {
    if (!formatters.has(zone)) {
      formatters.set(zone, new Intl.DateTimeFormat("en-GB", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        second: "2-digit", hourCycle: "h23", timeZoneName: "short",
      }));
    }
    return formatters.get(zone);
  }
  /** The IANA zone Airflow's UI shows times in. */
  function timeZone() {
    try {
      const stored = JSON.parse(window.localStorage.getItem(TZ_KEY) || "null");
      if (typeof stored === "string" && stored) { formatter(stored); return stored; }
    } catch (_) { /* unset, not JSON, an unknown zone, or storage blocked */ }
    return browserZone();
  }
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  /** ``{ date: "2026-12-05", month, day, hm: "16:06", hms: "16:06:23", zone: "CET" }`` in the zone. */
  function timeParts(iso, zone = timeZone()) {
    const p = {};
    for (const part of formatter(zone).formatToParts(new Date(iso))) p[part.type] = part.value;
    const hour = p.hour === "24" ? "00" : p.hour;
    return {
      date: `${p.year}-${p.month}-${p.day}`, month: MONTHS[Number(p.month) - 1], day: Number(p.day),
      hm: `${hour}:${p.minute}`, hms: `${hour}:${p.minute}:${p.second}`, zone: p.timeZoneName === "GMT" && zone === "UTC" ? "UTC" : p.timeZoneName,
    };
  }
  /** ``2026-12-05 16:06:23 CET``: date, 24-hour time and zone. */
  function fmtTime(iso) {
    if (!iso) return "";
    const t = timeParts(iso);
    return `${t.date} ${t.hms} ${t.zone}`;
  }
  /** A time as short as it can be, with its zone: ``16:06 CET`` today, else ``5 Dec 16:06 CET``. */
  function fmtShortTime(iso) {
    if (!iso) return "";
    const zone = timeZone();
    const t = timeParts(iso, zone);
    if (t.date === timeParts(new Date().toISOString(), zone).date) return `${t.hm} ${t.zone}`;
    return `${t.day} ${t.month} ${t.hm} ${t.zone}`;
  }
  /** A wall time typed in a ``datetime-local`` field (``2026-12-05T16:30``), read in Airflow's
      zone, as an RFC 3339 instant. */
  function wallTimeToIso(value, zone = timeZone()) {
    const [date, time] = value.split("T");
    const [y, mo, d] = date.split("-").map(Number);
    const [hh, mm] = (time || "00:00").split(":").map(Number);
    const wanted = Date.UTC(y, mo - 1, d, hh, mm);
    let guess = wanted;
    for (let i = 0; i < 2; i += 1) {  // twice: the offset may differ on either side of a DST change
      const t = timeParts(new Date(guess).toISOString(), zone);
      const [gh, gm] = t.hm.split(":").map(Number);
      const [gy, gmo, gd] = t.date.split("-").map(Number);
      guess += wanted - Date.UTC(gy, gmo - 1, gd, gh, gm);
    }
    return new Date(guess).toISOString();
  }
  /** A relative time ("5m ago") with the absolute one on hover. */
  const timeEl = (iso) => h("time", { class: "nowrap", datetime: iso || undefined, title: fmtTime(iso) || undefined, text: fmtAgo(iso) });
  /** Call ``callback`` when the timezone is changed in Airflow's UI (this frame's parent or another tab). */
  function onTimeZoneChange(callback) {
    let last = timeZone();
    const check = () => { const now = timeZone(); if (now !== last) { last = now; callback(now); } };
    window.addEventListener("storage", (e) => { if (!e.key || e.key === TZ_KEY) check(); });
    try { if (window.parent !== window) window.parent.addEventListener("local-storage", check); } catch (_) { /* not same-origin */ }
  }

  const BADGE_TEXT = { unknown: "not run" };
  /** The badge, or DISABLED for an alert with ``enabled: false`` that has not run. */
  function alertBadge(alert) {
    if (alert.enabled === false && alert.status === "unknown") {
      return h("span", { class: "badge disabled", "data-status": "disabled", title: "enabled: false in alerts.yaml: it runs only when triggered by hand", text: "disabled" });
    }
    return badge(alert.status, alert.state);
  }
  function badge(status, state) {
    const el = h("span", { class: `badge ${status}`, "data-status": status, text: BADGE_TEXT[status] || status });
    if (status === "silenced" && state && state !== "unknown") {
      return h("span", {}, el, h("span", { class: "underneath muted", text: `underneath: ${state}` }));
    }
    return el;
  }

  // --- navigation: the pages live in an iframe; links to Airflow pages move the parent page
  function airflowUrl(path) { return new URL(path, AIRFLOW).href; }
  function dagLink(dagId, label, extra = "") {
    const url = airflowUrl(`dags/${encodeURIComponent(dagId)}${extra}`);
    return h("a", { href: url, target: "_top", onclick: (event) => navigateTop(event, url) }, label);
  }
  /** Links to the Airflow run that made an evaluation and to its task's log; a CLI run
      (``sqlsentinel run``) has none, and says so. */
  const EVALUATE_TASK_ID = "evaluate";  // airflow_contract.EVALUATE_TASK_ID
  function runLinks(dagId, runType, runId) {
    if (runType === "cli" || !runId || !dagId) {
      return h("span", { class: "muted small", title: runId || "", text: runType === "cli" ? "CLI run, not in Airflow" : "no Airflow run" });
    }
    const run = `dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}`;
    const link = (path, label, title) => {
      const url = airflowUrl(path);
      return h("a", { href: url, target: "_top", title, onclick: (event) => navigateTop(event, url) }, label);
    };
    return h("span", { class: "run-links nowrap" },
      link(run, runType, `Airflow run ${runId}`), " · ",
      link(`${run}/tasks/${EVALUATE_TASK_ID}`, "log", `the log of task ${EVALUATE_TASK_ID} in run ${runId}`));
  }
  /** A link to the alert's SQL Sentinel tab on its DAG page (plugin.py's url_route). */
  function alertTabLink(dagId, label) {
    const url = airflowUrl(`dags/${encodeURIComponent(dagId)}/plugin/sqlsentinel-alert`);
    return h("a", { href: url, target: "_top", "data-link": "alert-tab", onclick: (event) => navigateTop(event, url) }, label);
  }
  function navigateTop(event, url) {
    if (window.parent === window || event.ctrlKey || event.metaKey || event.shiftKey) return;
    try {  // Airflow's UI is a single-page app: a history entry + popstate moves it in place
      const target = new URL(url);
      window.parent.history.pushState({}, "", target.pathname + target.search + target.hash);
      window.parent.dispatchEvent(new PopStateEvent("popstate", { state: {} }));
      event.preventDefault();
    } catch (_) { /* let the link work as a plain link */ }
  }

  // --- links people wrote (runbook_url, links): http(s) only, opened in a new tab
  /** The URL if it is http(s), else null: never a javascript: or data: link, whatever the API sends. */
  function safeUrl(url) {
    try {
      const parsed = new URL(String(url || ""));
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (_) { return null; }
  }
  /** A link to a page outside Airflow, in a new tab; null when the URL is not http(s). */
  function externalLink(url, attrs, ...children) {
    const href = safeUrl(url);
    if (!href) return null;
    return h("a", { ...(attrs || {}), href, target: "_blank", rel: "noopener noreferrer", onclick: (event) => openOutside(event, href) }, ...children);
  }
  // Airflow's iframe is sandboxed without allow-popups, so a target=_blank link in it opens
  // nothing: the same link is followed from Airflow's page (same origin), which may open tabs.
  function openOutside(event, href) {
    if (window.parent === window || event.button !== 0) return;
    try {
      const doc = window.parent.document;
      const link = doc.createElement("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      doc.body.append(link);
      link.click();
      link.remove();
      event.preventDefault();
    } catch (_) { /* not same-origin: the plain link is all there is */ }
  }

  // --- toast
  let toastTimer = null;
  function toast(message) {
    let el = document.querySelector(".toast");
    if (!el) { el = h("div", { class: "toast", role: "status" }); document.body.append(el); }
    el.textContent = message;
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("show"), 2600);
  }

  /** An instance as people read it: the API's label (`table_name=customers`) of the alert's
      instance with that key, else the key's JSON read the same way. */
  function instanceLabel(alert, instanceKey) {
    const known = ((alert && alert.instances) || []).find((i) => i.instance_key === instanceKey);
    if (known && known.label) return known.label;
    try {
      const values = JSON.parse(instanceKey);
      if (values && typeof values === "object" && !Array.isArray(values)) {
        return Object.entries(values).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
      }
    } catch (_) { /* not JSON: shown as given */ }
    return String(instanceKey);
  }

  // --- the silence dialog (one per page), resolves to the created silence or null.
  // options.instanceKey: silence only that instance of a keyed alert (its instance_key).
  const PRESETS = ["30m", "1h", "2h", "4h", "1d", "1w"];
  function silenceDialog(alert, options = {}) {
    const instanceKey = options.instanceKey === undefined || options.instanceKey === "" ? null : options.instanceKey;
    const instance = instanceKey === null ? null : instanceLabel(alert, instanceKey);
    return new Promise((resolve) => {
      let duration = "2h";
      const error = h("div", { class: "form-error", role: "alert" });
      const until = h("input", { type: "datetime-local", id: "silence-until", "aria-label": "Silence until" });
      const custom = h("input", { type: "text", id: "silence-duration", placeholder: "e.g. 90m, 3h, 2d", size: 12, "aria-label": "Duration" });
      const reason = h("textarea", { id: "silence-reason", name: "reason", required: true, maxlength: 2000, placeholder: "Why? e.g. warehouse maintenance until the load finishes" });
      const presetButtons = PRESETS.map((p) => h("button", {
        type: "button", "aria-pressed": String(p === duration), text: p,
        onclick: () => { duration = p; custom.value = ""; until.value = ""; syncPresets(); },
      }));
      function syncPresets() { presetButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.textContent === duration && !custom.value && !until.value))); }
      custom.addEventListener("input", () => { until.value = ""; syncPresets(); });
      until.addEventListener("input", () => { custom.value = ""; syncPresets(); });
      const submit = h("button", { type: "submit", class: "primary", text: "Silence" });
      const title = instance === null ? `Silence ${alert.name}` : `Silence ${instance} of ${alert.name}`;
      const dialog = h("dialog", { "aria-label": title, "data-instance-key": instanceKey },
        h("form", { novalidate: true },
          h("h2", { text: title }),
          instance === null ? null : h("div", { class: "field" }, h("label", { text: "Instance" }),
            h("span", { class: "kv", "data-role": "silence-instance", title: instance, text: instance })),
          h("div", { class: "muted small", text: instance === null
            ? "Notifications are held back while the silence lasts; the alert keeps being evaluated. If it is still firing when the silence ends, one notification goes out."
            : "Only this instance's notifications are held back while the silence lasts; the alert's other instances still notify, and all are evaluated. If it is still firing when the silence ends, one notification goes out for it." }),
          h("div", { class: "field" }, h("label", { text: "For" }), h("div", { class: "segmented" }, presetButtons, custom)),
          h("div", { class: "field" }, h("label", { for: "silence-until", text: `or until (${timeZone()})` }), until),
          h("div", { class: "field" }, h("label", { for: "silence-reason", text: "Reason" }), reason),
          error,
          h("div", { class: "dialog-actions" },
            h("button", { type: "button", text: "Cancel", onclick: () => dialog.close() }), submit)));
      dialog.querySelector("form").addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { reason: reason.value };
        if (instanceKey !== null) body.instance_key = instanceKey;
        if (until.value) body.until = wallTimeToIso(until.value);
        else body.duration = custom.value.trim() || duration;
        submit.disabled = true;
        error.textContent = "";
        try {
          const created = await api(`alerts/${encodeURIComponent(alert.dag_id)}/silences`, { json: body });
          dialog.close();
          resolve(created.silence);
        } catch (err) {
          error.textContent = err.message;
          submit.disabled = false;
        }
      });
      dialog.addEventListener("close", () => { dialog.remove(); resolve(null); });
      document.body.append(dialog);
      dialog.showModal();
      reason.focus();
    });
  }

  /** End every stored silence that is muting the whole alert now (not those of one instance);
      returns how many ended. */
  async function unsilence(alert) {
    const ids = (alert.silences || []).filter((x) => x.can_end && x.status === "active" && x.instance_key == null).map((x) => x.id);
    for (const id of ids) {
      await api(`alerts/${encodeURIComponent(alert.dag_id)}/silences/${id}/end`, { json: {} });
    }
    return ids.length;
  }

  // --- acknowledgements (docs/responding.md): "I'm on it", per firing incident of an instance.
  // Instance views carry ``ack: {by, at, comment, source}`` (null when not acknowledged).
  const ACK_SOURCES = { ui: "in the UI", cli: "from the CLI", slack: "in Slack", email: "from an email link" };
  /** "acknowledged by X", with when, where and the comment on hover; null without an ack. */
  function ackBadge(ack) {
    if (!ack) return null;
    const title = [`acknowledged by ${ack.by} ${ACK_SOURCES[ack.source] || ""} at ${fmtTime(ack.at)}`.replace("  ", " "), ack.comment || ""].filter(Boolean).join("\n");
    return h("span", { class: "ack-badge", "data-role": "ack", "data-acked-by": ack.by, title, text: `acknowledged by ${ack.by}` });
  }
  // --- inhibition (docs/assets.md, "Dependencies between alerts"): views carry
  // ``inhibited_by``, the parent alerts (depends_on) firing or failing at the last evaluation.
  /** "inhibited by orders_loaded": its notifications are held; null when nobody inhibits. */
  function inhibitedNote(parents) {
    if (!parents || !parents.length) return null;
    const title = `A parent alert (depends_on) is firing or failing: this alert's new notifications are held until ${parents.length > 1 ? "they recover" : "it recovers"}; a resolved message still goes out.`;
    return h("div", { class: "inhibited-note", "data-role": "inhibited", "data-inhibited-by": parents.join(","), title, text: `inhibited by ${parents.join(", ")}` });
  }
  /** A history row's reason, with the parents that held it or were down. */
  function historyReason(e) {
    const parents = e.inhibited_by || [];
    if (e.reason_code === "inhibited") return `held, inhibited by ${parents.join(", ")}`;
    return parents.length ? `${e.reason || ""} (inhibited by ${parents.join(", ")})` : (e.reason || "");
  }
  /** The firing instances of ``alert`` (its instance views), acknowledged or not. */
  const firingInstances = (alert) => ((alert && alert.instances) || []).filter((i) => i.state === "firing");

  /** The Acknowledge dialog; resolves to the API's answer, or null when cancelled.
      options.instanceKey: one instance (``""`` for a single-row alert); omitted: every firing
      instance of the alert. */
  function ackDialog(alert, options = {}) {
    const one = options.instanceKey !== undefined && options.instanceKey !== null;
    const instance = one && options.instanceKey !== "" ? instanceLabel(alert, options.instanceKey) : null;
    const count = firingInstances(alert).filter((i) => !i.ack).length;
    return new Promise((resolve) => {
      const error = h("div", { class: "form-error", role: "alert" });
      const comment = h("textarea", { id: "ack-comment", name: "comment", maxlength: 2000, placeholder: "Optional: e.g. reloading the orders table, ETA 30 min" });
      const submit = h("button", { type: "submit", class: "primary", "data-action": "confirm-ack", text: "Acknowledge" });
      const title = instance !== null ? `Acknowledge ${instance} of ${alert.name}` : `Acknowledge ${alert.name}`;
      const dialog = h("dialog", { "aria-label": title, "data-dialog": "ack" },
        h("form", { novalidate: true },
          h("h2", { text: title }),
          !one && count > 1 ? h("div", { class: "small", text: `All ${count} firing instances that nobody acknowledged yet.` }) : null,
          h("div", { class: "muted small", text: "Says you are on it: reminders and escalation steps of this incident stop until it resolves (or, with ack_rearm_factor, until it gets that much worse). Evaluations and the resolved message go on." }),
          h("div", { class: "field" }, h("label", { for: "ack-comment", text: "Comment" }), comment),
          error,
          h("div", { class: "dialog-actions" },
            h("button", { type: "button", text: "Cancel", onclick: () => dialog.close() }), submit)));
      dialog.querySelector("form").addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = {};
        if (one) body.instance_key = options.instanceKey;
        if (comment.value.trim()) body.comment = comment.value.trim();
        submit.disabled = true;
        error.textContent = "";
        try {
          const done = await api(`alerts/${encodeURIComponent(alert.dag_id)}/ack`, { json: body });
          dialog.close();
          resolve(done);
        } catch (err) {
          error.textContent = err.message;
          submit.disabled = false;
        }
      });
      dialog.addEventListener("close", () => { dialog.remove(); resolve(null); });
      document.body.append(dialog);
      dialog.showModal();
      comment.focus();
    });
  }
  /** Take back the acknowledgement of one instance (``""``: a single-row alert), or of every
      firing instance when ``instanceKey`` is omitted. */
  async function unacknowledge(alert, instanceKey) {
    const body = instanceKey === undefined || instanceKey === null ? {} : { instance_key: instanceKey };
    return api(`alerts/${encodeURIComponent(alert.dag_id)}/unack`, { json: body });
  }

  return {
    ackBadge, ackDialog, firingInstances, historyReason, inhibitedNote, unacknowledge,
    ApiError, api, applyTheme, badge, codeText, dagLink, errorView, fmtAgo, fmtShortTime, fmtTime, fmtValue,
    followTheme, h, instanceLabel, s, silenceDialog, timeEl, toast, unsilence, airflowUrl,
    externalLink, safeUrl,
    alertBadge, alertTabLink, navigateTop, onTimeZoneChange, runLinks, timeParts, timeZone, wallTimeToIso,
  };
})();

/* Located configuration errors (of an invalid alert, or what makes a stale one stale): one
   list item each, `file:line:col` first, wrapped rather than cut off. */
Sentinel.configErrorList = (errors) => {
  const { h } = Sentinel;
  const where = (e) => [e.file || "alerts file", e.line, e.line !== null ? e.column : null]
    .filter((x) => x !== null && x !== undefined).join(":");
  return h("ul", { class: "config-errors" }, errors.map((e) => h("li", {},
    h("code", { class: "loc", text: where(e) }), " ",
    e.path ? h("span", { class: "muted", text: `${e.path}: ` }) : null,
    h("span", { class: "msg", text: e.message }),
    e.hint ? h("span", { class: "muted", text: ` (${e.hint})` }) : null)));
};
