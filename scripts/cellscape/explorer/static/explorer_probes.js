// What each layer knows (#probes, cellscape.probes): the linear probes of probes.csv as a layers x
// features heat map, the input pixels first, the features grouped by the channel they measure.
// A cell's colour is the probe's selectivity (trained minus untrained network) on a diverging
// scale, a dot marks an interval above 0, its title gives every number. Clicking a feature (its
// name or one of its cells) colours every map by it through the colour menu; clicking a cell also
// shows its layer in the large view. Hidden in a build without probes.
"use strict";
(function () {
  const cs = window.cellscape, D = cs.data, colour = cs.colour, esc = cs.common.esc;
  const $ = id => document.getElementById(id);
  let app = null, P = null;

  const METRIC = {r2: "R\u00b2", balanced_accuracy: "balanced accuracy"};
  const num = v => (v === null || v === undefined ? "\u2013" : v.toFixed(2));
  const signed = v => (v === null || v === undefined ? "\u2013" : (v < 0 ? "\u2212" : "+") + Math.abs(v).toFixed(2));

  // The colour scale's end: the largest |selectivity|, between 0.1 and 1 (as Fig. 25).
  function scaleLimit(values) {
    let top = 0;
    for (const row of values) for (const v of row) if (v !== null) top = Math.max(top, Math.abs(v));
    return Math.max(0.1, Math.min(1, top));
  }

  // A cell's title: what the probe read of the feature in the layer, every number of probes.csv.
  function cellTitle(f, group, layer, r, c) {
    const V = P.values, n = P.n_cells[r][c], head = `${f.label} (${group}) in ${layer.label}`;
    if (P.skipped[r][c] || V.selectivity[r][c] === null)
      return `${head}: not probed${P.skipped[r][c] ? " (" + P.skipped[r][c] + ")" : ""}${n !== null ? `, ${n} cells` : ""}`;
    const metric = METRIC[f.metric] || f.metric;
    return `${head}\nselectivity ${signed(V.selectivity[r][c])} (interval ${signed(V.selectivity_low[r][c])} to ` +
      `${signed(V.selectivity_high[r][c])}): trained minus untrained network\n` +
      `trained network: ${metric} ${num(V.score[r][c])} (interval ${num(V.score_low[r][c])} to ${num(V.score_high[r][c])})\n` +
      `untrained network: ${metric} ${num(V.untrained[r][c])}\nshuffled targets: ${metric} ${num(V.shuffled[r][c])}\n` +
      `${n} cells${f.column ? "\nclick: colour the maps by it" : ""}`;
  }

  async function init(a) {
    app = a;
    const box = $("probes");
    P = await D.probes();
    if (!P) { box.hidden = true; return; }
    const limit = scaleLimit(P.values.selectivity);
    const groupOf = f => P.groups.find(g => g.name === f.group).label;
    const F = P.features.length, LABEL = 110;
    const width = Math.max(12, Math.min(36, Math.floor(($("maps").clientWidth - LABEL - 24) / Math.max(1, F))));
    let html = `<h3>What each layer knows</h3><p class="hint">How well a linear probe reads each cell feature from a ` +
      `layer (cross-validated), minus the same probe on the untrained network: what training taught the layer. ` +
      `Click a feature to colour the maps by it.</p>` +
      `<div class="probes-legend"><div class="probes-scale"><div class="legend-title">selectivity (R\u00b2 or balanced accuracy)</div>` +
      colour.divergingBar(limit) + `</div><span class="legend-item"><span class="probe-key skipped"></span>not probed</span>` +
      `<span class="legend-item"><span class="probe-key sig"></span>interval above 0</span></div>` +
      `<div class="probes-scroll"><table id="probes-table" style="width:${LABEL + F * width}px">` +
      `<colgroup><col style="width:${LABEL}px">${`<col style="width:${width}px">`.repeat(F)}</colgroup>` +
      `<thead><tr><th class="corner"></th>`;
    for (const g of P.groups)
      html += `<th class="group" colspan="${g.features}" data-group="${esc(g.name)}" title="${esc(g.label)}"><span>${esc(g.label)}</span></th>`;
    html += `</tr><tr><th class="corner">layer</th>`;
    P.features.forEach((f, c) => {
      const first = c === 0 || P.features[c - 1].group !== f.group;
      html += `<th class="feature${f.column ? " clickable" : ""}${first ? " group-start" : ""}" data-k="${c}" ` +
        `data-feature="${esc(f.name)}" title="${esc(f.label)} (${esc(groupOf(f))})${f.column ? ": click to colour the maps by it" : ": not a column of this page"}">` +
        `<span>${esc(f.label)}</span></th>`;
    });
    html += `</tr></thead><tbody>`;
    P.layers.forEach((layer, r) => {
      html += `<tr data-layer="${esc(layer.name)}"><th>${esc(layer.label)}</th>`;
      P.features.forEach((f, c) => {
        const v = P.values.selectivity[r][c], low = P.values.selectivity_low[r][c];
        const first = c === 0 || P.features[c - 1].group !== f.group;
        const classes = [v === null ? "skipped" : "", low !== null && low > 0 ? "sig" : "", first ? "group-start" : "",
                         f.column ? "clickable" : ""].filter(Boolean).join(" ");
        html += `<td class="${classes}" data-k="${c}" data-feature="${esc(f.name)}"` +
          `${v === null ? "" : ` style="background:${colour.divergingCss(v, limit)}"`} ` +
          `title="${esc(cellTitle(f, groupOf(f), layer, r, c))}"></td>`;
      });
      html += "</tr>";
    });
    box.innerHTML = html + "</tbody></table></div>";
    box.hidden = false;
    $("probes-table").onclick = e => {
      const cell = e.target.closest("[data-k]");
      const f = cell && P.features[+cell.dataset.k];
      if (!f || !f.column) return;
      app.colourBy(f.column);
      const layer = cell.tagName === "TD" ? cell.parentElement.dataset.layer : null;
      if (layer && D.layerNames.includes(layer) && layer !== app.st.layer) app.setLayer(layer, true).catch(console.error);
    };
    colourChanged(app.st.colourBy);
    layerChanged();
  }

  // The colour menu's choice: its feature's column is outlined.
  function colourChanged(choice) {
    if (!P) return;
    for (const cell of document.querySelectorAll("#probes-table [data-k]"))
      cell.classList.toggle("current", P.features[+cell.dataset.k].column === choice);
  }

  // The large view's layer: its row is marked.
  function layerChanged() {
    if (!P) return;
    for (const row of document.querySelectorAll("#probes-table tbody tr"))
      row.classList.toggle("current", row.dataset.layer === app.st.layer);
  }

  window.cellscape.probes = {init, colourChanged, layerChanged};
})();
