// Explorer IFeaLiD panel (cellscape.ifealid, #ifealid): feature localisation between the tapped cell A and up to 8
// other cells with stored feature maps. Hovering a position of A takes A's K-vector there and
// colours every position of every shown cell by s = 1 - acos(cos) / (pi / 2) (0 where a vector
// is zero), with one min-max stretch shared by all shown cells, in viridis over the cell image.
"use strict";
(function () {
  const D = window.cellscape.data, colour = window.cellscape.colour, common = window.cellscape.common, esc = common.esc;
  const $ = id => document.getElementById(id);
  const MAX_OTHERS = 8, SIZE = 112;
  let app = null, shown = [], last = null, version = 0;
  const vectors = new Map();   // "<layer>/<cell>" -> {v: Float32Array (H*W*K), norm: Float32Array (H*W)}

  function layerMeta(name) { return D.meta.ifealid.layers.find(l => l.name === name); }

  // Position of cell i among the stored cells, or -1 (binary search; the list is sorted).
  function storedPos(i) {
    const cells = D.meta.ifealid.cells;
    let lo = 0, hi = cells.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cells[mid] === i) return mid;
      if (cells[mid] < i) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }

  async function vectorsOf(layer, i) {
    const key = layer + "/" + i;
    if (vectors.has(key)) return vectors.get(key);
    const p = storedPos(i), per = D.meta.ifealid.tile_cells || 64, t = Math.floor(p / per);
    const tile = await D.ifealidTile(layer, t);
    let row = tile.cells.indexOf(i);
    if (row < 0) row = p % per;
    const L = layerMeta(layer), H = L.height, W = L.width, K = L.components, m = H * W;
    const codes = tile.data.subarray(row * m * K, (row + 1) * m * K);
    const v = new Float32Array(m * K), norm = new Float32Array(m);
    const low = L.low, step = L.high.map((h, k) => (h - low[k]) / 255);
    for (let q = 0; q < m; q++) {
      let s = 0;
      for (let k = 0; k < K; k++) { const x = low[k] + codes[q * K + k] * step[k]; v[q * K + k] = x; s += x * x; }
      norm[q] = Math.sqrt(s);
    }
    const out = {v, norm, H, W, K};
    vectors.set(key, out);
    if (vectors.size > 400) vectors.delete(vectors.keys().next().value);
    return out;
  }

  function init(a) {
    app = a;
    const box = $("ifealid");
    if (!D.meta.ifealid || !D.meta.ifealid.layers.length) {
      box.innerHTML = `<h3>Feature localisation (IFeaLiD)</h3><p class="hint">This build has no stored feature maps.</p>`;
      return;
    }
    box.innerHTML = `<h3>Feature localisation (IFeaLiD)</h3>` +
      `<div class="ifealid-controls"><label>layer <select id="ifealid-layer"></select></label>` +
      `<label>compare A with <select id="ifealid-others">` +
      `<option value="neighbours">A's neighbours in this layer</option>` +
      `<option value="selection">the selection (first cells)</option>` +
      `<option value="stored">nearest cells with maps (this layer's map)</option></select></label></div>` +
      `<p id="ifealid-note" class="hint"></p><div id="ifealid-cells"></div><div id="ifealid-scale"></div>`;
    const label = name => (D.meta.layers.find(l => l.name === name) || {}).label || name;
    for (const L of D.meta.ifealid.layers)
      common.option($("ifealid-layer"), L.name, `${label(L.name)} (${L.height}×${L.width}, K=${L.components}${L.energy !== undefined ? `, ${Math.round(100 * L.energy)}% energy` : ""})`);
    $("ifealid-layer").onchange = update;
    $("ifealid-others").onchange = update;
    update();
  }

  function candidates(A, layer) {
    const src = $("ifealid-others").value, out = [];
    const push = j => { if (j !== A && out.length < MAX_OTHERS && storedPos(j) >= 0 && !out.includes(j)) out.push(j); };
    if (src === "neighbours") {
      const nb = D.neighboursOf(layer, A);
      if (nb) for (const j of nb) push(j);
    } else if (src === "selection") {
      for (const j of app.st.selection) { push(j); if (out.length >= MAX_OTHERS) break; }
    } else {
      const map = app.pos(layer), cells = D.meta.ifealid.cells;
      if (map) {
        const ax = map.x[A], ay = map.y[A];
        const order = cells.filter(j => j !== A).map(j => [(map.x[j] - ax) ** 2 + (map.y[j] - ay) ** 2, j]).sort((p, q) => p[0] - q[0]);
        for (const [, j] of order.slice(0, MAX_OTHERS)) push(j);
      }
    }
    return out;
  }

  async function update() {
    if (!D.meta.ifealid || !$("ifealid-layer")) return;
    const my = ++version;
    const A = app.st.tapped, layer = $("ifealid-layer").value, note = $("ifealid-note"), grid = $("ifealid-cells");
    last = null;
    $("ifealid-scale").innerHTML = "";
    const nStored = D.meta.ifealid.cells.length;
    if (A < 0) {
      note.textContent = `Pick a cell (A) with stored feature maps, then move the pointer over A's image. ` +
        `Maps are stored for ${nStored} cells (capped by explorer.ifealid_cells).`;
      grid.innerHTML = "";
      shown = [];
      return;
    }
    if (storedPos(A) < 0) {
      note.innerHTML = `This cell has no stored feature maps: they are stored for ${nStored} of ${D.n.toLocaleString()} cells ` +
        `(the cap <code>explorer.ifealid_cells</code>). <button id="ifealid-jump">jump to the nearest cell with maps</button>`;
      grid.innerHTML = "";
      shown = [];
      $("ifealid-jump").onclick = () => {
        const map = app.pos(app.st.layer), cells = D.meta.ifealid.cells;
        let best = cells[0], bd = Infinity;
        for (const j of cells) { const d = (map.x[j] - map.x[A]) ** 2 + (map.y[j] - map.y[A]) ** 2; if (d < bd) { bd = d; best = j; } }
        app.tap(best);
      };
      return;
    }
    const others = candidates(A, layer);
    const src = $("ifealid-others").value;
    note.textContent = `A = ${D.ids[A]}; ${others.length} other cell${others.length === 1 ? "" : "s"} with stored maps ` +
      (src === "neighbours" ? `among A's ${D.meta.k_neighbours} neighbours in ${layer}` : src === "selection" ? "from the selection" : `nearest to A in ${layer}'s map`) +
      `. Move the pointer over A.`;
    const cells = [A, ...others];
    grid.innerHTML = cells.map((i, k) => `<figure><canvas class="ifealid-cell${k === 0 ? " reference" : ""}" data-index="${i}" width="${SIZE}" height="${SIZE}"></canvas>` +
      `<figcaption>${k === 0 ? "<b>A</b> " : ""}${esc(D.ids[i])}<br>${classLabel(i)}</figcaption></figure>`).join("");
    const vecs = await Promise.all(cells.map(i => vectorsOf(layer, i)));
    const images = await Promise.all(cells.map(i => D.thumbnail(i, true)));
    if (my !== version) return;
    shown = cells.map((i, k) => ({i, vec: vecs[k], img: images[k], canvas: grid.querySelector(`canvas[data-index="${i}"]`),
                                  raw: new Float32Array(vecs[k].H * vecs[k].W)}));
    for (const s of shown) paint(s, null, 0, 1);
    const ref = shown[0].canvas;
    ref.onpointermove = e => {
      const r = ref.getBoundingClientRect(), v = shown[0].vec;
      const col = Math.min(v.W - 1, Math.max(0, Math.floor((e.clientX - r.left) / r.width * v.W)));
      const row = Math.min(v.H - 1, Math.max(0, Math.floor((e.clientY - r.top) / r.height * v.H)));
      similarity(row, col);
    };
  }

  function classLabel(i) {
    const k = D.columns.class.data[i], p = D.columns.predicted.data[i];
    const c = (D.meta.class_colours || [])[k] || colour.FALLBACK[k];
    return `<span class="swatch" style="background:${c}"></span>${esc(D.meta.classes[k])}${p !== k ? ' <span class="wrong">→ ' + esc(D.meta.classes[p]) + "</span>" : ""}`;
  }

  function similarity(row, col) {
    const A = shown[0].vec, K = A.K, q0 = row * A.W + col, ref = A.v.subarray(q0 * K, q0 * K + K), rn = A.norm[q0];
    let low = Infinity, high = -Infinity;
    for (const s of shown) {
      const v = s.vec.v, norm = s.vec.norm, raw = s.raw, m = raw.length;
      for (let q = 0; q < m; q++) {
        let val = 0;
        if (rn > 0 && norm[q] > 0) {
          let dot = 0;
          for (let k = 0; k < K; k++) dot += ref[k] * v[q * K + k];
          const c = Math.max(-1, Math.min(1, dot / (rn * norm[q])));
          val = 1 - Math.acos(c) / (Math.PI / 2);
        }
        raw[q] = val;
        if (val < low) low = val;
        if (val > high) high = val;
      }
    }
    last = {cells: shown.map(s => s.i), raw: shown.map(s => s.raw.slice()), low, high, position: [row, col]};
    for (const s of shown) paint(s, s.raw, low, high);
    const ctx = shown[0].canvas.getContext("2d"), cell = SIZE / A.W;
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
    ctx.strokeRect(col * cell, row * (SIZE / A.H), cell, SIZE / A.H);
    const stops = [];
    for (let k = 0; k <= 10; k++) stops.push(colour.viridisCss(k / 10));
    $("ifealid-scale").innerHTML = `<div class="colourbar" style="background:linear-gradient(to right, ${stops.join(",")})"></div>` +
      `<div class="colourbar-labels"><span>${low.toFixed(2)}</span><span>similarity to A at (${row}, ${col})</span><span>${high.toFixed(2)}</span></div>`;
  }

  const heat = document.createElement("canvas");
  function paint(s, raw, low, high) {
    const ctx = s.canvas.getContext("2d");
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, SIZE, SIZE);
    if (s.img) { ctx.imageSmoothingEnabled = false; ctx.drawImage(s.img, 0, 0, SIZE, SIZE); }
    if (!raw) return;
    const H = s.vec.H, W = s.vec.W;
    heat.width = W; heat.height = H;
    const hctx = heat.getContext("2d"), img = hctx.createImageData(W, H), d = img.data, span = high > low ? high - low : 1;
    const V = colour.VIRIDIS;
    for (let q = 0; q < H * W; q++) {
      const t = 3 * Math.max(0, Math.min(255, Math.round((raw[q] - low) / span * 255)));
      d[4 * q] = V[t]; d[4 * q + 1] = V[t + 1]; d[4 * q + 2] = V[t + 2]; d[4 * q + 3] = 170;
    }
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heat, 0, 0, SIZE, SIZE);
  }

  // The shown cells' images again (a channel was switched), under the last similarity maps.
  async function redrawImages() {
    const my = version, images = await Promise.all(shown.map(s => D.thumbnail(s.i, true)));
    if (my !== version) return;
    shown.forEach((s, k) => { s.img = images[k]; });
    if (last) similarity(last.position[0], last.position[1]);
    else for (const s of shown) paint(s, null, 0, 1);
  }

  window.cellscape.ifealid = {
    init, update, redrawImages,
    selectionChanged() { if ($("ifealid-others") && $("ifealid-others").value === "selection") update(); },
    last: () => last,
  };
})();
