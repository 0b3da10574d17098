// Campaign board: draws the coverage choropleth of the current level's child regions, the
// progress chart and the KPI tiles and table, from the coverage API; refreshes every 15 s.
// Clicking a region (map or table) drills down without reloading; the URL follows (?region=).
(function () {
  "use strict";
  var REFRESH_MS = 15000;
  var root, map, progress, region, geoLoaded = null, rowsByCode = {};

  function fmt(n) { return Number(n).toLocaleString("en-US"); }
  function pct(n) { return Number(n).toFixed(1) + "%"; }
  // the same bands as the map's legend
  function band(p) { return p >= 95 ? "b95" : p >= 80 ? "b80" : p >= 60 ? "b60" : p >= 30 ? "b30" : "b0"; }
  function shortLabel(label, parent) {
    return parent && label.indexOf(parent) === 0 && label.length > parent.length ? label.slice(parent.length) : label;
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  // A timed refresh says it is a poll, so it does not count as the user being active: an
  // unattended board must still sign out after the idle timeout (fangkong.core.sessions).
  function getJSON(url, poll) { return window.fangkong.getJSON(url, { poll: poll }); }
  function withRegion(url) { return region ? url + "?region_id=" + region : url; }

  function renderKpis(t) {
    root.querySelectorAll("[data-kpi]").forEach(function (node) {
      var k = node.getAttribute("data-kpi");
      node.textContent = k === "coverage_pct" ? pct(t[k]) : fmt(t[k]);
    });
    root.querySelectorAll(".mtb-tile-alert").forEach(function (tile) {
      var v = tile.querySelector("[data-kpi]");
      tile.classList.toggle("on", t[v.getAttribute("data-kpi")] > 0);
    });
    var bar = root.querySelector("[data-kpi-bar]");
    if (bar) { bar.style.width = Math.min(100, t.coverage_pct) + "%"; }
  }

  function renderCrumbs(crumbs) {
    var nav = document.getElementById("mtb-crumbs");
    nav.textContent = "";
    crumbs.forEach(function (c, i) {
      if (i < crumbs.length - 1) {
        var a = el("a", { href: "?region=" + c.id, "data-region": c.id }, c.name);
        nav.appendChild(a);
        nav.appendChild(document.createTextNode(" › "));
      } else {
        nav.appendChild(el("strong", {}, c.name));
      }
    });
  }

  function cell(text, cls) { var td = el("td", cls ? { class: cls } : {}, text); return td; }

  function renderRows(body) {
    var tbody = document.getElementById("mtb-rows");
    var listUrl = root.dataset.notSampledUrl;
    tbody.textContent = "";
    rowsByCode = {};
    body.rows.forEach(function (r) {
      rowsByCode[r.key] = r;
      var tr = el("tr");
      var name = el("td");
      if (r.has_children) {
        name.appendChild(el("a", { href: "?region=" + r.region_id, "data-region": r.region_id }, r.label));
      } else { name.textContent = r.label; }
      tr.appendChild(name);
      tr.appendChild(cell(fmt(r.should_test), "num"));
      tr.appendChild(cell(fmt(r.sampled), "num"));
      var cov = el("td");
      var bar = el("div", { class: "mtb-bar " + band(r.coverage_pct) });
      var fill = el("span"); fill.style.width = Math.min(100, r.coverage_pct) + "%";
      bar.appendChild(fill); cov.appendChild(bar);
      cov.appendChild(el("span", { class: "mtb-pct" }, pct(r.coverage_pct)));
      tr.appendChild(cov);
      tr.appendChild(cell(fmt(r.resulted), "num"));
      tr.appendChild(cell(fmt(r.positive_pools), "num"));
      tr.appendChild(cell(fmt(r.rechecks_outstanding), "num"));
      var act = el("td", { class: "actions" });
      act.appendChild(el("a", { href: listUrl + "?region=" + r.region_id }, root.dataset.msgList));
      tr.appendChild(act);
      tbody.appendChild(tr);
    });
    if (!body.rows.length) {
      var tr = el("tr", { class: "empty-row" });
      var td = el("td", { colspan: "8" });
      td.appendChild(el("a", { href: listUrl + "?region=" + body.region.id }, root.dataset.msgList));
      tr.appendChild(td); tbody.appendChild(tr);
    }
  }

  function renderMap(body) {
    if (!map || geoLoaded !== region) { return; }
    var data = body.rows.map(function (r) { return { name: r.key, value: r.coverage_pct, label: r.label }; });
    if (!body.rows.length) {
      data = [{ name: body.region.code, value: body.totals.coverage_pct, label: body.region.name }];
    }
    map.setOption({ series: [{ data: data }] });
  }

  function drawMapFrame(geo) {
    var name = "mtb-" + region;
    echarts.registerMap(name, geo);
    map.clear();
    var labels = {};
    geo.features.forEach(function (f) { labels[f.properties.name] = shortLabel(f.properties.label, geo.parent_name); });
    map.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var r = rowsByCode[p.name];
          var head = labels[p.name] || p.name;
          if (!r) { return head + "<br>" + root.dataset.msgCoverage + ": " + (isNaN(p.value) ? "—" : pct(p.value)); }
          return head + "<br>" + root.dataset.msgCoverage + ": <b>" + pct(r.coverage_pct) + "</b><br>" +
            root.dataset.msgSampled + ": " + fmt(r.sampled) + " / " + fmt(r.should_test);
        }
      },
      visualMap: {
        type: "piecewise", left: 10, bottom: 10, itemWidth: 14, itemHeight: 10,
        textStyle: { fontSize: 11, color: "#4a5565" },
        pieces: [
          { min: 95, label: "≥ 95%", color: "#1e7b34" },
          { min: 80, max: 95, label: "80–95%", color: "#6fb07f" },
          { min: 60, max: 80, label: "60–80%", color: "#e8c15a" },
          { min: 30, max: 60, label: "30–60%", color: "#e08a3c" },
          { max: 30, label: "< 30%", color: "#c0392b" }
        ]
      },
      series: [{
        type: "map", map: name, roam: true, nameProperty: "name", selectedMode: false,
        label: { show: true, fontSize: 11, color: "#1c2430", formatter: function (p) { return labels[p.name] || ""; } },
        itemStyle: { borderColor: "#ffffff", borderWidth: 1.2, areaColor: "#dfe4ea" },
        emphasis: { label: { show: true, fontWeight: "bold" }, itemStyle: { areaColor: "#9fc3ea" } },
        data: []
      }]
    });
    geoLoaded = region;
  }

  function loadGeo() {
    return getJSON(withRegion(root.dataset.geoUrl)).then(function (geo) {
      if (!geo.features.length) {
        map.clear();
        map.setOption({ title: { text: root.dataset.msgNodata, left: "center", top: "middle", textStyle: { fontSize: 13, color: "#7a8594", fontWeight: "normal" } } });
        geoLoaded = null;
        return;
      }
      drawMapFrame(geo);
    });
  }

  function renderProgress(p) {
    if (!progress) { return; }
    var labels = p.labels;
    progress.setOption({
      animation: false,
      grid: { left: 64, right: 56, top: 40, bottom: 56 },
      legend: { top: 4, textStyle: { fontSize: 12 } },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: labels, axisLabel: { fontSize: 11 } },
      yAxis: [
        { type: "value", min: 0, max: Math.max(p.should_test, p.cumulative[p.cumulative.length - 1] || 0) || null, axisLabel: { fontSize: 11 } },
        { type: "value", min: 0, splitLine: { show: false }, axisLabel: { fontSize: 11 } }
      ],
      series: [
        { name: root.dataset.msgHourly, type: "bar", yAxisIndex: 1, data: p.sampled, itemStyle: { color: "#9fb8d6" }, barMaxWidth: 18 },
        { name: root.dataset.msgCumulative, type: "line", data: p.cumulative, showSymbol: false, lineStyle: { width: 2.5, color: "#1d5aa6" }, areaStyle: { color: "rgba(29,90,166,0.08)" },
          markLine: { silent: true, symbol: "none", lineStyle: { color: "#b3141d", type: "dashed" },
                      label: { formatter: root.dataset.msgShould + " " + fmt(p.should_test), position: "insideEndTop", color: "#b3141d" },
                      data: [{ yAxis: p.should_test }] } }
      ]
    });
  }

  function stamp(ok) {
    var live = document.querySelector(".mtb-live");
    if (live) { live.classList.toggle("stale", !ok); }
    if (ok) {
      var now = new Date();
      document.getElementById("mtb-updated").textContent = [now.getHours(), now.getMinutes(), now.getSeconds()].map(function (n) { return String(n).padStart(2, "0"); }).join(":");
    }
  }

  function refresh(poll) {
    var cov = getJSON(withRegion(root.dataset.coverageUrl), poll).then(function (body) {
      renderKpis(body.totals); renderCrumbs(body.crumbs); renderRows(body); renderMap(body);
    });
    var prog = getJSON(withRegion(root.dataset.progressUrl), poll).then(renderProgress);
    return Promise.all([cov, prog]).then(function () { stamp(true); }, function () { stamp(false); });
  }

  function go(regionId, push) {
    region = String(regionId);
    if (push) { history.pushState({ region: region }, "", root.dataset.boardUrl + "?region=" + region); }
    var now = function () { return refresh(false); };
    loadGeo().then(now, now);
  }

  function init() {
    root = document.getElementById("mtb");
    if (!root || typeof echarts === "undefined") { return; }
    region = root.dataset.region;
    map = echarts.init(document.getElementById("mtb-map"));
    progress = echarts.init(document.getElementById("mtb-progress"));
    map.on("click", function (p) {
      var r = rowsByCode[p.name];
      if (r && r.has_children) { go(r.region_id, true); }
    });
    root.addEventListener("click", function (e) {
      var a = e.target.closest("a[data-region]");
      if (!a) { return; }
      e.preventDefault();
      go(a.getAttribute("data-region"), true);
    });
    window.addEventListener("popstate", function (e) {
      if (e.state && e.state.region) { go(e.state.region, false); }
    });
    history.replaceState({ region: region }, "", location.href);
    go(region, false);
    setInterval(function () { if (!document.hidden) { refresh(true); } }, REFRESH_MS);
    window.addEventListener("resize", function () { map.resize(); progress.resize(); });
  }
  document.addEventListener("DOMContentLoaded", init);
})();
