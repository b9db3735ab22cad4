// The explorer page (index.html): wires the data, the map views and the side panels together.
//
// Test hooks (stable; the tests and the benchmark drive the page through real pointer events and
// read its state through these):
//   window.explorer = {
//     ready                      Promise, resolved once the initial layers are drawn (and
//                                document.body.dataset.ready = "1"; on an error
//                                document.body.dataset.error = message, console.error)
//     layers()                   layer names, network order
//     currentLayer()             the large view's layer; setLayer(name) -> Promise (animated)
//     method(); setMethod(name)  -> Promise, once the method's maps are drawn
//     selected()                 sorted array of the linked selection's cell indices
//     select(indices)            programmatic selection (benchmark) -> Promise after the frame
//     tapped(); tap(index|null)  the tapped cell; tap returns a Promise once its panels are filled
//     screenPosition(view, i)    {x, y} viewport CSS pixels (what page.mouse.move takes) of cell
//                                i's point in view "main" or a layer name; scrolls that view into
//                                sight first
//     visibleCount()             cells inside the large view's viewport
//     thumbnailsShown()          thumbnails drawn on the large view's overlay
//     neighbours(layer, i)       the k neighbour indices of cell i read from the file (null until
//                                loaded: tap() loads every layer's file)
//     ifealidLastSimilarity()    {cells, raw: [Float32Array (H*W) per cell], low, high} or null
//     colourBy(name)             switch the colour menu
//     frameTimes                 durations (ms) of the recent render ticks (all views drawn in one
//                                animation frame)
//     heapBytes()                performance.memory.usedJSHeapSize or null
//     hovered()                  {index, thumbnail: bool} of the tooltip (also
//                                #tooltip[data-thumb] = index once its thumbnail is drawn, and
//                                #tooltip[data-channels] = the on/off mask it shows, e.g. "1011")
//     channels()                 [{name, colour, on}] of the image channels (#channels checkboxes)
//     lastInputLatency()         ms from the last lasso/click/select() to the end of the frame
//                                that showed it (includes the selection's computation)
//     inputsShown()              how many such inputs have been drawn so far (to wait for the
//                                next one: two latencies can be equal)
//   }
"use strict";
(function () {
  const CSX = window.CSX, D = CSX.data, S = CSX.shared, colour = CSX.colour, MapView = CSX.MapView;
  const $ = id => document.getElementById(id);
  const esc = colour.esc;

  const st = {
    method: null, layer: null, g: 0, colourBy: null,
    main: null, multiples: {},         // MapView instances
    positions: {},                      // "<layer>/<method>" -> decoded map
    selection: new Uint32Array(0), tapped: -1, playing: false, hovered: -1, hoverThumb: false,
    thumbList: new Uint32Array(301), thumbCount: 0, thumbsDrawn: 0,
  };
  const THUMB_LIMIT = 300;
  let readyResolve, readyReject;
  const ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });
  ready.catch(() => {});

  function setStatus(text) { $("status").textContent = text; }

  // ---- start -----------------------------------------------------------------------------------
  async function start() {
    await D.init();
    const meta = D.meta, n = D.n;
    document.title = meta.title || "cellscape explorer";
    $("title").textContent = meta.title || "cellscape explorer";
    S.n = n;
    S.sel = new Uint8Array(n);
    S.mis = new Uint8Array(n);
    const misCol = D.columns.misclassified, yes = Math.max(0, (misCol.categories || []).indexOf("yes"));
    let nm = 0;
    for (let i = 0; i < n; i++) if ((S.mis[i] = misCol.kind === "category" ? +(misCol.data[i] === yes) : +(misCol.data[i] > 0))) nm++;
    S.order = new Uint32Array(n);
    for (let i = 0, a = 0, b = n - nm; i < n; i++) S.order[S.mis[i] ? b++ : a++] = i;
    S.plainOrder = new Uint32Array(n);
    for (let i = 0; i < n; i++) S.plainOrder[i] = i;

    for (const m of meta.methods) cs.option($("method"), m, m);
    for (const c of meta.colour_by) {
      const col = c === "cluster" ? null : D.columns[c];
      cs.option($("colour-by"), c, c === "cluster" ? "cluster (each layer's own)" : (col && col.label) || c);
    }
    st.method = meta.methods[0];
    st.colourBy = meta.colour_by[0];
    st.layer = D.layerNames[D.layerNames.length - 1];
    window.CSC.toggles($("channels"), meta.channels, D.channelsOn.slice(), setChannels);
    buildViews();
    setStatus(`loading ${D.layerNames.length} ${st.method} maps…`);
    await loadMethod(st.method);
    for (const name of D.layerNames) st.multiples[name].setPositions(pos(name), st.g);
    st.main.setPositions(pos(st.layer), st.g);
    applyColours();
    showLayerLabel();
    CSX.cell.init(api());
    CSX.ifealid.init(api());
    updateSelection();
    await CSX.nextFrame();
    setStatus(`${n.toLocaleString()} cells · ${D.layerNames.length} layers`);
    document.body.dataset.ready = "1";
    readyResolve();
  }

  function pos(layer, method) { return st.positions[layer + "/" + (method || st.method)]; }

  async function loadMethod(method) {
    const maps = await Promise.all(D.layerNames.map(l => D.map(l, method)));
    D.layerNames.forEach((l, k) => { st.positions[l + "/" + method] = maps[k]; });
  }

  // ---- views -----------------------------------------------------------------------------------
  function buildViews() {
    const vw = window.innerWidth, vh = window.innerHeight;
    const mainW = Math.max(460, Math.min(900, vw - 258 - 470 - 50));
    const mainH = Math.max(340, Math.min(760, vh - 492));
    $("maps").style.width = mainW + "px";
    const handlers = {hover: onHover, click: onClick, lasso: onLasso, camera: onCamera};
    st.main = new MapView($("main-view"), {name: "main", width: mainW, height: mainH, boundary: true, on: handlers});
    st.main.setCount(D.n);
    st.main.extras = drawThumbnails;
    const cols = 4, gap = 6, sw = Math.floor((mainW - (cols - 1) * gap) / cols), sh = Math.round(sw * 0.72);
    const grid = $("multiples");
    grid.style.gridTemplateColumns = `repeat(${cols}, ${sw}px)`;
    grid.style.gap = gap + "px";
    for (const name of D.layerNames) {
      const fig = document.createElement("figure");
      fig.className = "multiple";
      fig.dataset.layer = name;
      const host = document.createElement("div");
      const cap = document.createElement("figcaption");
      const layer = D.meta.layers.find(l => l.name === name);
      cap.innerHTML = `<b>${esc(layer.label || name)}</b> <span class="hint">${esc(layer.kind)} ${esc((layer.shape || []).join("×"))}</span>`;
      fig.appendChild(host); fig.appendChild(cap);
      grid.appendChild(fig);
      const v = new MapView(host, {name, small: true, width: sw, height: sh, on: handlers});
      v.setCount(D.n);
      st.multiples[name] = v;
    }
  }
  const allViews = () => [st.main, ...D.layerNames.map(l => st.multiples[l])];
  const layerOf = v => v === st.main ? st.layer : v.name;

  function applyColours() {
    applyMarkMis();
    for (const v of allViews()) { v.colours = colour.colours(D, st.colourBy, layerOf(v)); v.redraw(); }
    $("legend").innerHTML = colour.legend(D, st.colourBy, st.layer, S.markMis);
  }

  // Misclassified cells get their dark outline only when the colours are classes.
  function applyMarkMis() {
    S.markMis = $("mark-misclassified").checked && (st.colourBy === "class" || st.colourBy === "predicted");
  }

  function applyExtra() {
    if (!$("size-uncertainty").checked) { S.extra = null; return; }
    const c = D.columns.certainty.data, n = D.n, e = new Uint8Array(n);
    let maxU = 1e-9;
    for (let i = 0; i < n; i++) maxU = Math.max(maxU, 1 - c[i]);
    const top = n > 20000 ? 2 : 3;
    for (let i = 0; i < n; i++) e[i] = Math.round(top * (1 - c[i]) / maxU);
    S.extra = e;
  }

  function showLayerLabel() {
    const layer = D.meta.layers.find(l => l.name === st.layer);
    const k = D.layerNames.indexOf(st.layer);
    $("current-layer").innerHTML = `${esc(layer.label || st.layer)} <span class="hint">(${k + 1} of ${D.layerNames.length}, ${esc(layer.kind)}, ${esc(st.method)})</span>`;
    for (const fig of document.querySelectorAll("#multiples figure"))
      fig.classList.toggle("current", fig.dataset.layer === st.layer);
    $("layer-prev").disabled = k <= 0;
    $("layer-next").disabled = k >= D.layerNames.length - 1;
    if (st.colourBy === "cluster") $("legend").innerHTML = colour.legend(D, st.colourBy, st.layer, S.markMis);
    updateBoundary();
  }

  function updateBoundary() {
    const main = st.main, map = pos(st.layer);
    const on = $("show-boundary").checked && map && map.boundary && st.g === 0;
    main.canvas.classList.toggle("multiply", !!on);
    $("show-boundary").disabled = !(map && map.boundary);
    if (!on) { main.boundaryImage = null; main.redraw(); return; }
    if (map.boundaryImage) { main.boundaryImage = map.boundaryImage; main.redraw(); return; }
    const img = new Image();
    img.onload = () => { map.boundaryImage = img; if (pos(st.layer) === map) { main.boundaryImage = img; main.redraw(); } };
    img.src = map.boundary;
  }

  async function setLayer(name, animate = true) {
    if (!D.layerNames.includes(name)) throw new Error("no layer " + name);
    st.layer = name;
    showLayerLabel();
    st.main.colours = colour.colours(D, st.colourBy, name);
    setRings();
    st.thumbCount = 0;
    if (animate) await st.main.transitionTo(pos(name), st.g, 750);
    else st.main.setPositions(pos(name), st.g);
    updateThumbs();
    CSX.cell.layerChanged();
    await CSX.nextFrame();
  }

  async function step(delta) {
    const k = D.layerNames.indexOf(st.layer) + delta;
    if (k >= 0 && k < D.layerNames.length) await setLayer(D.layerNames[k], true);
  }

  async function play() {
    if (st.playing) { st.playing = false; return; }
    st.playing = true;
    $("layer-play").textContent = "❚❚ stop";
    try {
      if (D.layerNames.indexOf(st.layer) === D.layerNames.length - 1) await setLayer(D.layerNames[0], false);
      await sleep(400);
      while (st.playing && D.layerNames.indexOf(st.layer) < D.layerNames.length - 1) {
        await step(1);
        await sleep(450);
      }
    } finally {
      st.playing = false;
      $("layer-play").textContent = "▶ play";
    }
  }
  const sleep = ms => new Promise(r => setTimeout(r, ms));

  async function setMethod(name) {
    if (!D.meta.methods.includes(name)) throw new Error("no method " + name);
    setStatus(`loading ${name} maps…`);
    $("method").value = name;
    await loadMethod(name);
    st.method = name;
    for (const v of allViews()) { v.setPositions(pos(layerOf(v)), st.g); v.fit(); }
    showLayerLabel();
    setRings();
    updateThumbs();
    await CSX.nextFrame();
    setStatus(`${D.n.toLocaleString()} cells · ${D.layerNames.length} layers`);
  }

  let gridQueued = false;
  function setGrid(g) {
    st.g = g;
    $("grid-value").textContent = g.toFixed(2);
    if (gridQueued) return;
    gridQueued = true;
    requestAnimationFrame(() => {
      gridQueued = false;
      for (const v of allViews()) v.setPositions(pos(layerOf(v)), st.g);
      updateThumbs();
      updateBoundary();
    });
  }

  // ---- selection -------------------------------------------------------------------------------
  function setSelection(indices) {
    if (!S.inputAt) S.inputAt = performance.now();
    const sel = S.sel;
    sel.fill(0);
    for (const i of indices) sel[i] = 1;
    st.selection = indices instanceof Uint32Array ? indices : Uint32Array.from(indices);
    S.selCount = indices.length;
    for (const v of allViews()) v.redraw();
    updateSelection();
    CSX.ifealid.selectionChanged();
  }

  function updateSelection() {
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

  // ---- tapped cell -----------------------------------------------------------------------------
  function setRings() {
    const i = st.tapped;
    for (const v of allViews()) {
      v.rings = i >= 0 ? {tapped: i, neighbours: D.neighboursOf(layerOf(v), i)} : null;
      v.redrawOverlay();
    }
  }

  async function tap(i) {
    i = i === null || i === undefined || i < 0 ? -1 : i;
    st.tapped = i;
    setRings();
    CSX.cell.show(i);
    if (i < 0) { CSX.ifealid.update(); return; }
    await Promise.all(D.layerNames.map(l => D.neighbours(l)));
    if (st.tapped !== i) return;
    setRings();
    CSX.cell.neighbourTable(i);
    await CSX.ifealid.update();
  }

  // ---- pointer callbacks from the views --------------------------------------------------------
  function onHover(view, i, e) {
    for (const v of allViews()) if (v !== view && v.hovered !== i) { v.hovered = i; v.redrawOverlay(); }
    const tip = $("tooltip");
    if (i < 0) { tip.hidden = true; st.hovered = -1; delete tip.dataset.index; delete tip.dataset.thumb; return; }
    if (i !== st.hovered) {
      st.hovered = i;
      st.hoverThumb = false;
      const cls = D.columns.class, pred = D.columns.predicted, cert = D.columns.certainty.data[i];
      const wrong = S.mis[i] ? ' <b class="wrong">misclassified</b>' : "";
      tip.innerHTML = `<canvas width="${D.meta.tile.size}" height="${D.meta.tile.size}"></canvas><div>` +
        `<b>${esc(D.ids[i])}</b> <span class="hint">#${i}</span><br>class: ${catLabel(cls, i)}<br>` +
        `predicted: ${catLabel(pred, i)}${wrong}<br>certainty: ${cert.toFixed(3)}</div>`;
      tip.dataset.index = i;
      delete tip.dataset.thumb;
      tip.hidden = false;
      hoverThumbnail(i);
    }
    if (e) {
      const x = e.clientX + 16, y = e.clientY + 16, r = tip.getBoundingClientRect();
      tip.style.left = Math.min(x, window.innerWidth - r.width - 8) + "px";
      tip.style.top = (y + r.height > window.innerHeight - 8 ? e.clientY - r.height - 12 : y) + "px";
    }
  }

  function hoverThumbnail(i) {
    const tip = $("tooltip"), mask = D.channelsOn.map(Number).join("");
    D.thumbnail(i, true).then(c => {
      if (st.hovered !== i || !c) return;
      tip.querySelector("canvas").getContext("2d").drawImage(c, 0, 0);
      st.hoverThumb = true;
      tip.dataset.thumb = i;
      tip.dataset.channels = mask;
    });
  }

  // A channel switched on or off: every cell image shown is composed again.
  function setChannels(on) {
    D.setChannels(on);
    updateThumbs();
    if (st.hovered >= 0) hoverThumbnail(st.hovered);
    CSX.cell.redrawImages();
    CSX.ifealid.redrawImages();
  }

  function catLabel(col, i) {
    const k = col.data[i], c = (col.colours || [])[k] || colour.FALLBACK[k % 10];
    return `<span class="swatch" style="background:${c}"></span>${esc(col.categories[k])}`;
  }

  function onClick(view, i) {
    if (view !== st.main && view.name !== st.layer) setLayer(view.name, true);
    if (i >= 0) tap(i);
  }

  function onLasso(view, indices) { setSelection(indices); }

  function onCamera(view) {
    if (view === st.main && st.main && st.main.n) updateThumbs();
  }

  // ---- thumbnails on the large view ------------------------------------------------------------
  function updateThumbs() {
    const v = st.main;
    if (!v || !v.n) return;
    if (v.transitioning) { st.thumbCount = 0; v.redrawOverlay(); return; }
    const r = v.viewRect(), list = st.thumbList;
    let cnt = 0;
    v.forEachIn(r[0], r[1], r[2], r[3], i => { if (cnt < list.length) list[cnt] = i; cnt++; return cnt > THUMB_LIMIT; });
    st.visibleApprox = cnt;
    $("visible-info").textContent = cnt > THUMB_LIMIT ? `zoom in until ≤ ${THUMB_LIMIT} cells are in view to see their images`
      : `${cnt} cells in view: images shown`;
    st.thumbCount = cnt <= THUMB_LIMIT ? cnt : 0;
    if (st.thumbCount) {
      D.newThumbGeneration();
      for (let k = 0; k < st.thumbCount; k++) {
        const i = list[k];
        if (!D.thumbSync(i)) D.thumbnail(i, false).then(c => { if (c) v.redrawOverlay(); });
      }
    }
    v.redrawOverlay();
  }

  function drawThumbnails(v, c) {
    st.thumbsDrawn = 0;
    const cnt = st.thumbCount;
    if (!cnt || v.transitioning) return;
    const dpr = v.dpr;
    const size = Math.max(26, Math.min(D.meta.tile.size, 0.75 * Math.sqrt(v.w * v.h / cnt))) * dpr;
    c.imageSmoothingEnabled = true;
    const cols = v.colours;
    for (let k = 0; k < cnt; k++) {
      const i = st.thumbList[k], img = D.thumbSync(i);
      if (!img) continue;
      const [X, Y] = v.toCanvas(i);
      const x = X - size / 2, y = Y - size / 2;
      c.drawImage(img, x, y, size, size);
      const col = cols[i];
      c.lineWidth = 2 * dpr;
      c.strokeStyle = `rgb(${(col >>> 16) & 255},${(col >>> 8) & 255},${col & 255})`;
      c.strokeRect(x, y, size, size);
      st.thumbsDrawn++;
    }
  }

  // ---- controls --------------------------------------------------------------------------------
  function wireControls() {
    $("method").onchange = e => setMethod(e.target.value).catch(fail);
    $("colour-by").onchange = e => { st.colourBy = e.target.value; applyColours(); };
    $("mark-misclassified").onchange = applyColours;
    $("size-uncertainty").onchange = () => { applyExtra(); st.main.redraw(); };
    $("show-boundary").onchange = updateBoundary;
    $("grid-slider").oninput = e => setGrid(+e.target.value);
    $("layer-prev").onclick = () => step(-1);
    $("layer-next").onclick = () => step(1);
    $("layer-play").onclick = () => play();
    document.addEventListener("keydown", e => {
      if (e.key === "Escape") { setSelection([]); tap(null); st.playing = false; }
      else if (e.target === document.body && (e.key === "ArrowRight" || e.key === "ArrowLeft")) step(e.key === "ArrowRight" ? 1 : -1);
    });
  }

  // Functions the panels call back.
  function api() {
    return {st, setLayer, tap, setSelection, layerOf, pos};
  }

  function fail(err) {
    console.error(err);
    document.body.dataset.error = (err && err.message) || String(err);
    setStatus("error: " + document.body.dataset.error);
    readyReject(err);
  }

  window.explorer = {
    ready,
    layers: () => D.layerNames.slice(),
    currentLayer: () => st.layer,
    setLayer: name => setLayer(name, true),
    method: () => st.method,
    setMethod,
    selected: () => Array.from(st.selection),
    select: indices => { S.inputAt = performance.now(); setSelection(Uint32Array.from(new Set(indices)).sort()); return CSX.nextFrame(); },
    tapped: () => (st.tapped >= 0 ? st.tapped : null),
    tap: i => tap(i),
    screenPosition(view, i) {
      const v = view === "main" ? st.main : st.multiples[view];
      if (!v) throw new Error("no view " + view);
      const r = v.host.getBoundingClientRect();
      if (r.top < 0 || r.bottom > window.innerHeight || r.left < 0 || r.right > window.innerWidth)
        v.host.scrollIntoView({block: "nearest", inline: "nearest"});
      return v.clientPoint(i);
    },
    visibleCount: () => st.main.visibleCount(),
    thumbnailsShown: () => st.thumbsDrawn,
    neighbours: (layer, i) => { const a = D.neighboursOf(layer, i); return a ? Array.from(a) : null; },
    ifealidLastSimilarity: () => CSX.ifealid.last(),
    colourBy: name => { $("colour-by").value = name; st.colourBy = name; applyColours(); return CSX.nextFrame(); },
    frameTimes: S.frameTimes,
    heapBytes: () => (performance.memory ? performance.memory.usedJSHeapSize : null),
    hovered: () => ({index: st.hovered >= 0 ? st.hovered : null, thumbnail: st.hoverThumb}),
    channels: () => D.meta.channels.map((c, k) => ({name: c.name, colour: c.colour, on: D.channelsOn[k]})),
    lastInputLatency: () => S.lastLatency,
    inputsShown: () => S.inputsShown,
  };

  CSX.state = st;   // for debugging in the console
  wireControls();
  start().catch(fail);
})();
