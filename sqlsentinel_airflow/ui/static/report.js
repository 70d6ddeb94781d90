/* The monthly report page: the alerts to look at again, one table per section
   (GET /report, the object `sqlsentinel report --format json` prints as `report`). */
"use strict";

(() => {
  const { api, dagLink, errorView, h } = Sentinel;
  const $ = (id) => document.getElementById(id);

  function section(sec) {
    const head = h("h2", { text: `${sec.title} (${sec.items.length})` });
    const rule = h("p", { class: "muted small", text: sec.rule });
    if (!sec.items.length) return h("section", { class: "report-section" }, head, rule, h("p", { class: "muted", text: "None." }));
    const rows = sec.items.map((i) => h("tr", {},
      h("td", {}, dagLink(i.dag_id, i.alert)),
      h("td", { text: i.label }),
      h("td", { text: i.owner }),
      h("td", { text: i.why }),
      h("td", { text: i.todo })));
    const table = h("table", { class: "rows" },
      h("thead", {}, h("tr", {}, ["Alert", "Instance", "Owner", "Why", "What to do"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows));
    return h("section", { class: "report-section" }, head, rule, table);
  }

  async function load() {
    const days = Math.max(1, parseInt($("days").value, 10) || 90);
    const params = new URLSearchParams(window.location.search);
    params.set("days", String(days));
    window.history.replaceState(null, "", `?${params}`);
    try {
      const { report } = await api(`report?days=${days}`);
      $("subtitle").textContent = `${report.alerts} alerts, the last ${report.days} days (since ${Sentinel.fmtTime(report.since)})`;
      $("main").replaceChildren(...report.sections.map(section));
    } catch (err) {
      $("main").replaceChildren(errorView(err));
    }
  }

  Sentinel.followTheme();
  const wanted = new URLSearchParams(window.location.search).get("days");
  if (wanted) $("days").value = wanted;
  $("refresh").addEventListener("click", load);
  $("days").addEventListener("change", load);
  load();
})();
