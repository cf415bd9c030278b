/* journeygraph explorer: draws the page from its JSON data block.
   User text only ever goes into textContent or non-URL attributes; never markup. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("jg-data").textContent);
  var W = D.words;
  var SVGNS = "http://www.w3.org/2000/svg";
  var L = D.layout;
  var isDiff = D.kind === "diff";

  // -- helpers -------------------------------------------------------------------
  function word(key, values) {
    var text = Object.prototype.hasOwnProperty.call(W, key) ? W[key] : key;
    if (values) {
      Object.keys(values).forEach(function (k) {
        text = text.split("{" + k + "}").join(String(values[k]));
      });
    }
    return text;
  }
  function h(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function s(tag, attrs, cls) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (cls) e.setAttribute("class", cls);
    return e;
  }
  function pct(x, digits) {
    if (x === null || x === undefined) return "–";
    return (x * 100).toFixed(digits === undefined ? 1 : digits) + "%";
  }
  function num(x, digits) {
    if (x === null || x === undefined) return "–";
    return x.toFixed(digits === undefined ? 2 : digits);
  }
  function pts(d) {
    if (d === null || d === undefined) return "";
    var v = d * 100;
    return (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(1) + " " + word("pts");
  }
  function signedNum(d, digits) {
    return (d >= 0 ? "+" : "−") + Math.abs(d).toFixed(digits);
  }
  function ci(pair, fmt) {
    if (!pair) return "";
    return " [" + fmt(pair[0]) + ", " + fmt(pair[1]) + "]";
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  // -- state -----------------------------------------------------------------------
  var states = D.states;
  var stateIndex = 0;  // index into states
  var selected = null;  // touchpoint id
  var hovered = null;
  var tab = "leaks";
  var nodeById = {};
  D.nodes.forEach(function (n) { nodeById[n.id] = n; });
  var stageById = {};
  D.stages.forEach(function (st) { stageById[st.id] = st; });
  function label(id) { return nodeById[id] ? nodeById[id].label : id; }
  function figIndex() { return Math.min(stateIndex, D.figures.length - 1); }
  function isChange() { return isDiff && states[stateIndex] === "change"; }
  function moveValue(m) {
    if (!isChange()) return m.v[figIndex()];
    var a = m.v[0], b = m.v[1];
    if (a === null) return b;
    if (b === null) return a;
    return Math.max(a, b);
  }
  var present = null;
  if (isDiff) {
    present = D.present.map(function (ids) {
      var set = {};
      ids.forEach(function (id) { set[id] = true; });
      return set;
    });
  }
  function nodePresent(id) {
    if (!isDiff || isChange()) return true;
    return !!present[stateIndex][id];
  }

  // -- header --------------------------------------------------------------------------
  document.documentElement.lang = D.lang;
  document.title = D.title + " · " + word("page_title");
  document.getElementById("title").textContent = D.title;
  document.getElementById("subtitle").textContent =
    (isDiff ? word("comparison") : word("journey")) + (D.subtitle ? " · " + D.subtitle : "");
  Array.prototype.forEach.call(document.querySelectorAll("[data-word]"), function (e) {
    e.textContent = word(e.getAttribute("data-word"));
  });
  document.getElementById("zoom-in").title = word("zoom_in");
  document.getElementById("zoom-out").title = word("zoom_out");

  function headline() {
    var box = document.getElementById("headline");
    clear(box);
    var items = [["conversion", pct], ["churn", pct], ["competitor", pct],
      ["steps", function (x) { return num(x, 2); }], ["hours", function (x) { return num(x, 1); }]];
    items.forEach(function (it) {
      var key = it[0], fmt = it[1];
      var cell = h("div", "figure figure-" + key);
      cell.appendChild(h("span", "figure-label", word(key)));
      var value;
      if (isChange()) {
        var pair = [D.headline[0][key], D.headline[1][key]];
        if (pair[0] === undefined || (pair[0] === null && pair[1] === null)) return;
        value = fmt(pair[0]) + " → " + fmt(pair[1]);
        var delta = h("span", "figure-delta");
        if (pair[0] !== null && pair[1] !== null) {
          delta.textContent = key === "steps" || key === "hours"
            ? signedNum(pair[1] - pair[0], key === "steps" ? 2 : 1) : pts(pair[1] - pair[0]);
          var good = key === "conversion" ? pair[1] >= pair[0] : pair[1] <= pair[0];
          delta.className += good ? " good" : " bad";
        }
        cell.appendChild(h("span", "figure-value", value));
        cell.appendChild(delta);
      } else {
        var head = D.headline[figIndex()];
        if (head[key] === null || head[key] === undefined) return;
        cell.appendChild(h("span", "figure-value", fmt(head[key])));
        if (head.ci && head.ci[key]) cell.appendChild(h("span", "figure-ci", ci(head.ci[key], fmt)));
      }
      cell.dataset.key = key;
      box.appendChild(cell);
    });
  }

  function callouts() {
    var box = document.getElementById("callouts");
    clear(box);
    if (!isChange() || !D.callouts.length) return;
    box.appendChild(h("span", null, word("callouts")));
    var list = h("ol");
    D.callouts.forEach(function (c) {
      var what = c.subject === "leak" ? word("callout_leak", { tp: label(c.source) })
        : label(c.source) + " → " + label(c.target);
      var li = h("li", null, what + ": " + pct(c.before, 1) + " → " + pct(c.after, 1));
      li.dataset.element = c.dom;
      li.addEventListener("mouseenter", function () { hovered = c.source; focus(); });
      li.addEventListener("mouseleave", function () { hovered = null; focus(); });
      list.appendChild(li);
    });
    box.appendChild(list);
  }

  var stateBox = document.getElementById("states");
  if (isDiff) {
    states.forEach(function (name, i) {
      var b = h("button", "state", word("state_" + name));
      b.type = "button";
      b.id = "state-" + name;
      b.setAttribute("role", "tab");
      b.addEventListener("click", function () { setState(i); });
      stateBox.appendChild(b);
    });
  } else {
    stateBox.hidden = true;
  }

  // -- the diagram -------------------------------------------------------------------
  var svg = document.getElementById("diagram");
  var viewport = document.getElementById("viewport");
  var stageLayer = s("g", null, "stages");
  var moveLayer = s("g", null, "moves");
  var nodeLayer = s("g", null, "nodes");
  viewport.appendChild(stageLayer);
  viewport.appendChild(moveLayer);
  viewport.appendChild(nodeLayer);
  var NW = L.node_w, NH = L.node_h;

  D.stages.forEach(function (st) {
    var g = s("g", { id: st.dom }, st.cls.join(" "));
    g.appendChild(s("rect", { x: st.x - 10, y: 8, width: NW + 20, height: L.height - 16, rx: 10 }, "stage-band"));
    st.lines.forEach(function (line, i) {
      var t = s("text", { x: st.x + NW / 2, y: 28 + i * 15 }, "stage-title");
      t.textContent = line;
      g.appendChild(t);
    });
    var title = s("title");
    title.textContent = st.label;
    g.appendChild(title);
    stageLayer.appendChild(g);
  });

  var nodeEls = {};
  var movesOf = {};
  D.nodes.forEach(function (n) {
    var g = s("g", { id: n.dom, transform: "translate(" + n.x + "," + n.y + ")" }, "node " + n.cls.join(" "));
    g.dataset.id = n.id;
    g.appendChild(s("rect", { width: NW, height: NH, rx: n.kind === "outcome" ? 27 : 7 }, "box"));
    n.lines.forEach(function (line, i) {
      var t = s("text", { x: NW / 2, y: 17 + (3 - n.lines.length) * 7 + i * 15 }, "label");
      t.textContent = line;
      g.appendChild(t);
    });
    var sub = s("text", { x: NW / 2, y: NH - 7 }, "sub");
    g.appendChild(sub);
    if (n.leak_rank) {
      var rank = s("text", { x: 2, y: -3 }, "rank");
      rank.textContent = word("leak_rank", { n: n.leak_rank });
      g.appendChild(rank);
    }
    if (n.status) {
      var badge = s("text", { x: NW - 4, y: 12 }, "badge");
      badge.textContent = n.status === "added" ? "+" : n.status === "removed" ? "−" : "~";
      g.appendChild(badge);
    }
    var title = s("title");
    title.textContent = n.label;
    g.appendChild(title);
    nodeLayer.appendChild(g);
    nodeEls[n.id] = g;
    movesOf[n.id] = [];
    if (n.kind === "outcome") {
      g.addEventListener("click", function (ev) { ev.stopPropagation(); select(n.id, false); });
    }
    if (n.kind === "touchpoint") {
      g.addEventListener("mouseenter", function () { hovered = n.id; focus(); showPanel(); });
      g.addEventListener("mouseleave", function () { hovered = null; focus(); showPanel(); });
      g.addEventListener("click", function (ev) { ev.stopPropagation(); select(n.id, false); });
      // Keyboard: Tab reaches each touchpoint, Enter or Space selects it.
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", n.label);
      g.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(n.id, false); }
      });
    }
  });

  function nodeSubText() {
    D.nodes.forEach(function (n) {
      var sub = nodeEls[n.id].querySelector(".sub");
      if (n.kind === "outcome") {
        sub.textContent = outcomeText(n);
        return;
      }
      var f = D.figures[figIndex()][n.id];
      if (isChange()) {
        var a = D.figures[0][n.id], b = D.figures[1][n.id];
        var la = a && a.leak ? a.leak[0] : 0, lb = b && b.leak ? b.leak[0] : 0;
        sub.textContent = a && b ? word("lost_short", { p: pct(la) + " → " + pct(lb) }) : "";
        return;
      }
      if (!f) { sub.textContent = ""; return; }
      var text = word("visits_short", { v: num(f.visits, 2) });
      if (f.leak) text += " · " + word("lost_short", { p: pct(f.leak[0]) });
      sub.textContent = text;
    });
  }
  function outcomeText(n) {
    var at = function (i) {
      var p = D.headline[i].outcomes[n.id];
      return p === undefined ? null : p;
    };
    if (isChange()) return pct(at(0)) + " → " + pct(at(1));
    return pct(at(figIndex()));
  }

  // Edges: from the right side of the source to the left side of the target.
  var moveEls = [];
  D.moves.forEach(function (m, i) {
    var a = nodeById[m.from], b = nodeById[m.to];
    var x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, d;
    if (m.kind === "backtrack") {
      x1 = a.x; x2 = b.x + NW;
      var dip = 40 + Math.abs(x1 - x2) * 0.12;
      d = "M" + x1 + "," + (a.y + NH) + " C" + (x1 - 30) + "," + (a.y + NH + dip) + " " +
        (x2 + 30) + "," + (b.y + NH + dip) + " " + x2 + "," + (b.y + NH);
    } else if (m.kind === "within") {
      var bulge = 30 + Math.min(Math.abs(y2 - y1) * 0.15, 40);
      d = "M" + x1 + "," + y1 + " C" + (x1 + bulge) + "," + y1 + " " + (x1 + bulge) + "," + y2 + " " + x1 + "," + y2;
    } else {
      var dx = Math.max((x2 - x1) * 0.45, 30);
      d = "M" + x1 + "," + y1 + " C" + (x1 + dx) + "," + y1 + " " + (x2 - dx) + "," + y2 + " " + x2 + "," + y2;
    }
    var p = s("path", { d: d, id: m.dom }, m.cls.join(" "));
    p.dataset.index = String(i);
    moveLayer.appendChild(p);
    moveEls.push(p);
    movesOf[m.from].push(i);
    if (m.to !== m.from) movesOf[m.to].push(i);
  });

  // A move's tooltip is written when the pointer first reaches it (thousands of moves).
  moveLayer.addEventListener("mouseover", function (ev) {
    var el = ev.target;
    if (!el || !el.dataset || el.dataset.index === undefined) return;
    var m = D.moves[+el.dataset.index];
    var text = label(m.from) + " → " + label(m.to) + ": " +
      (isChange() ? pct(m.v[0], 2) + " → " + pct(m.v[1], 2) : pct(moveValue(m), 2));
    var title = el.firstChild || el.appendChild(s("title"));
    title.textContent = text;
  });

  // -- widths, threshold slider ------------------------------------------------------
  var slider = document.getElementById("threshold");
  var counter = document.getElementById("hidden-count");
  var order = [];  // move indices present in this state, weakest first
  var cutAt = [];  // per state: how many of the weakest are hidden
  function restyleMoves() {
    var max = 0;
    D.moves.forEach(function (m) { var v = moveValue(m); if (v !== null && v > max) max = v; });
    order = [];
    D.moves.forEach(function (m, i) {
      var v = moveValue(m), el = moveEls[i];
      var absent = v === null;
      el.classList.toggle("absent", absent);
      if (absent) return;
      order.push(i);
      var w = max > 0 ? 1 + 11 * Math.sqrt(v / max) : 1;
      el.style.strokeWidth = w.toFixed(2) + "px";
    });
    order.sort(function (i, j) { return moveValue(D.moves[i]) - moveValue(D.moves[j]) || i - j; });
    slider.max = String(Math.max(order.length - 1, 0));
    if (cutAt[stateIndex] === undefined) {
      cutAt[stateIndex] = order.length > 400 ? order.length - 400 : 0;
    }
    slider.value = String(Math.min(cutAt[stateIndex], order.length));
    appliedK = -1;
    applyThreshold();
  }
  var appliedK = -1;  // how many moves are hidden now (-1: redo every move)
  function applyThreshold() {
    var k = parseInt(slider.value, 10) || 0;
    cutAt[stateIndex] = k;
    // Only the moves between the old and the new position change.
    var lo = appliedK < 0 ? 0 : Math.min(appliedK, k);
    var hi = appliedK < 0 ? order.length : Math.max(appliedK, k);
    for (var r = lo; r < hi; r++) moveEls[order[r]].classList.toggle("cut", r < k);
    appliedK = k;
    var shown = order.length - k;
    svg.dataset.shown = String(shown);
    svg.dataset.hidden = String(k);
    if (k === 0) {
      counter.textContent = word("hiding_none", { total: order.length });
    } else {
      counter.textContent = word("hiding", {
        hidden: k, total: order.length, value: pct(moveValue(D.moves[order[k]]), 2)
      });
    }
    counter.dataset.hidden = String(k);
    counter.dataset.shown = String(shown);
  }
  slider.addEventListener("input", applyThreshold);

  // -- focus (highlight) -----------------------------------------------------------
  var lit = [];
  function focus() {
    lit.forEach(function (e) { e.classList.remove("hl"); });
    lit = [];
    var id = hovered || selected;
    svg.classList.toggle("focus", !!id);
    if (!id) return;
    var g = nodeEls[id];
    g.classList.add("hl");
    lit.push(g);
    movesOf[id].forEach(function (i) {
      var m = D.moves[i];
      moveEls[i].classList.add("hl");
      lit.push(moveEls[i]);
      [m.from, m.to].forEach(function (other) {
        if (!nodeEls[other].classList.contains("hl")) {
          nodeEls[other].classList.add("hl");
          lit.push(nodeEls[other]);
        }
      });
    });
    Object.keys(nodeEls).forEach(function (k) {
      nodeEls[k].classList.toggle("selected", k === selected);
    });
  }
  function select(id, center) {
    selected = id;
    hovered = null;
    tab = "touchpoint";
    focus();
    showPanel();
    if (center) centerOn(id);
  }
  svg.addEventListener("click", function () {
    if (dragged) return;
    selected = null;
    Object.keys(nodeEls).forEach(function (k) { nodeEls[k].classList.remove("selected"); });
    focus();
    showPanel();
  });

  // -- pan and zoom ------------------------------------------------------------------
  var view = { x: 0, y: 0, k: 1 };
  function apply() {
    viewport.setAttribute("transform", "translate(" + view.x.toFixed(1) + "," + view.y.toFixed(1) + ") scale(" + view.k.toFixed(4) + ")");
    svg.dataset.zoom = view.k.toFixed(4);
  }
  function fit() {
    var r = svg.getBoundingClientRect();
    var k = Math.min(r.width / L.width, r.height / L.height);
    k = Math.max(Math.min(k, 1.4), 0.05);
    view.k = k;
    view.x = (r.width - L.width * k) / 2;
    view.y = Math.max((r.height - L.height * k) / 2, 0);
    apply();
  }
  function zoomAt(factor, cx, cy) {
    var k = Math.max(0.03, Math.min(view.k * factor, 6));
    view.x = cx - (cx - view.x) * (k / view.k);
    view.y = cy - (cy - view.y) * (k / view.k);
    view.k = k;
    apply();
  }
  function centerOn(id) {
    var n = nodeById[id], r = svg.getBoundingClientRect();
    if (view.k < 0.6) view.k = 0.9;
    view.x = r.width / 2 - (n.x + NW / 2) * view.k;
    view.y = r.height / 2 - (n.y + NH / 2) * view.k;
    apply();
  }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  var drag = null, dragged = false;
  svg.addEventListener("pointerdown", function (ev) {
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
    dragged = false;
  });
  window.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) dragged = true;
    if (!dragged) return;
    svg.classList.add("panning");
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    apply();
  });
  window.addEventListener("pointerup", function () {
    drag = null;
    svg.classList.remove("panning");
    setTimeout(function () { dragged = false; }, 0);
  });
  document.getElementById("zoom-in").addEventListener("click", function () {
    var r = svg.getBoundingClientRect(); zoomAt(1.25, r.width / 2, r.height / 2);
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    var r = svg.getBoundingClientRect(); zoomAt(0.8, r.width / 2, r.height / 2);
  });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  // More room for the diagram: hide the side panel, and fit again.
  var panelToggle = document.getElementById("panel-toggle");
  panelToggle.addEventListener("click", function () {
    var hidden = document.body.classList.toggle("no-panel");
    panelToggle.textContent = word(hidden ? "show_panel" : "hide_panel");
    fit();
  });

  // -- legend ----------------------------------------------------------------------
  (function legend() {
    var box = document.getElementById("legend");
    var items = [["conversion", "legend_conversion"], ["churn", "legend_churn"],
      ["competitor", "legend_competitor"], ["backtrack", "legend_backtrack"]];
    if (isDiff) items = items.concat([["added", "legend_added"], ["removed", "legend_removed"], ["changed", "legend_changed"]]);
    items.forEach(function (it) {
      var row = h("span", "legend-item");
      var sw = s("svg", { width: 30, height: 10 });
      sw.appendChild(s("path", { d: "M2,5 L28,5" }, "move " + it[0]));
      row.appendChild(sw);
      row.appendChild(h("span", null, word(it[1])));
      box.appendChild(row);
    });
    box.appendChild(h("span", "legend-item", word("legend_width")));
  })();

  // -- search ------------------------------------------------------------------------
  var search = document.getElementById("search");
  var results = document.getElementById("search-results");
  search.placeholder = word("search");
  function runSearch() {
    var q = search.value.trim().toLowerCase();
    clear(results);
    var hits = [];
    D.nodes.forEach(function (n) {
      var hit = q !== "" && n.kind === "touchpoint" &&
        (n.label.toLowerCase().indexOf(q) >= 0 || n.id.toLowerCase().indexOf(q) >= 0);
      nodeEls[n.id].classList.toggle("match", hit);
      if (hit) hits.push(n);
    });
    svg.classList.toggle("searching", q !== "");
    if (q === "") return;
    results.appendChild(h("div", "search-count", hits.length ? word("matches", { n: hits.length }) : word("no_match")));
    hits.slice(0, 8).forEach(function (n) {
      var b = h("button", "search-hit", n.label);
      b.type = "button";
      b.addEventListener("click", function () { select(n.id, true); });
      results.appendChild(b);
    });
  }
  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      var first = results.querySelector(".search-hit");
      if (first) first.click();
    } else if (ev.key === "Escape") {
      search.value = "";
      runSearch();
    }
  });

  // -- the panel: tabs ---------------------------------------------------------------
  var tabs = ["touchpoint", "leaks", "switching", "removal", "dropoff"];
  if (isDiff) tabs.push("changes");
  var tabBox = document.getElementById("tabs");
  var tabButtons = {};
  tabs.forEach(function (name) {
    var b = h("button", "tab", word("tab_" + name));
    b.type = "button";
    b.id = "tab-" + name;
    b.setAttribute("role", "tab");
    b.addEventListener("click", function () { tab = name; showPanel(); });
    tabBox.appendChild(b);
    tabButtons[name] = b;
  });
  var body = document.getElementById("panel-body");

  function showPanel() {
    tabs.forEach(function (name) {
      tabButtons[name].classList.toggle("active", name === tab);
      tabButtons[name].setAttribute("aria-selected", name === tab ? "true" : "false");
    });
    clear(body);
    body.dataset.tab = tab;
    if (tab === "touchpoint") touchpointPanel(hovered || selected);
    else if (tab === "leaks") leaksTable();
    else if (tab === "switching") switchingTable();
    else if (tab === "removal") removalTable();
    else if (tab === "dropoff") dropoffView();
    else if (tab === "changes") changesTable();
  }

  function row(dl, key, value, detail, raw, extra) {
    var dt = h("dt", null, key);
    var dd = h("dd");
    var v = h("span", "value", value);
    if (raw !== undefined && raw !== null) v.dataset.value = String(raw);
    dd.appendChild(v);
    if (extra) dd.appendChild(h("span", "ci", extra));
    if (detail) dd.appendChild(h("div", "detail", detail));
    dl.appendChild(dt);
    dl.appendChild(dd);
    return dd;
  }
  function levelText() {
    return D.interval_level ? word("interval", { level: pct(D.interval_level, 0) }) : "";
  }

  function touchpointPanel(id) {
    if (!id) { body.appendChild(h("p", "hint", word("pick"))); return; }
    var n = nodeById[id];
    var box = h("div", "tp-panel");
    box.id = "touchpoint-panel";
    box.dataset.id = id;
    box.appendChild(h("h2", null, n.label));
    if (n.kind === "outcome") {
      // An outcome: its total, and where its customers come from.
      box.appendChild(h("p", "meta", word("outcome_" + n.outcome_kind)));
      var odl = h("dl", "figures");
      var total = isChange()
        ? pct(D.headline[0].outcomes[n.id]) + " → " + pct(D.headline[1].outcomes[n.id])
        : pct(D.headline[figIndex()].outcomes[n.id]);
      row(odl, word("outcome_total"), total, null, isChange() ? null : D.headline[figIndex()].outcomes[n.id]).id = "fig-total";
      box.appendChild(odl);
      box.appendChild(moveList(id, false));
      body.appendChild(box);
      return;
    }
    var meta = h("p", "meta");
    var stage = stageById[n.stage];
    meta.textContent = word("stage") + ": " + (stage ? stage.label : n.stage) +
      (n.channel ? " · " + word("channel") + ": " + n.channel : "") +
      (n.owner ? " · " + word("owner") + ": " + n.owner : "") +
      (n.sentiment !== null && n.sentiment !== undefined ? " · " + word("sentiment") + ": " + signedNum(n.sentiment, 1) : "");
    box.appendChild(meta);
    if (n.status) box.appendChild(h("p", "status status-" + n.status, word(n.status)));
    if (n.pains && n.pains.length) box.appendChild(h("p", "pains", word("pains") + ": " + n.pains.join("; ")));
    var dl = h("dl", "figures");
    if (isChange()) {
      changeFigures(dl, id);
    } else {
      var f = D.figures[figIndex()][id];
      if (!f) {
        box.appendChild(h("p", "hint", word("not_in_state")));
        body.appendChild(box);
        return;
      }
      row(dl, word("visits"), num(f.visits, 3), null, f.visits).id = "fig-visits";
      if (f.leak) {
        row(dl, word("leak"), pct(f.leak[0], 2), word("leak_detail", { share: pct(f.leak[1]), rate: pct(f.leak[2]) }),
          f.leak[0], ci(f.leak_ci, function (x) { return pct(x, 2); })).id = "fig-leak";
      } else {
        row(dl, word("leak"), word("none")).id = "fig-leak";
      }
      var sw = row(dl, word("switching"), f.switching.length ? "" : word("none"));
      sw.id = "fig-switching";
      f.switching.forEach(function (x) {
        sw.appendChild(h("div", "switch", label(x[0]) + ": " + pct(x[1], 2) + " (" + pct(x[2]) + ")" +
          ci(x[3], function (y) { return pct(y, 2); })));
      });
      row(dl, word("removal"), pct(f.removal), word("removal_detail"), f.removal,
        ci(f.removal_ci, pct)).id = "fig-removal";
      if (f.gain !== null) {
        row(dl, word("sensitivity", { fraction: pct(D.fix_fraction, 0) }), pts(f.gain),
          word("sensitivity_detail"), f.gain).id = "fig-gain";
      }
      row(dl, word("converts"), pct(f.converts), null, f.converts).id = "fig-converts";
    }
    box.appendChild(dl);
    if (levelText() && !isChange()) box.appendChild(h("p", "hint", levelText()));
    box.appendChild(moveList(id, true));
    box.appendChild(moveList(id, false));
    body.appendChild(box);
  }
  function changeFigures(dl, id) {
    var a = D.figures[0][id], b = D.figures[1][id];
    function both(key, fmt, pick, delta) {
      var va = a ? pick(a) : null, vb = b ? pick(b) : null;
      var text = fmt(va) + " → " + fmt(vb);
      var d = row(dl, word(key), text);
      if (va !== null && vb !== null) d.appendChild(h("span", "ci", " " + (delta || pts)(vb - va)));
      return d;
    }
    both("visits", function (x) { return num(x, 3); }, function (f) { return f.visits; },
      function (d) { return signedNum(d, 3); });
    both("leak", function (x) { return pct(x, 2); }, function (f) { return f.leak ? f.leak[0] : 0; });
    both("switching", function (x) { return pct(x, 2); }, function (f) {
      return f.switching.reduce(function (t, x) { return t + x[1]; }, 0);
    });
    both("removal", pct, function (f) { return f.removal; }).id = "fig-removal";
    D.changes.forEach(function (c) {
      if (c[0] === id) {
        var f = (c[2] === null ? "–" : String(c[2])) + " → " + (c[3] === null ? "–" : String(c[3]));
        row(dl, Object.prototype.hasOwnProperty.call(W, "field_" + c[1]) ? word("field_" + c[1]) : c[1], f);
      }
    });
  }
  function moveList(id, outgoing) {
    var wrap = h("div", "move-list");
    wrap.appendChild(h("h3", null, word(outgoing ? "moves_out" : "moves_in")));
    var list = h("ol");
    var items = movesOf[id].map(function (i) { return D.moves[i]; }).filter(function (m) {
      return (outgoing ? m.from === id : m.to === id) && moveValue(m) !== null;
    });
    items.sort(function (x, y) { return moveValue(y) - moveValue(x); });
    items.slice(0, 8).forEach(function (m) {
      var other = outgoing ? m.to : m.from;
      var text = label(other) + ": ";
      text += isChange() ? pct(m.v[0], 2) + " → " + pct(m.v[1], 2) : pct(moveValue(m), 2);
      var li = h("li", "move-item " + m.kind, text);
      li.addEventListener("mouseenter", function () { if (nodeById[other].kind === "touchpoint") { hovered = other; focus(); } });
      li.addEventListener("mouseleave", function () { hovered = null; focus(); });
      list.appendChild(li);
    });
    if (items.length > 8) list.appendChild(h("li", "hint", "… +" + (items.length - 8)));
    wrap.appendChild(items.length ? list : h("p", "hint", word("none")));
    return wrap;
  }

  // -- tables --------------------------------------------------------------------------
  function table(id, columns, rows) {
    // columns: [title, type ("text"|"num"), format]; rows: [{tp, cells: [...]}]
    var t = h("table", "sortable");
    t.id = id;
    var thead = h("thead"), tr = h("tr");
    var sortCol = -1, asc = false;
    var tbody = h("tbody");
    function fill() {
      clear(tbody);
      var sorted = rows.slice();
      if (sortCol >= 0) {
        sorted.sort(function (x, y) {
          var a = x.cells[sortCol], b = y.cells[sortCol];
          var r;
          if (columns[sortCol][1] === "num") r = (a === null ? -Infinity : a) - (b === null ? -Infinity : b);
          else r = String(a).localeCompare(String(b));
          return asc ? r : -r;
        });
      }
      sorted.forEach(function (r) {
        var row = h("tr");
        row.dataset.id = r.tp;
        r.cells.forEach(function (c, i) {
          var td = h("td", columns[i][1], columns[i][2](c, r));
          if (columns[i][1] === "num" && c !== null) td.dataset.value = String(c);
          row.appendChild(td);
        });
        row.addEventListener("mouseenter", function () { hovered = r.tp; focus(); });
        row.addEventListener("mouseleave", function () { hovered = null; focus(); });
        row.addEventListener("click", function () { selected = r.tp; hovered = null; focus(); centerOn(r.tp); });
        tbody.appendChild(row);
      });
    }
    columns.forEach(function (c, i) {
      var th = h("th", c[1], c[0]);
      th.tabIndex = 0;
      th.addEventListener("click", function () {
        asc = sortCol === i ? !asc : c[1] !== "num";
        sortCol = i;
        Array.prototype.forEach.call(thead.querySelectorAll("th"), function (x) { x.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        fill();
      });
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    t.appendChild(thead);
    t.appendChild(tbody);
    fill();
    body.appendChild(t);
    if (!rows.length) body.appendChild(h("p", "hint", word("none")));
    return t;
  }
  function text(x) { return x; }
  function stateFigures() {
    var out = [];
    var figs = D.figures[isChange() ? 1 : figIndex()];
    Object.keys(figs).forEach(function (id) { out.push([id, figs[id]]); });
    return out;
  }
  function leaksTable() {
    var rows = [];
    stateFigures().forEach(function (e) {
      var f = e[1];
      if (f.leak) rows.push({ tp: e[0], cells: [label(e[0]), f.leak[0], f.leak[1], f.leak[2]], ci: f.leak_ci });
    });
    rows.sort(function (a, b) { return b.cells[1] - a.cells[1]; });
    table("table-leaks", [[word("col_touchpoint"), "text", text],
      [word("col_flow"), "num", function (x, r) { return pct(x, 2) + (r.ci ? ci(r.ci, function (y) { return pct(y, 1); }) : ""); }],
      [word("col_share"), "num", function (x) { return pct(x); }],
      [word("col_exit_rate"), "num", function (x) { return pct(x); }]], rows);
  }
  function switchingTable() {
    var rows = [];
    stateFigures().forEach(function (e) {
      e[1].switching.forEach(function (x) {
        rows.push({ tp: e[0], cells: [label(e[0]), label(x[0]), x[1], x[2]], ci: x[3] });
      });
    });
    rows.sort(function (a, b) { return b.cells[2] - a.cells[2]; });
    table("table-switching", [[word("col_touchpoint"), "text", text], [word("col_competitor"), "text", text],
      [word("col_flow"), "num", function (x, r) { return pct(x, 2) + (r.ci ? ci(r.ci, function (y) { return pct(y, 1); }) : ""); }],
      [word("col_share"), "num", function (x) { return pct(x); }]], rows);
  }
  function removalTable() {
    var rows = [];
    stateFigures().forEach(function (e) {
      rows.push({ tp: e[0], cells: [label(e[0]), e[1].removal, e[1].gain], ci: e[1].removal_ci });
    });
    rows.sort(function (a, b) { return b.cells[1] - a.cells[1]; });
    table("table-removal", [[word("col_touchpoint"), "text", text],
      [word("col_removal"), "num", function (x, r) { return pct(x) + (r.ci ? ci(r.ci, pct) : ""); }],
      [word("sensitivity", { fraction: pct(D.fix_fraction, 0) }), "num", function (x) { return x === null ? "–" : pts(x); }]], rows);
  }
  function changesTable() {
    var a = D.figures[0], b = D.figures[1], rows = [];
    var mark = { added: "+ ", removed: "− ", changed: "~ " };
    D.nodes.forEach(function (n) {
      if (n.kind !== "touchpoint") return;
      var fa = a[n.id], fb = b[n.id];
      var la = fa ? (fa.leak ? fa.leak[0] : 0) : null, lb = fb ? (fb.leak ? fb.leak[0] : 0) : null;
      var ra = fa ? fa.removal : null, rb = fb ? fb.removal : null;
      rows.push({
        tp: n.id, status: n.status,
        pairs: [[la, lb], [ra, rb]],
        cells: [(mark[n.status] || "") + n.label,
          la !== null && lb !== null ? lb - la : null,
          ra !== null && rb !== null ? rb - ra : null]
      });
    });
    rows.sort(function (x, y) { return Math.abs(y.cells[1] || 0) - Math.abs(x.cells[1] || 0); });
    function change(k, digits) {
      return function (d, r) {
        var p = r.pairs[k];
        var text = (p[0] === null ? "–" : pct(p[0], digits)) + " → " + (p[1] === null ? "–" : pct(p[1], digits));
        return d === null ? text : text + " (" + pts(d) + ")";
      };
    }
    var t = table("table-changes", [[word("col_touchpoint"), "text", text],
      [word("leak"), "num", change(0, 2)], [word("removal"), "num", change(1, 1)]], rows);
    t.classList.add("changes");
  }

  // -- drop-off view -------------------------------------------------------------------
  function dropoffView() {
    var idx = isChange() ? [0, 1] : [figIndex()];
    body.appendChild(h("p", "hint", word("dropoff_intro")));
    idx.forEach(function (k) {
      var rows = D.dropoff[k];
      var wrap = h("div", "dropoff");
      wrap.id = "dropoff-" + k;
      if (isChange()) wrap.appendChild(h("h3", null, word("state_" + states[k])));
      var max = 1;
      rows.forEach(function (r) { max = Math.max(max, r.arrivals); });
      rows.forEach(function (r) {
        var st = h("div", "dropoff-stage");
        st.dataset.stage = r.stage;
        var stage = stageById[r.stage];
        st.appendChild(h("div", "dropoff-title", (stage ? stage.label : r.stage) + " · " +
          num(r.arrivals * 100, 1) + " " + word("arrive")));
        var bar = h("div", "dropoff-bar");
        var arrive = h("div", "bar-arrive");
        arrive.style.width = (100 * r.arrivals / max).toFixed(2) + "%";
        bar.appendChild(arrive);
        var leaving = h("div", "bar-leave");
        r.exits.forEach(function (e) {
          var seg = h("div", "seg " + (nodeById[e[0]] ? nodeById[e[0]].outcome_kind : ""));
          seg.style.width = (100 * e[1] / max).toFixed(2) + "%";
          seg.title = label(e[0]) + ": " + num(e[1] * 100, 1);
          leaving.appendChild(seg);
        });
        bar.appendChild(leaving);
        st.appendChild(bar);
        if (r.exits.length) {
          var total = r.exits.reduce(function (t, e) { return t + e[1]; }, 0);
          var parts = r.exits.map(function (e) { return num(e[1] * 100, 1) + " → " + label(e[0]); });
          st.appendChild(h("div", "dropoff-exits", num(total * 100, 1) + " " + word("leave") + ": " + parts.join(" · ")));
        }
        wrap.appendChild(st);
      });
      body.appendChild(wrap);
    });
  }

  // -- states (diff) -------------------------------------------------------------------
  function setState(i) {
    stateIndex = i;
    document.body.dataset.state = states[i];
    svg.dataset.state = states[i];
    Array.prototype.forEach.call(stateBox.querySelectorAll("button"), function (b, j) {
      b.classList.toggle("active", j === i);
      b.setAttribute("aria-selected", j === i ? "true" : "false");
    });
    D.nodes.forEach(function (n) {
      nodeEls[n.id].classList.toggle("ghost", !nodePresent(n.id));
    });
    restyleMoves();
    nodeSubText();
    headline();
    callouts();
    focus();
    showPanel();
  }

  setState(isDiff ? 2 : 0);
  fit();
  window.addEventListener("resize", fit);
  if (window.performance && performance.mark) performance.mark("jg-ready");
  document.body.dataset.ready = "true";
})();
