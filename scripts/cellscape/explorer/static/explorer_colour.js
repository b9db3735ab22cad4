// Explorer colours (cellscape.colour): the viridis lookup table, per-cell colour arrays for the colour menu, and the
// legend (swatches for categories, a colour bar with min and max for numbers); a diverging scale
// (matplotlib's RdBu_r: blue below 0, white at 0, red above) for signed numbers such as the probes'
// selectivity.
"use strict";
(function () {
  const esc = window.cellscape.common.esc;
  // viridis (matplotlib) anchors, interpolated linearly into a 256-entry table.
  const ANCHORS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
                   "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"];
  const hexRgb = h => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
  const VIRIDIS = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const f = i / 255 * (ANCHORS.length - 1), k = Math.min(ANCHORS.length - 2, Math.floor(f)), w = f - k;
    const a = hexRgb(ANCHORS[k]), b = hexRgb(ANCHORS[k + 1]);
    for (let c = 0; c < 3; c++) VIRIDIS[3 * i + c] = Math.round(a[c] + w * (b[c] - a[c]));
  }
  const pack = (r, g, b) => ((r << 16) | (g << 8) | b) >>> 0;
  const packHex = h => { const [r, g, b] = hexRgb(h); return pack(r, g, b); };
  const viridisCss = v => {
    const i = 3 * Math.max(0, Math.min(255, Math.round(v * 255)));
    return `rgb(${VIRIDIS[i]},${VIRIDIS[i + 1]},${VIRIDIS[i + 2]})`;
  };
  // RdBu_r (matplotlib): its eleven anchors, interpolated linearly as matplotlib does.
  const DIVERGING = ["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
                     "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"].map(hexRgb);
  // The CSS colour of v on the diverging scale from -limit (blue) through 0 (white) to +limit (red).
  function divergingCss(v, limit) {
    const t = Math.max(0, Math.min(1, (v / limit + 1) / 2)) * (DIVERGING.length - 1);
    const k = Math.min(DIVERGING.length - 2, Math.floor(t)), w = t - k, a = DIVERGING[k], b = DIVERGING[k + 1];
    return `rgb(${[0, 1, 2].map(c => Math.round(a[c] + w * (b[c] - a[c]))).join(",")})`;
  }
  // A colour bar of the diverging scale with -limit, 0 and +limit under it.
  function divergingBar(limit) {
    const stops = [];
    for (let k = 0; k <= 10; k++) stops.push(divergingCss((k / 5 - 1) * limit, limit));
    return `<div class="colourbar" style="background:linear-gradient(to right, ${stops.join(",")})"></div>` +
      `<div class="colourbar-labels"><span>−${fmt(limit)}</span><span>0</span><span>+${fmt(limit)}</span></div>`;
  }
  const FALLBACK = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                    "#7f7f7f", "#bcbd22", "#17becf"];

  const cache = new Map();

  // The column that colours `layer`'s map under the menu choice `choice`.
  function columnFor(D, choice, layer) {
    if (choice === "cluster") return D.columns["cluster_" + layer] || null;
    return D.columns[choice] || null;
  }

  // Uint32Array of packed 0xRRGGBB per cell (cached per column).
  function colours(D, choice, layer) {
    const col = columnFor(D, choice, layer);
    const key = col ? col.name : "none";
    if (cache.has(key)) return cache.get(key);
    const n = D.n, out = new Uint32Array(n);
    if (!col) out.fill(pack(150, 150, 150));
    else if (col.kind === "category") {
      const pal = col.categories.map((_, k) => packHex((col.colours || [])[k] || FALLBACK[k % FALLBACK.length]));
      for (let i = 0; i < n; i++) out[i] = pal[col.data[i]] ?? 0x999999;
    } else {
      const lo = col.min ?? 0, hi = col.max ?? 1, span = hi > lo ? hi - lo : 1;
      for (let i = 0; i < n; i++) {
        const v = col.data[i];
        if (!(v === v)) { out[i] = 0xbbbbbb; continue; }   // NaN: light grey
        const q = 3 * Math.max(0, Math.min(255, Math.round((v - lo) / span * 255)));
        out[i] = pack(VIRIDIS[q], VIRIDIS[q + 1], VIRIDIS[q + 2]);
      }
    }
    cache.set(key, out);
    return out;
  }

  const fmt = v => Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toPrecision(3) : (+v.toFixed(3)).toString();

  // Legend HTML for a menu choice (the current layer's column when colouring by cluster).
  function legend(D, choice, layer, markMisclassified) {
    const col = columnFor(D, choice, layer);
    if (!col) return `<div class="legend-title">${esc(choice)}</div><div class="hint">no column "${esc(choice)}" for ${esc(layer)}</div>`;
    let html = `<div class="legend-title">${esc(col.label || col.name)}</div>`;
    if (choice === "cluster")
      html += `<div class="hint">each map is coloured by its own layer's DBSCAN clusters; shown: ${esc(layer)}</div>`;
    if (col.kind === "category") {
      const counts = new Uint32Array(col.categories.length);
      for (let i = 0; i < D.n; i++) counts[col.data[i]]++;
      html += '<div class="legend-items">' + col.categories.map((name, k) =>
        `<span class="legend-item" data-category="${esc(name)}"><span class="swatch" style="background:${(col.colours || [])[k] || FALLBACK[k % FALLBACK.length]}"></span>${esc(name)} <span class="count">${counts[k]}</span></span>`).join("") + "</div>";
      if (markMisclassified && (choice === "class" || choice === "predicted"))
        html += '<div class="legend-items"><span class="legend-item wrap"><span class="swatch ring"></span>misclassified: dark outline, drawn on top (where points do not pile up: zoom in)</span></div>';
    } else {
      const stops = [];
      for (let k = 0; k <= 10; k++) stops.push(viridisCss(k / 10));
      html += `<div class="colourbar" style="background:linear-gradient(to right, ${stops.join(",")})"></div>` +
        `<div class="colourbar-labels"><span>${fmt(col.min ?? 0)}</span><span>${fmt(col.max ?? 1)}</span></div>`;
    }
    return html;
  }

  window.cellscape.colour = {VIRIDIS, viridisCss, colours, legend, FALLBACK, divergingCss, divergingBar};
})();
