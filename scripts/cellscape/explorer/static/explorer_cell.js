// Explorer side panels for the tapped cell: its image, classes, probabilities and cell features
// (#cell-panel; clicking a feature colours the maps by it), its neighbours in every layer
// (#neighbour-table) and "why this cell" (#attribution).
"use strict";
(function () {
  const D = window.cellscape.data, colour = window.cellscape.colour, esc = window.cellscape.common.esc;
  const $ = id => document.getElementById(id);
  let app = null, jumpAt = 0, featuresOpen = true;

  function swatch(k) {
    const c = (D.meta.class_colours || [])[k] || colour.FALLBACK[k % 10];
    return `<span class="swatch" style="background:${c}"></span>`;
  }

  // The tapped cell's images (#cell-image, #attr-cell) again, e.g. after a channel was switched.
  function redrawImages() {
    for (const id of ["cell-image", "attr-cell"]) {
      const canvas = $(id);
      if (canvas) D.drawCell(canvas, +canvas.dataset.index);
    }
  }

  function show(i) {
    const panel = $("cell-panel");
    if (i < 0) {
      panel.innerHTML = `<h3>Cell</h3><p class="hint">Click a point in any map to pick a cell: its image, ` +
        `probabilities, its neighbours in every layer and why the network decided as it did.</p>`;
      $("neighbour-table").innerHTML = "";
      attribution(-1);
      return;
    }
    const cls = D.columns.class.data[i], pred = D.columns.predicted.data[i], cert = D.columns.certainty.data[i];
    const classes = D.meta.classes, S = window.cellscape.mapView.drawState;
    let probs = "";
    classes.forEach((c, k) => {
      const col = D.columns["p_" + c];
      const p = col ? col.data[i] : NaN;
      probs += `<tr><td>${swatch(k)}${esc(c)}</td><td class="barcell"><span class="pbar" style="width:${(100 * (p || 0)).toFixed(1)}%;background:${(D.meta.class_colours || [])[k] || colour.FALLBACK[k]}"></span></td><td>${isNaN(p) ? "–" : p.toFixed(3)}</td></tr>`;
    });
    const extra = [];
    for (const name of ["split", "mda_target"]) {
      const col = D.columns[name];
      if (!col) continue;
      extra.push(`${esc(col.label || name)}: ${col.kind === "category" ? esc(col.categories[col.data[i]]) : (+col.data[i]).toPrecision(3)}`);
    }
    panel.innerHTML = `<h3>Cell <span class="cell-id">${esc(D.ids[i])}</span> <span class="hint">#${i}</span></h3>` +
      `<div class="cell-row"><canvas id="cell-image" width="156" height="156" data-index="${i}"></canvas><div class="cell-facts">` +
      `<div>class: ${swatch(cls)}<b>${esc(classes[cls])}</b></div>` +
      `<div>predicted: ${swatch(pred)}<b>${esc(classes[pred])}</b>${S.mis[i] ? ' <span class="wrong">misclassified</span>' : ' <span class="ok">correct</span>'}</div>` +
      `<div>certainty: ${cert.toFixed(3)}</div>${extra.map(e => `<div>${e}</div>`).join("")}` +
      `<table class="probs">${probs}</table>` +
      `</div></div>` + featureList(i);
    const details = $("cell-features");
    if (details) {
      details.ontoggle = () => { featuresOpen = details.open; };
      for (const row of details.querySelectorAll("tr[data-column]")) row.onclick = () => app.colourBy(row.dataset.column);
    }
    D.drawCell($("cell-image"), i);
    $("neighbour-table").innerHTML = `<tr><td class="hint">loading every layer's neighbours…</td></tr>`;
    attribution(i);
  }

  // The cell's features (meta.features: the whole cell's, then each channel's), value and unit;
  // a row's title says how the feature is measured.
  function featureList(i) {
    const list = (D.meta.features || []).filter(f => D.columns[f.column]);
    if (!list.length) return "";
    let html = `<details id="cell-features"${featuresOpen ? " open" : ""}><summary>cell features (${list.length}) ` +
      `<span class="hint">click one to colour the maps by it</span></summary><table class="cell-features">`;
    let group = null;
    for (const f of list) {
      if (f.group !== group) {
        group = f.group;
        html += `<tr class="group"><th colspan="2">${esc(f.group_label || f.group)}</th></tr>`;
      }
      const v = D.columns[f.column].data[i];
      html += `<tr data-column="${esc(f.column)}" title="${esc(f.description)}"><td>${esc(f.label)}</td>` +
        `<td class="value">${v === v ? String(+v.toPrecision(4)) : "–"}${f.unit && v === v ? " " + esc(f.unit) : ""}</td></tr>`;
    }
    return html + "</table></details>";
  }

  // One row per layer: the share of the k neighbours with the tapped cell's class, and how many
  // of them were neighbours in the previous layer too ("kept").
  function neighbourTable(i) {
    const k = D.meta.k_neighbours, cls = D.columns.class.data, own = cls[i];
    let html = `<tr><th>layer</th><th>same class (of ${k})</th><th title="neighbours that were neighbours in the previous layer too">kept</th></tr>`;
    let prev = null;
    for (const layer of D.layerNames) {
      const nb = D.neighboursOf(layer, i);
      if (!nb) continue;
      let same = 0;
      for (const j of nb) if (cls[j] === own) same++;
      let kept = "–";
      if (prev) { let c = 0; for (const j of nb) if (prev.includes(j)) c++; kept = `${c}/${k}`; }
      const share = same / nb.length;
      html += `<tr data-layer="${esc(layer)}" class="${layer === app.st.layer ? "current" : ""}"><td>${esc(layer)}</td>` +
        `<td><span class="nbar"><span style="width:${(100 * share).toFixed(0)}%;background:${(D.meta.class_colours || [])[own] || "#888"}"></span></span> ${(100 * share).toFixed(0)}%</td><td>${kept}</td></tr>`;
      prev = nb;
    }
    const t = $("neighbour-table");
    t.innerHTML = html;
    for (const row of t.querySelectorAll("tr[data-layer]")) row.onclick = () => app.setLayer(row.dataset.layer, true);
  }

  function layerChanged() {
    for (const row of document.querySelectorAll("#neighbour-table tr[data-layer]"))
      row.classList.toggle("current", row.dataset.layer === app.st.layer);
    // the panel's Grad-CAM follows the large view's layer
    if (app.st.tapped >= 0 && $("attr-cell")) attribution(app.st.tapped);
  }

  // ---- why this cell ---------------------------------------------------------------------------
  function attributionCells(A) {
    const listed = D.meta.attribution && D.meta.attribution.cells;
    if (Array.isArray(listed)) return listed.slice();
    return A ? Object.keys(A.cells).map(Number).sort((a, b) => a - b) : [];
  }

  async function attribution(i) {
    const box = $("attribution");
    if (!D.meta.attribution) {
      box.innerHTML = `<h3>Why this cell</h3><p class="hint">This build has no attribution maps.</p>`;
      return;
    }
    if (i < 0) {
      box.innerHTML = `<h3>Why this cell</h3><p class="hint">Pick a cell to see the attribution maps that pass their checks ` +
        `and Grad-CAM at the large view's layer (when precomputed).</p>` + jumpButton(null);
      wireJump(null);
      return;
    }
    box.innerHTML = `<h3>Why this cell</h3><p class="hint">loading attribution…</p>`;
    const A = await D.attribution();
    if (app.st.tapped !== i) return;
    const entry = A && A.cells[String(i)];
    if (!entry) {
      const n = attributionCells(A).length;
      box.innerHTML = `<h3>Why this cell</h3><p class="hint">Attribution is precomputed for a capped set of ${n} cells ` +
        `(every misclassified cell first, then the most and least certain of each class; ` +
        `<code>explorer.attribution_cells</code>); this cell is not among them.</p>` + jumpButton(A);
      wireJump(A);
      return;
    }
    const methods = A.methods || D.meta.attribution.methods;
    const target = entry.target;
    const label = m => m.startsWith("gradcam_") ? `Grad-CAM ${m.slice(8)}` : m.replace(/_/g, " ");
    const figure = (src, alt, caption) => `<figure><img class="attr-map" src="${src}" width="104" height="104" ` +
      `alt="${esc(alt)}"><figcaption>${esc(caption)}</figcaption></figure>`;
    let html = `<h3>Why this cell</h3><p class="hint">maps explain ${target !== undefined ? `the class <b>${esc(D.meta.classes[target])}</b>` : "the prediction"}` +
      `${A.target_note ? "; " + esc(A.target_note) : "; brighter = more important"}.</p><div class="attr-row">` +
      `<figure><canvas id="attr-cell" width="104" height="104" data-index="${i}"></canvas><figcaption>cell</figcaption></figure>`;
    for (const m of methods) if (entry[m]) html += figure(entry[m], m, label(m));
    // Grad-CAM at the large view's layer, whatever its verdict (a dense layer: the deepest conv layer's)
    const camLayers = A.gradcam_layers || [];
    const layer = camLayers.includes(app.st.layer) ? app.st.layer : camLayers[camLayers.length - 1];
    const cam = entry.gradcam && layer !== undefined && entry.gradcam[layer];
    const shown = methods.filter(m => entry[m]);
    if (cam) {
      const note = layer === app.st.layer ? "" : " (deepest conv)";
      html += figure(cam, "gradcam_" + layer, label("gradcam_" + layer) + note);
      shown.push("gradcam_" + layer);
    }
    html += "</div>";
    const verdict = A.verdict || {};
    const hidden = Object.keys(verdict).filter(m => !m.startsWith("gradcam_") && !shown.includes(m));
    for (const m of shown.concat(hidden)) {
      const v = verdict[m];
      if (!v) continue;
      html += `<p class="verdict ${v.passes ? "passes" : "fails"}" data-method="${esc(m)}">` +
        `${hidden.includes(m) ? "(not shown) " : ""}` +
        (v.text ? esc(v.text) : `<b>${esc(label(m))}:</b> ${v.passes ? "passes" : "fails"} the attribution checks`) + "</p>";
    }
    box.innerHTML = html;
    D.drawCell($("attr-cell"), i);
  }

  function jumpButton(A) {
    if (A === null && !(D.meta.attribution && Array.isArray(D.meta.attribution.cells))) return "";
    return `<button id="attr-jump">jump to a misclassified cell with attribution</button>`;
  }

  function wireJump(A) {
    const b = $("attr-jump");
    if (!b) return;
    b.onclick = async () => {
      const cells = attributionCells(A || await D.attribution());
      if (!cells.length) return;
      const mis = cells.filter(c => window.cellscape.mapView.drawState.mis[c]);
      const pool = mis.length ? mis : cells;
      const i = pool[jumpAt++ % pool.length];
      app.tap(i);
    };
  }

  window.cellscape.cellPanel = {
    init(a) { app = a; show(-1); },
    show, neighbourTable, layerChanged, redrawImages,
  };
})();
