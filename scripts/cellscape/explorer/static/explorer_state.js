// The explorer page's state (cellscape.state): what the maps show (method, layer, grid mapping,
// colour), the views, the loaded maps, the selection, the tapped and hovered cell and the
// thumbnails on the large view; the per-cell arrays every view draws from; the status line and
// the promise the page settles once it is ready (or has failed).
"use strict";
(function () {
  const D = window.cellscape.data, drawState = window.cellscape.mapView.drawState;
  const $ = id => document.getElementById(id);

  const st = {
    method: null, layer: null, g: 0, colourBy: null,
    main: null, multiples: {},         // MapView instances
    positions: {},                      // "<layer>/<method>" -> decoded map
    selection: new Uint32Array(0), tapped: -1, playing: false, hovered: -1, hoverThumb: false,
    thumbList: new Uint32Array(301), thumbCount: 0, thumbsDrawn: 0,
  };

  let resolveReady, rejectReady;
  const ready = new Promise((res, rej) => { resolveReady = res; rejectReady = rej; });
  ready.catch(() => {});

  // The per-cell arrays of drawState once the cells are known: nothing selected, the
  // misclassified cells marked and drawn last (when marked), the plain order 0 ... n - 1.
  function initCells() {
    const n = D.n, S = drawState;
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
  }

  // The decoded map of a layer under a method (default the current one), once loaded.
  function pos(layer, method) { return st.positions[layer + "/" + (method || st.method)]; }

  // Load every layer's map of one method.
  async function loadMethod(method) {
    const maps = await Promise.all(D.layerNames.map(l => D.map(l, method)));
    D.layerNames.forEach((l, k) => { st.positions[l + "/" + method] = maps[k]; });
  }

  const allViews = () => [st.main, ...D.layerNames.map(l => st.multiples[l])];
  // The layer a view shows (the large view shows the current layer).
  const layerOf = v => v === st.main ? st.layer : v.name;

  function setStatus(text) { $("status").textContent = text; }

  window.cellscape.state = {
    st, ready, resolveReady, rejectReady,
    initCells, pos, loadMethod, allViews, layerOf, setStatus,
  };
})();
