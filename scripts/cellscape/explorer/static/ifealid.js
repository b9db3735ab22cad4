// IFeaLiD: similarity of the hovered feature vector to every position, computed per frame.
"use strict";
(function () {
  const I = CELLSCAPE.ifealid;
  CELLSCAPE.ifealidLayers = CELLSCAPE.ifealidLayers || {};
  const $ = id => document.getElementById(id);
  const base = $("cell-canvas"), heat = $("heat"), marks = $("marks");
  const D = base.width;
  const state = { cell: 0, layer: I.layers.length ? I.layers[0].name : null, hovered: null, pinned: null,
                  map: null, sim: null, lastMs: 0 };
  const cache = {};
  const cellImages = [];
  const small = document.createElement("canvas");
  const HALF_PI = Math.PI / 2;

  // Decode one cell's uint8 map, dequantise with the layer's global min/max, precompute norms.
  function featureMap(layer, cell) {
    const key = layer + "/" + cell;
    if (cache[key]) return cache[key];
    const L = CELLSCAPE.ifealidLayers[layer];
    const bytes = atob(L.maps[cell]), n = L.height * L.width, c = L.channels;
    const feats = new Float32Array(n * c), norms = new Float32Array(n);
    const scale = (L.max - L.min) / 255;
    for (let i = 0; i < bytes.length; i++) feats[i] = L.min + bytes.charCodeAt(i) * scale;
    for (let p = 0; p < n; p++) {
      let s = 0;
      for (let k = p * c, end = k + c; k < end; k++) s += feats[k] * feats[k];
      norms[p] = Math.sqrt(s);
    }
    const map = { layer, cell, h: L.height, w: L.width, c, feats, norms, sim: new Float32Array(n),
                  image: new ImageData(L.width, L.height) };
    cache[key] = map;
    return map;
  }

  // s_i = 1 - arccos(cos t_i) / (pi/2) against position p; zero vectors get 0.
  function similarity(map, p) {
    const { feats, norms, sim, c } = map, n = map.h * map.w, np = norms[p], off = p * c;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const d = norms[i] * np;
      let s = 0;
      if (d > 0) {
        let dot = 0;
        for (let k = 0, j = i * c; k < c; k++, j++) dot += feats[j] * feats[off + k];
        let cos = dot / d;
        cos = cos > 1 ? 1 : cos < -1 ? -1 : cos;
        s = 1 - Math.acos(cos) / HALF_PI;
      }
      sim[i] = s;
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    return [lo, hi];
  }

  function drawHeat(map, lo, hi) {
    const px = map.image.data, lut = I.viridis, span = hi - lo;
    for (let i = 0, n = map.h * map.w; i < n; i++) {
      const v = span > 0 ? Math.round(255 * (map.sim[i] - lo) / span) : 0;
      px[4 * i] = lut[3 * v]; px[4 * i + 1] = lut[3 * v + 1]; px[4 * i + 2] = lut[3 * v + 2]; px[4 * i + 3] = 255;
    }
    small.width = map.w; small.height = map.h;
    small.getContext("2d").putImageData(map.image, 0, 0);
    const ctx = heat.getContext("2d");
    ctx.imageSmoothingEnabled = true;  // upscale the feature map to the image
    ctx.drawImage(small, 0, 0, D, D);
  }

  // One frame: similarity map for position (x, y) of the current map, drawn on the overlay.
  function frame(x, y) {
    const map = state.map, t0 = performance.now();
    const p = y * map.w + x;
    const [lo, hi] = similarity(map, p);
    drawHeat(map, lo, hi);
    state.sim = map.sim; state.lo = lo; state.hi = hi; state.position = p;
    state.lastMs = performance.now() - t0;
    return state.lastMs;
  }

  function vector(pos) {
    if (!pos) return null;
    const m = state.map, off = (pos[1] * m.w + pos[0]) * m.c;
    return m.feats.subarray(off, off + m.c);
  }

  function drawMarks() {
    const ctx = marks.getContext("2d"), m = state.map;
    ctx.clearRect(0, 0, D, D);
    if (!m) return;
    const cellSize = D / m.w;
    const mark = (pos, colour) => {
      if (!pos) return;
      ctx.strokeStyle = colour; ctx.lineWidth = 2;
      ctx.strokeRect(pos[0] * cellSize, pos[1] * cellSize, Math.max(cellSize, 3), Math.max(cellSize, 3));
    };
    mark(state.pinned, "#ff4081"); mark(state.hovered, "#ffffff");
  }

  function describe() {
    const m = state.map, h = state.hovered;
    $("hover-info").textContent = h ? `${m.layer} position (x ${h[0]}, y ${h[1]}) of ${m.w}x${m.h}; ` +
      `similarity here ${state.sim[h[1] * m.w + h[0]].toFixed(3)}; raw range ${state.lo.toFixed(3)}..${state.hi.toFixed(3)}` +
      `; |f| = ${m.norms[h[1] * m.w + h[0]].toFixed(3)}` +
      (m.norms[h[1] * m.w + h[0]] > 0 ? "" : " (zero feature vector: similarity undefined, shown as 0)")
      : "Move the pointer over the cell.";
    $("pinned-info").textContent = state.pinned ? `pinned: (x ${state.pinned[0]}, y ${state.pinned[1]})` +
      (h ? `, its similarity to the hovered position ${state.sim[state.pinned[1] * m.w + state.pinned[0]].toFixed(3)}` : "")
      : "Click the image to pin a position.";
    cs.drawBars($("bars"), [vector(h), vector(state.pinned)], ["#1976d2", "#ff4081"],
      ["hovered", "pinned"]);
  }

  function show() {
    const ref = state.hovered || state.pinned;
    if (ref) frame(ref[0], ref[1]);
    else heat.getContext("2d").clearRect(0, 0, D, D);
    drawMarks(); describe();
  }

  function featurePosition(ev) {
    const r = marks.getBoundingClientRect(), m = state.map;
    const x = Math.floor((ev.clientX - r.left) / r.width * m.w), y = Math.floor((ev.clientY - r.top) / r.height * m.h);
    return [Math.min(m.w - 1, Math.max(0, x)), Math.min(m.h - 1, Math.max(0, y))];
  }

  marks.addEventListener("mousemove", ev => {
    if (!state.map) return;
    const pos = featurePosition(ev);
    if (state.hovered && pos[0] === state.hovered[0] && pos[1] === state.hovered[1]) return;
    state.hovered = pos; show();
  });
  marks.addEventListener("mouseleave", () => { state.hovered = null; if (state.map) show(); });
  marks.addEventListener("click", ev => { if (state.map) { state.pinned = featurePosition(ev); show(); } });

  function drawCell() {
    const ctx = base.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cellImages[state.cell], 0, 0, D, D);
  }

  async function select() {
    const layer = state.layer;
    if (!CELLSCAPE.ifealidLayers[layer]) await cs.loadScript(`data_ifealid_${layer}.js`);
    state.map = featureMap(layer, state.cell);
    const m = state.map;
    $("layer-info").textContent = `${layer}: ${m.w}x${m.h} positions x ${m.c} channels`;
    state.hovered = null; state.pinned = null;
    drawCell(); show();
    document.body.dataset.layer = layer;
  }

  function drawColourbar() {
    const cb = $("colourbar"), ctx = cb.getContext("2d"), top = 14, h = cb.height - 40;
    for (let y = 0; y < h; y++) {
      const v = Math.round(255 * (1 - y / (h - 1)));
      ctx.fillStyle = `rgb(${I.viridis[3 * v]},${I.viridis[3 * v + 1]},${I.viridis[3 * v + 2]})`;
      ctx.fillRect(0, top + y, 18, 1);
    }
    ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
    ctx.fillText("1 max", 22, top + 8); ctx.fillText("0 min", 22, top + h);
    ctx.save(); ctx.translate(62, top + h / 2 + 60); ctx.rotate(-Math.PI / 2);
    ctx.fillText("similarity (stretched)", 0, 0); ctx.restore();
  }

  async function init() {
    if (!I.layers.length) { $("hover-info").textContent = "No feature maps in this build."; document.body.dataset.ready = "1"; return; }
    I.cells.forEach((c, i) => cs.option($("cell"), i, c.id));
    I.layers.forEach(l => cs.option($("layer"), l.name, `${l.name} (${l.width}x${l.height}x${l.channels})`));
    for (const c of I.cells) cellImages.push(await cs.loadImage(c.image));
    $("cell").addEventListener("change", ev => { state.cell = Number(ev.target.value); select(); });
    $("layer").addEventListener("change", ev => { state.layer = ev.target.value; select(); });
    $("opacity").addEventListener("input", ev => { heat.style.opacity = ev.target.value / 100; });
    drawColourbar();
    await select();
    document.body.dataset.ready = "1";
  }

  // Hooks for tests and the benchmark.
  window.ifealid = { state, frame, featureMap, select, similarity };
  init().catch(err => { document.body.dataset.error = String(err); throw err; });
})();
