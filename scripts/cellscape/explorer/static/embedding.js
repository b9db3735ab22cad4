// Embedding explorer: one canvas of points, redrawn from `state` on every change.
"use strict";
(function () {
  const C = CELLSCAPE.cells, E = CELLSCAPE.embedding;
  const n = C.ids.length, K = C.classes.length;
  const canvas = document.getElementById("plot"), ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, M = 28, ML = 44;  // ML: left margin for the y axis
  const $ = id => document.getElementById(id);
  const state = {
    layer: E.layers[E.layers.length - 1], method: E.methods[0], colourBy: "label", sizeBy: "certainty",
    misclassified: false, grid: 0, boundary: true, mode: "box",
    hovered: -1, pinned: -1, selected: new Uint8Array(n), nSelected: 0, drag: null,
  };
  const sx = new Float32Array(n), sy = new Float32Array(n), radius = new Float32Array(n);
  const boundaryImages = {};
  let sheet = null;

  const view = () => E.views[state.layer + "/" + state.method];
  const wrong = i => C.label[i] !== C.predicted[i];

  function positions() {
    const v = view(), t = state.grid / 100;
    for (let i = 0; i < n; i++) {
      if (!v || v.x[i] === null) { sx[i] = NaN; sy[i] = NaN; continue; }
      const u = (1 - t) * v.x[i] + t * v.gx[i], w = (1 - t) * v.y[i] + t * v.gy[i];
      sx[i] = ML + u * (W - ML - M);
      sy[i] = H - M - w * (H - 2 * M);
      let sure = (C.certainty[i] - 1 / K) / (1 - 1 / K);
      sure = Math.min(1, Math.max(0, sure));
      radius[i] = 1.5 + 5 * (state.sizeBy === "certainty" ? sure : 1 - sure);
    }
  }

  function drawAxes() {
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(ML, M, W - ML - M, H - 2 * M);
    ctx.fillStyle = "#555"; ctx.font = "11px sans-serif";
    [0, 0.5, 1].forEach(f => {
      ctx.fillText(f.toFixed(1), ML + f * (W - ML - M) - 8, H - M + 13);
      ctx.fillText(f.toFixed(1), ML - 22, H - M - f * (H - 2 * M) + 4);
    });
    const t = state.grid;
    ctx.fillText(t === 0 ? `${state.method} 1` : t === 100 ? "grid column" : `${state.method} 1 / grid column`, W / 2 - 30, H - 4);
    ctx.save(); ctx.translate(12, H / 2 + 30); ctx.rotate(-Math.PI / 2);
    ctx.fillText(t === 0 ? `${state.method} 2` : "grid row", 0, 0); ctx.restore();
    ctx.fillText(`${state.layer} / ${state.method}`, ML, M - 8);
  }

  function ring(i, colour, width, extra) {
    ctx.strokeStyle = colour; ctx.lineWidth = width;
    ctx.beginPath(); ctx.arc(sx[i], sy[i], radius[i] + extra, 0, 2 * Math.PI); ctx.stroke();
  }

  function draw() {
    positions();
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    const img = boundaryImages[state.layer + "/" + state.method];
    if (state.boundary && img && state.grid < 100) {
      ctx.globalAlpha = 1 - state.grid / 100;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(img, ML, M, W - ML - M, H - 2 * M);
      ctx.globalAlpha = 1;
    }
    drawAxes();
    const colours = state.colourBy === "label" ? C.label : C.predicted;
    const order = [];
    for (let i = 0; i < n; i++) if (!isNaN(sx[i])) order.push(i);
    if (state.misclassified) order.sort((a, b) => wrong(a) - wrong(b));
    for (const i of order) {
      ctx.globalAlpha = state.misclassified && !wrong(i) ? 0.25 : 0.85;
      ctx.fillStyle = C.colours[colours[i]];
      ctx.beginPath(); ctx.arc(sx[i], sy[i], radius[i], 0, 2 * Math.PI); ctx.fill();
    }
    ctx.globalAlpha = 1;
    for (const i of order) {
      if (state.misclassified && wrong(i)) ring(i, "#000", 1.5, 1);
      if (state.selected[i]) ring(i, "#ff9800", 1.5, 2.5);
    }
    if (state.pinned >= 0 && !isNaN(sx[state.pinned])) ring(state.pinned, "#e91e63", 2.5, 4);
    if (state.hovered >= 0 && !isNaN(sx[state.hovered])) ring(state.hovered, "#222", 1.5, 4);
    if (!view()) { ctx.fillStyle = "#900"; ctx.fillText("no embedding for this layer and method", W / 2 - 100, H / 2); }
    const d = state.drag;
    if (d && d.moved) {
      ctx.strokeStyle = "#ff9800"; ctx.lineWidth = 1.5; ctx.setLineDash([5, 3]);
      ctx.beginPath();
      if (state.mode === "box") ctx.rect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
      else { ctx.moveTo(d.path[0][0], d.path[0][1]); d.path.forEach(p => ctx.lineTo(p[0], p[1])); ctx.closePath(); }
      ctx.stroke(); ctx.setLineDash([]);
    }
  }

  function nearest(x, y) {
    let best = -1, bestD = Infinity;
    for (let i = 0; i < n; i++) {
      if (isNaN(sx[i])) continue;
      const d = Math.hypot(sx[i] - x, sy[i] - y);
      if (d < bestD && d <= Math.max(6, radius[i] + 3)) { best = i; bestD = d; }
    }
    return best;
  }

  function showCell() {
    const i = state.hovered >= 0 ? state.hovered : state.pinned;
    const img = $("cell-image"), c2 = img.getContext("2d");
    c2.fillStyle = "#000"; c2.fillRect(0, 0, img.width, img.height);
    if (i < 0) { $("cell-text").textContent = "Hover a point."; img.dataset.cell = ""; return; }
    if (sheet) cs.drawCell(c2, sheet, C.sprite, i, 0, 0, img.width, img.height);
    img.dataset.cell = C.ids[i];
    const rows = C.classes.map((name, k) =>
      `<tr><td><span class="swatch" style="background:${C.colours[k]}"></span>${name}</td>` +
      `<td>${C.proba[k][i].toFixed(3)}</td><td><span class="bar" style="width:${Math.round(80 * C.proba[k][i])}px;background:${C.colours[k]}"></span></td></tr>`).join("");
    $("cell-text").innerHTML = `<b id="cell-id">${C.ids[i]}</b>${i === state.pinned ? " (pinned)" : ""}<br>` +
      `true: ${C.classes[C.label[i]]}, predicted: ${C.classes[C.predicted[i]]}` +
      `${wrong(i) ? ' <b style="color:#d62728">misclassified</b>' : ""}<br>` +
      `<table class="probs">${rows}</table><span class="hint">red: cytoplasm, green: nucleus</span>`;
  }

  function inPolygon(x, y, poly) {
    let inside = false;
    for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
      const [xa, ya] = poly[a], [xb, yb] = poly[b];
      if ((ya > y) !== (yb > y) && x < (xb - xa) * (y - ya) / (yb - ya) + xa) inside = !inside;
    }
    return inside;
  }

  function select(d) {
    const x0 = Math.min(d.x0, d.x1), x1 = Math.max(d.x0, d.x1), y0 = Math.min(d.y0, d.y1), y1 = Math.max(d.y0, d.y1);
    state.selected.fill(0);
    for (let i = 0; i < n; i++) {
      if (isNaN(sx[i])) continue;
      const hit = state.mode === "box" ? sx[i] >= x0 && sx[i] <= x1 && sy[i] >= y0 && sy[i] <= y1
        : inPolygon(sx[i], sy[i], d.path);
      state.selected[i] = hit ? 1 : 0;
    }
    updatePies();
  }

  function updatePies() {
    const truth = new Array(K).fill(0), pred = new Array(K).fill(0);
    let total = 0;
    for (let i = 0; i < n; i++) if (state.selected[i]) { truth[C.label[i]]++; pred[C.predicted[i]]++; total++; }
    state.nSelected = total;
    $("selection-count").textContent = total ? `${total} cells selected` : "No selection.";
    $("selection-count").dataset.count = total;
    cs.drawPie($("pie-true"), $("pie-true-legend"), truth, C.classes, C.colours, "true class");
    cs.drawPie($("pie-pred"), $("pie-pred-legend"), pred, C.classes, C.colours, "predicted");
  }

  function pointer(ev) {
    const r = canvas.getBoundingClientRect();  // content box: skip the canvas border
    return [(ev.clientX - r.left - canvas.clientLeft) * W / canvas.clientWidth,
            (ev.clientY - r.top - canvas.clientTop) * H / canvas.clientHeight];
  }

  canvas.addEventListener("mousedown", ev => {
    const [x, y] = pointer(ev);
    state.drag = { x0: x, y0: y, x1: x, y1: y, path: [[x, y]], moved: false };
  });
  window.addEventListener("mouseup", ev => {
    const d = state.drag;
    if (!d) return;
    state.drag = null;
    if (d.moved) select(d);
    else {
      const [x, y] = pointer(ev);
      state.pinned = nearest(x, y);
      showCell();
    }
    draw();
  });
  canvas.addEventListener("mousemove", ev => {
    const [x, y] = pointer(ev);
    const d = state.drag;
    if (d) {
      d.x1 = x; d.y1 = y; d.path.push([x, y]);
      if (Math.hypot(x - d.x0, y - d.y0) > 4) d.moved = true;
      if (d.moved) draw();
      return;
    }
    const i = nearest(x, y);
    if (i !== state.hovered) { state.hovered = i; showCell(); draw(); }
  });
  canvas.addEventListener("mouseleave", () => {
    if (state.hovered >= 0) { state.hovered = -1; showCell(); draw(); }
  });

  function bind(id, key, parse, event) {
    $(id).addEventListener(event || "change", ev => {
      state[key] = parse(ev.target);
      if (id === "grid") $("grid-value").textContent = state.grid;
      draw();
    });
  }

  function setupControls() {
    E.layers.forEach(l => cs.option($("layer"), l, l));
    E.methods.forEach(m => cs.option($("method"), m, m));
    $("layer").value = state.layer; $("method").value = state.method;
    bind("layer", "layer", t => t.value);
    bind("method", "method", t => t.value);
    bind("colour-by", "colourBy", t => t.value);
    bind("size-by", "sizeBy", t => t.value);
    bind("misclassified", "misclassified", t => t.checked);
    bind("boundary", "boundary", t => t.checked);
    bind("select-mode", "mode", t => t.value);
    bind("grid", "grid", t => Number(t.value), "input");
    $("clear-selection").addEventListener("click", () => { state.selected.fill(0); updatePies(); draw(); });
    $("class-legend").innerHTML = C.classes.map((c, k) =>
      `<span><span class="swatch" style="background:${C.colours[k]}"></span>${c}</span>`).join("");
  }

  async function init() {
    setupControls();
    sheet = await cs.loadImage(C.sprite.uri);
    for (const [key, v] of Object.entries(E.views)) if (v.boundary) boundaryImages[key] = await cs.loadImage(v.boundary);
    updatePies(); showCell(); draw();
    document.body.dataset.ready = "1";
  }

  // Read-only hooks for tests and the benchmark: where a cell is drawn, what is selected.
  window.embeddingExplorer = {
    state,
    screenPosition(i) {
      const r = canvas.getBoundingClientRect();
      return [r.left + canvas.clientLeft + sx[i] * canvas.clientWidth / W,
              r.top + canvas.clientTop + sy[i] * canvas.clientHeight / H];
    },
    visibleCells() { const out = []; for (let i = 0; i < n; i++) if (!isNaN(sx[i])) out.push(i); return out; },
  };
  init().catch(err => { document.body.dataset.error = String(err); throw err; });
})();
