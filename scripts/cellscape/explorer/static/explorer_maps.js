// The maps of the explorer page (cellscape.maps): builds the large view and the small multiples,
// colours them, and switches what they show: the layer (animated, or played through the network),
// the method, the grid mapping, the decision boundary and the point size by uncertainty.
"use strict";
(function () {
  const cs = window.cellscape, D = cs.data, colour = cs.colour, esc = cs.common.esc;
  const {MapView, drawState: S, nextFrame} = cs.mapView;
  const {st, pos, allViews, layerOf, setStatus} = cs.state;
  const $ = id => document.getElementById(id);

  // The large view and one small multiple per layer, sized to the window; `handlers` get the
  // views' pointer input ({hover, click, lasso, camera}).
  function build(handlers) {
    const vw = window.innerWidth, vh = window.innerHeight;
    const mainW = Math.max(460, Math.min(900, vw - 258 - 470 - 50));
    const mainH = Math.max(340, Math.min(760, vh - 492));
    $("maps").style.width = mainW + "px";
    st.main = new MapView($("main-view"), {name: "main", width: mainW, height: mainH, boundary: true, on: handlers});
    st.main.setCount(D.n);
    st.main.extras = cs.thumbnails.draw;
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

  // Every view coloured by the colour menu's choice, and its legend.
  function applyColours() {
    applyMarkMis();
    for (const v of allViews()) { v.colours = colour.colours(D, st.colourBy, layerOf(v)); v.redraw(); }
    $("legend").innerHTML = colour.legend(D, st.colourBy, st.layer, S.markMis);
    cs.probes.colourChanged(st.colourBy);
  }

  function setColourBy(name) {
    $("colour-by").value = name;
    st.colourBy = name;
    applyColours();
  }

  // Misclassified cells get their dark outline only when the colours are classes.
  function applyMarkMis() {
    S.markMis = $("mark-misclassified").checked && (st.colourBy === "class" || st.colourBy === "predicted");
  }

  // Point size by uncertainty (1 - certainty) in the large view, when its box is checked.
  function applySizeByUncertainty() {
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
    cs.probes.layerChanged();
    $("layer-prev").disabled = k <= 0;
    $("layer-next").disabled = k >= D.layerNames.length - 1;
    if (st.colourBy === "cluster") $("legend").innerHTML = colour.legend(D, st.colourBy, st.layer, S.markMis);
    updateBoundary();
  }

  // The decision boundary under the large view: only at grid mapping 0 and when it is checked.
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

  // Show a layer in the large view (its points move there in 750 ms when animated).
  async function setLayer(name, animate = true) {
    if (!D.layerNames.includes(name)) throw new Error("no layer " + name);
    st.layer = name;
    showLayerLabel();
    st.main.colours = colour.colours(D, st.colourBy, name);
    cs.selection.setRings();
    st.thumbCount = 0;
    if (animate) await st.main.transitionTo(pos(name), st.g, 750);
    else st.main.setPositions(pos(name), st.g);
    cs.thumbnails.update();
    cs.cellPanel.layerChanged();
    await nextFrame();
  }

  async function step(delta) {
    const k = D.layerNames.indexOf(st.layer) + delta;
    if (k >= 0 && k < D.layerNames.length) await setLayer(D.layerNames[k], true);
  }

  // Ascend the network layer by layer (from the first when at the last); a second call stops.
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
    await cs.state.loadMethod(name);
    st.method = name;
    for (const v of allViews()) { v.setPositions(pos(layerOf(v)), st.g); v.fit(); }
    showLayerLabel();
    cs.selection.setRings();
    cs.thumbnails.update();
    await nextFrame();
    setStatus(`${D.n.toLocaleString()} cells · ${D.layerNames.length} layers`);
  }

  // Grid mapping g in [0, 1]: every view moves to (1 - g) * map + g * grid, once per frame.
  let gridQueued = false;
  function setGrid(g) {
    st.g = g;
    $("grid-value").textContent = g.toFixed(2);
    if (gridQueued) return;
    gridQueued = true;
    requestAnimationFrame(() => {
      gridQueued = false;
      for (const v of allViews()) v.setPositions(pos(layerOf(v)), st.g);
      cs.thumbnails.update();
      updateBoundary();
    });
  }

  window.cellscape.maps = {
    build, applyColours, setColourBy, applySizeByUncertainty, showLayerLabel, updateBoundary,
    setLayer, step, play, setMethod, setGrid,
  };
})();
