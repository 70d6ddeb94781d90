/* The page an email's "Acknowledge" link opens (/sqlsentinel/ui/action#t=<token>).
   Opening it changes nothing (mail scanners open links): it shows what the link is for and
   acts only when Confirm is pressed. The token lives in the address's fragment, which the
   browser never sends; the page takes it out of the address bar at once, keeps it in this
   tab's sessionStorage across an Airflow login, and POSTs it as JSON (docs/responding.md). */
"use strict";

(() => {
  const { h, fmtTime } = Sentinel;
  const API = new URL("../api/", document.baseURI);
  const main = document.getElementById("main");
  const KEY = "sqlsentinel.action-token";

  function takeToken() {
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    let token = fragment.get("t");
    if (token) {
      try { window.sessionStorage.setItem(KEY, token); } catch (_) { /* storage blocked */ }
      history.replaceState(null, "", window.location.pathname);  // out of the address and history
    } else {
      try { token = window.sessionStorage.getItem(KEY); } catch (_) { token = null; }
    }
    return token;
  }
  function forget() { try { window.sessionStorage.removeItem(KEY); } catch (_) { /* blocked */ } }

  function show(...children) { main.replaceChildren(h("div", { class: "action-card" }, ...children)); }
  function message(title, text, extra) {
    show(h("h1", { text: title }), text ? h("p", { text }) : null, extra || null);
  }
  const alertLink = (about) => Sentinel.alertTabLink(about.dag_id, `Open ${about.alert} in SQL Sentinel`);
  function loginLink() {
    const next = new URL(window.location.pathname, window.location.origin).href;
    const login = Sentinel.airflowUrl(`api/v2/auth/login?next=${encodeURIComponent(next)}`);
    return h("a", { href: login, class: "button primary", "data-role": "login", text: "Log in to Airflow" });
  }
  function what(about) {
    return h("dl", { class: "action-facts" },
      h("dt", { text: "Alert" }), h("dd", { "data-role": "alert", text: about.alert }),
      about.instance_label ? [h("dt", { text: "Instance" }), h("dd", { "data-role": "instance", text: about.instance_label })] : null,
      h("dt", { text: "Firing since" }), h("dd", { text: fmtTime(about.firing_since) }),
      h("dt", { text: "Link valid until" }), h("dd", { text: fmtTime(about.expires_at) }));
  }
  function refused(err) {
    const reason = err.reason || "";
    if (reason === "expired") return message("This link has expired.", err.message);
    if (reason === "used") return message("This link was used already.", "A link works once.");
    if (reason === "over") return message("This incident is over.", err.message);
    if (reason === "login") return message("Log in to acknowledge.", "Acknowledging needs an Airflow login with edit access to the alert's DAG.", loginLink());
    if (reason === "forbidden") return message("You may not acknowledge this alert.", err.message);
    return message("This link cannot be used.", err.message);
  }
  /** POST ``body`` as JSON; throws ``{status, reason, message}`` (the API's bodies are
      ``{"detail", "reason"}``). */
  async function post(path, body) {
    let response;
    try {
      response = await fetch(new URL(path, API), {
        method: "POST", credentials: "same-origin", cache: "no-store", referrerPolicy: "no-referrer",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (_) {
      throw { status: 0, reason: "", message: "the Airflow API server cannot be reached" };
    }
    let answer = null;
    try { answer = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      const detail = answer && typeof answer.detail === "string" ? answer.detail : response.statusText;
      throw { status: response.status, reason: (answer && answer.reason) || "", message: detail };
    }
    return answer;
  }

  async function start() {
    const token = takeToken();
    if (!token) return message("No link to check.", "Open the Acknowledge link from the email again.");
    let about;
    try {
      about = await post("actions/preview", { token });
    } catch (err) {
      forget();
      return refused(err);
    }
    if (!about.usable) {
      forget();
      if (about.reason === "used") {
        return message("This link was used already.", about.used ? `Used by ${about.used.by} at ${fmtTime(about.used.at)}.` : "A link works once.", alertLink(about));
      }
      return message("This incident is over.", "The instance resolved, or it fires again as a new incident.", alertLink(about));
    }
    if (about.require_login) {
      try {
        await Sentinel.api("me");
      } catch (err) {
        if (err.status === 401 || err.status === 403) {
          return message("Log in to acknowledge.", "Acknowledging needs an Airflow login with edit access to the alert's DAG; this page comes back after it.", h("div", {}, what(about), loginLink()));
        }
      }
    }
    const comment = h("textarea", { id: "ack-comment", maxlength: 2000, placeholder: "Optional: what you are doing about it" });
    const error = h("div", { class: "form-error", role: "alert" });
    const confirm = h("button", { type: "submit", class: "primary", "data-role": "confirm", text: "Acknowledge" });
    const already = about.ack ? h("p", { class: "muted", "data-role": "already", text: `Already acknowledged by ${about.ack.by} at ${fmtTime(about.ack.at)}.` }) : null;
    const form = h("form", { novalidate: true },
      h("h1", { text: `Acknowledge ${about.alert}?` }),
      what(about), already,
      h("p", { class: "muted small", text: "Reminders and escalations of this incident stop until it resolves. Nothing happens until you confirm." }),
      h("div", { class: "field" }, h("label", { for: "ack-comment", text: "Comment" }), comment),
      about.require_login ? h("p", { class: "muted small", text: "You acknowledge as your Airflow user." }) : null,
      error,
      h("div", { class: "dialog-actions" }, confirm));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      confirm.disabled = true;
      error.textContent = "";
      try {
        const done = await post("actions/use", { token, comment: comment.value });
        forget();
        show(h("h1", { "data-role": "done", text: `Acknowledged by ${done.ack.by}.` }),
          what(done), h("p", {}, alertLink(done)));
      } catch (err) {
        if (err.reason !== "login") forget();  // kept across the login only
        refused(err);
      }
    });
    show(form);
  }

  Sentinel.followTheme();
  start();
})();
