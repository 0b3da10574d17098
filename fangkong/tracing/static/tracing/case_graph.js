// Transmission-chain graph of a case page: ECharts `graph` series with a force layout.
// Node ids in the JSON are opaque; outsiders carry only their generation.
(function () {
  "use strict";
  var COLORS = ["#b3141d", "#e0661a", "#d9a400", "#1d5aa6", "#5b7083", "#9aa5b1"];

  function category(node) {
    if (node.outside) { return 5; }
    return Math.min(node.generation, 4);
  }

  // A chain of a few dozen persons is drawn larger, spread out and labelled; a big one stays
  // compact so that thousands of nodes fit the panel.
  var SMALL = 60;

  function sizeOf(node, small) {
    return (small ? [40, 22, 17, 13, 11] : [34, 16, 11, 8, 7])[Math.min(node.generation, 4)];
  }

  function tooltip(el, node) {
    var esc = function (s) {
      return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    };
    if (node.outside) {
      return esc(el.dataset.labelOutside) + "<br>" + esc(el.dataset.labelGeneration) + " " + node.generation;
    }
    var lines = ["<b>" + esc(node.name) + "</b> " + esc(node.id_number || "")];
    if (node.region) { lines.push(esc(node.region)); }
    if (node.generation > 0) { lines.push(esc(el.dataset.labelGeneration) + " " + node.generation); }
    if (node.measure) {
      lines.push(esc(el.dataset.labelMeasure) + ": " + esc(node.measure.plan || "—") + " · " + esc(node.measure.state_label));
    }
    return lines.join("<br>");
  }

  function draw(el, data) {
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    var names = [el.dataset.labelCase, el.dataset.labelG1, el.dataset.labelG2, el.dataset.labelG3,
      el.dataset.labelGn, el.dataset.labelOutside];
    var byId = {};
    var small = data.nodes.length <= SMALL;
    var nodes = data.nodes.map(function (n) {
      byId[n.id] = n;
      var labelled = n.case || (small && !n.outside);
      return {
        id: n.id,
        name: n.id,
        category: category(n),
        symbolSize: sizeOf(n, small),
        label: {
          show: labelled,
          formatter: labelled ? n.name : "",
          position: n.case ? "inside" : "bottom",
          fontSize: n.case ? 12 : 11,
          color: n.case ? "#fff" : "#4a5565"
        },
        itemStyle: n.case ? { borderColor: "#0c2140", borderWidth: 3, shadowBlur: 8, shadowColor: "rgba(179,20,29,0.5)" } : (n.outside ? { opacity: 0.55 } : {})
      };
    });
    chart.setOption({
      animation: false,
      color: COLORS,
      legend: [{ data: names.filter(function (_n, i) { return i !== 4 || data.nodes.some(function (n) { return n.generation > 3; }); }), top: 4, left: 8, itemGap: 16, textStyle: { fontSize: 12 } }],
      tooltip: {
        trigger: "item",
        formatter: function (p) { return p.dataType === "node" ? tooltip(el, byId[p.data.id]) : ""; }
      },
      series: [{
        type: "graph",
        layout: "force",
        roam: true,
        draggable: true,
        categories: names.map(function (n) { return { name: n }; }),
        data: nodes,
        links: data.links,
        lineStyle: { color: "#9aa5b1", width: 0.8, opacity: 0.7 },
        emphasis: { focus: "adjacency", lineStyle: { width: 2 } },
        force: small
          ? { repulsion: 360, gravity: 0.06, edgeLength: [60, 110], layoutAnimation: false, friction: 0.2 }
          : { repulsion: 38, gravity: 0.12, edgeLength: [8, 26], layoutAnimation: false, friction: 0.2 },
        top: 40
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.rendered = String(data.nodes.length);
  }

  function start() {
    var el = document.getElementById("chain-graph");
    if (!el || !window.echarts) { return; }
    window.fangkong.getJSON(el.dataset.src)
      .then(function (data) { draw(el, data); })
      .catch(function () {
        el.classList.add("trc-graph-failed");
        el.textContent = el.dataset.labelFailed;
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
