// The explorer page (index.html): starts it and wires its parts together: the data
// (explorer_data.js), the maps (explorer_maps.js), the selection and tapped cell
// (explorer_selection.js), the thumbnails and tooltip, the side panels (explorer_cell.js,
// explorer_ifealid.js), what each layer knows (explorer_probes.js) and the controls. The state lives in explorer_state.js, the test hooks in
// explorer_test_api.js. Loaded last: every part it wires is defined.
"use strict";
(function () {
  const cs = window.cellscape, D = cs.data, common = cs.common, maps = cs.maps, selection = cs.selection;
  const state = cs.state, {st} = state;
  const $ = id => document.getElementById(id);

  async function start() {
    await D.init();
    const meta = D.meta, n = D.n;
    document.title = meta.title || "cellscape explorer";
    $("title").textContent = meta.title || "cellscape explorer";
    state.initCells();
    for (const m of meta.methods) common.option($("method"), m, m);
    for (const c of meta.colour_by) {
      const col = c === "cluster" ? null : D.columns[c];
      common.option($("colour-by"), c, c === "cluster" ? "cluster (each layer's own)" : (col && col.label) || c);
    }
    st.method = meta.methods[0];
    st.colourBy = meta.colour_by[0];
    st.layer = D.layerNames[D.layerNames.length - 1];
    cs.channels.toggles($("channels"), meta.channels, D.channelsOn.slice(), setChannels);
    maps.build({hover: cs.tooltip.hover, click: onClick, lasso: onLasso, camera: onCamera});
    state.setStatus(`loading ${D.layerNames.length} ${st.method} maps…`);
    await state.loadMethod(st.method);
    for (const name of D.layerNames) st.multiples[name].setPositions(state.pos(name), st.g);
    st.main.setPositions(state.pos(st.layer), st.g);
    maps.applyColours();
    maps.showLayerLabel();
    cs.cellPanel.init(panelApi());
    cs.ifealid.init(panelApi());
    await cs.probes.init(panelApi());
    selection.showSummary();
    await cs.mapView.nextFrame();
    state.setStatus(`${n.toLocaleString()} cells · ${D.layerNames.length} layers`);
    document.body.dataset.ready = "1";
    state.resolveReady();
  }

  // ---- pointer input from the views ------------------------------------------------------------
  function onClick(view, i) {
    if (view !== st.main && view.name !== st.layer) maps.setLayer(view.name, true);
    if (i >= 0) selection.tap(i);
  }

  function onLasso(view, indices) { selection.setSelection(indices); }

  function onCamera(view) {
    if (view === st.main && st.main && st.main.n) cs.thumbnails.update();
  }

  // A channel switched on or off: every cell image shown is composed again.
  function setChannels(on) {
    D.setChannels(on);
    cs.thumbnails.update();
    cs.tooltip.redrawImage();
    cs.cellPanel.redrawImages();
    cs.ifealid.redrawImages();
  }

  // ---- controls --------------------------------------------------------------------------------
  function wireControls() {
    $("method").onchange = e => maps.setMethod(e.target.value).catch(fail);
    $("colour-by").onchange = e => maps.setColourBy(e.target.value);
    $("mark-misclassified").onchange = maps.applyColours;
    $("size-uncertainty").onchange = () => { maps.applySizeByUncertainty(); st.main.redraw(); };
    $("show-boundary").onchange = maps.updateBoundary;
    $("grid-slider").oninput = e => maps.setGrid(+e.target.value);
    $("layer-prev").onclick = () => maps.step(-1);
    $("layer-next").onclick = () => maps.step(1);
    $("layer-play").onclick = () => maps.play();
    document.addEventListener("keydown", e => {
      if (e.key === "Escape") { selection.setSelection([]); selection.tap(null); st.playing = false; }
      else if (e.target === document.body && (e.key === "ArrowRight" || e.key === "ArrowLeft")) maps.step(e.key === "ArrowRight" ? 1 : -1);
    });
  }

  // What the side panels call back.
  function panelApi() {
    return {st, setLayer: maps.setLayer, tap: selection.tap, setSelection: selection.setSelection,
            layerOf: state.layerOf, pos: state.pos, colourBy: maps.setColourBy};
  }

  function fail(err) {
    console.error(err);
    document.body.dataset.error = (err && err.message) || String(err);
    state.setStatus("error: " + document.body.dataset.error);
    state.rejectReady(err);
  }

  wireControls();
  start().catch(fail);
})();
