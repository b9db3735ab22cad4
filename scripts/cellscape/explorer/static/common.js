// Shared helpers for the explorer pages: loading per-layer data, drawing cells and charts.
"use strict";
window.CELLSCAPE = window.CELLSCAPE || {};

const cs = {
  // Load a data_*.js file with a <script> tag (fetch() of file:// URLs is blocked).
  loadScript(src) {
    return new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = () => resolve();
      tag.onerror = () => reject(new Error("cannot load " + src));
      document.head.appendChild(tag);
    });
  },

  loadImage(uri) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error("cannot decode image"));
      img.src = uri;
    });
  },

  // Draw cell i of the cells sprite sheet into a canvas context at (x, y, w, h).
  drawCell(ctx, sheet, sprite, i, x, y, w, h) {
    const s = sprite.size, col = i % sprite.columns, row = Math.floor(i / sprite.columns);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(sheet, col * s, row * s, s, s, x, y, w, h);
  },

  // Pie chart of counts (one per class) with a text legend; an empty selection draws a ring.
  drawPie(canvas, legend, counts, names, colours, title) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, r = Math.min(w, h) / 2 - 4;
    ctx.clearRect(0, 0, w, h);
    const total = counts.reduce((a, b) => a + b, 0);
    let angle = -Math.PI / 2;
    if (total === 0) {
      ctx.strokeStyle = "#bbb";
      ctx.beginPath(); ctx.arc(w / 2, h / 2, r, 0, 2 * Math.PI); ctx.stroke();
    }
    counts.forEach((count, k) => {
      if (!count) return;
      const sweep = 2 * Math.PI * count / total;
      ctx.fillStyle = colours[k];
      ctx.beginPath(); ctx.moveTo(w / 2, h / 2);
      ctx.arc(w / 2, h / 2, r, angle, angle + sweep); ctx.closePath(); ctx.fill();
      angle += sweep;
    });
    legend.innerHTML = "<b>" + title + "</b> (" + total + ")<br>" + counts.map((count, k) =>
      `<span data-class="${names[k]}" data-count="${count}"><span class="swatch" style="background:${colours[k]}"></span>` +
      `${names[k]}: ${count}${total ? " (" + Math.round(100 * count / total) + "%)" : ""}</span>`).join("<br>");
  },

  // Bar chart of one or two vectors (hovered and pinned channel vectors) on a shared scale.
  drawBars(canvas, series, colours, labels) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 28;
    ctx.clearRect(0, 0, w, h);
    const present = series.filter(Boolean);
    let peak = 1e-12;
    present.forEach(v => { for (let i = 0; i < v.length; i++) peak = Math.max(peak, v[i]); });
    ctx.strokeStyle = "#999"; ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
    ctx.beginPath(); ctx.moveTo(pad, 4); ctx.lineTo(pad, h - 18); ctx.lineTo(w - 4, h - 18); ctx.stroke();
    ctx.fillText(peak.toPrecision(2), 0, 12); ctx.fillText("0", pad - 10, h - 18);
    ctx.fillText("channel", w / 2 - 20, h - 4);
    const n = present.length ? present[0].length : 0;
    const slot = (w - pad - 6) / Math.max(1, n), bar = slot / Math.max(1, series.length);
    series.forEach((v, s) => {
      if (!v) return;
      ctx.fillStyle = colours[s];
      for (let i = 0; i < v.length; i++) {
        const bh = (h - 24) * v[i] / peak;
        ctx.fillRect(pad + 1 + i * slot + s * bar, h - 18 - bh, Math.max(1, bar - 0.3), bh);
      }
    });
    labels.forEach((label, s) => {
      ctx.fillStyle = colours[s]; ctx.fillRect(w - 120, 6 + 14 * s, 10, 10);
      ctx.fillStyle = "#333"; ctx.fillText(label, w - 106, 15 + 14 * s);
    });
  },

  option(select, value, text, disabled) {
    const opt = document.createElement("option");
    opt.value = value; opt.textContent = text; opt.disabled = !!disabled;
    select.appendChild(opt);
    return opt;
  },
};
window.cs = cs;
