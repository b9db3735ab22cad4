// The explorer's linked selection and tapped cell (cellscape.selection): the lasso's cells lit up
// in every map, their class mix (#selection-summary) and CSV download; the tapped cell ringed
// with its neighbours in every map, its panels filled.
"use strict";
(function () {
  const cs = window.cellscape, D = cs.data, colour = cs.colour, esc = cs.common.esc;
  const S = cs.mapView.drawState;
  const {st, allViews, layerOf} = cs.state;
  const $ = id => document.getElementById(id);

  // Select these cell indices (sorted) in every map.
  function setSelection(indices) {
    if (!S.inputAt) S.inputAt = performance.now();
    const sel = S.sel;
    sel.fill(0);
    for (const i of indices) sel[i] = 1;
    st.selection = indices instanceof Uint32Array ? indices : Uint32Array.from(indices);
    S.selCount = indices.length;
    for (const v of allViews()) v.redraw();
    showSummary();
    cs.ifealid.selectionChanged();
  }

  // #selection-summary: the selection's true x predicted class counts and a stacked class bar.
  function showSummary() {
    const box = $("selection-summary"), sel = st.selection, n = sel.length;
    const classes = D.meta.classes, colours = D.meta.class_colours || [];
    if (!n) {
      box.innerHTML = `<h3>Selection</h3><p class="hint">shift-drag in any map to lasso cells; the same cells light up in every map.</p>` +
        `<button id="save-selection" disabled>Save selection (CSV)</button>`;
      return;
    }
    const C = classes.length, m = new Uint32Array(C * C), cls = D.columns.class.data, pred = D.columns.predicted.data;
    for (const i of sel) m[cls[i] * C + pred[i]]++;
    const sw = k => `<span class="swatch" style="background:${colours[k] || colour.FALLBACK[k]}"></span>`;
    let t = `<table class="mix"><tr><th>true ↓ predicted →</th>${classes.map((c, k) => `<th>${sw(k)}${esc(c)}</th>`).join("")}</tr>`;
    classes.forEach((c, a) => {
      t += `<tr><th>${sw(a)}${esc(c)}</th>` + classes.map((_, b) =>
        `<td class="${a === b ? "ok" : "wrong"}">${m[a * C + b]}</td>`).join("") + "</tr>";
    });
    t += "</table>";
    let bar = '<div class="stackbar">';
    for (let a = 0; a < C; a++) {
      let cnt = 0;
      for (let b = 0; b < C; b++) cnt += m[a * C + b];
      if (cnt) bar += `<span style="width:${(100 * cnt / n).toFixed(2)}%;background:${colours[a] || colour.FALLBACK[a]}" title="${esc(classes[a])}: ${cnt}"></span>`;
    }
    bar += "</div>";
    let wrong = 0;
    for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) if (a !== b) wrong += m[a * C + b];
    box.innerHTML = `<h3>Selection <span class="count">${n.toLocaleString()} cells</span></h3>${bar}${t}` +
      `<p class="hint">${wrong} misclassified (${(100 * wrong / n).toFixed(1)}%)</p>` +
      `<button id="save-selection">Save selection (CSV)</button> <button id="clear-selection">Clear</button>`;
    $("save-selection").onclick = saveSelection;
    $("clear-selection").onclick = () => setSelection([]);
  }

  function saveSelection() {
    // RFC 4180: an id holding a comma, a double quote or a line break is quoted, quotes doubled
    const ids = D.ids, lines = ["id"], field = s => /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    for (const i of st.selection) lines.push(field(ids[i]));
    const blob = new Blob([lines.join("\n") + "\n"], {type: "text/csv"});
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "selection.csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // Ring the tapped cell and its neighbours (of each view's layer) in every view.
  function setRings() {
    const i = st.tapped;
    for (const v of allViews()) {
      v.rings = i >= 0 ? {tapped: i, neighbours: D.neighboursOf(layerOf(v), i)} : null;
      v.redrawOverlay();
    }
  }

  // Tap cell i (null or negative: none); resolves once its panels are filled.
  async function tap(i) {
    i = i === null || i === undefined || i < 0 ? -1 : i;
    st.tapped = i;
    setRings();
    cs.cellPanel.show(i);
    if (i < 0) { cs.ifealid.update(); return; }
    await Promise.all(D.layerNames.map(l => D.neighbours(l)));
    if (st.tapped !== i) return;
    setRings();
    cs.cellPanel.neighbourTable(i);
    await cs.ifealid.update();
  }

  window.cellscape.selection = {setSelection, showSummary, setRings, tap};
})();
