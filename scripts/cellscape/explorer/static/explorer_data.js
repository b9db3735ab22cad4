// Explorer data access (cellscape.data): loads the data scripts of docs/explorer.md on demand
// (common.loadScript: a <script> tag per file, since fetch() of file:// URLs is blocked), takes
// their payload out of cellscape.payload, decodes base64 once into typed arrays, and
// serves cell thumbnails composed from the tiles' channel planes with the channels that are on
// (a few tiles decoded at a time, never all of them).
"use strict";
(function () {
  const C = window.cellscape.payload, load = window.cellscape.common.loadScript;

  function bytes(b64) {
    const s = atob(b64), n = s.length, out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const TYPES = {uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, float32: Float32Array};
  function typed(b64, Type) {
    const b = bytes(b64);
    return new Type(b.buffer, 0, b.length / Type.BYTES_PER_ELEMENT);
  }
  const pad5 = t => String(t).padStart(5, "0");

  const D = {
    meta: null, n: 0, ids: null, columns: {}, layerNames: [],
    maps: new Map(), neighbourArrays: new Map(), ifealidTiles: new Map(),

    async init() {
      await load("data/meta.js");
      if (!C.meta) throw new Error("data/meta.js did not define cellscape.payload.meta");
      await load("data/cells.js");
      D.meta = C.meta;
      D.n = C.meta.n_cells;
      D.ids = C.cells.ids;
      D.layerNames = C.meta.layers.map(l => l.name);
      D.channelsOn = C.meta.channels.map(() => true);
      for (const [name, col] of Object.entries(C.cells.columns)) {
        const Type = TYPES[col.dtype] || (col.kind === "number" ? Float32Array : Uint8Array);
        D.columns[name] = Object.assign({}, col, {name, data: typed(col.data, Type)});
      }
      delete C.cells.columns;   // the strings are decoded; free them
      for (const need of ["class", "predicted", "certainty", "misclassified"])
        if (!D.columns[need]) throw new Error("data/cells.js lacks the column " + need);
    },

    // {x, y, gx, gy: Uint16Array, boundary} of one layer and method (cached).
    map(layer, method) {
      const key = layer + "/" + method;
      if (!D.maps.has(key)) {
        D.maps.set(key, load(`data/map_${layer}_${method}.js`).then(() => {
          const m = C.maps[key];
          if (!m) throw new Error(`data/map_${layer}_${method}.js did not define ${key}`);
          const out = {x: typed(m.x, Uint16Array), y: typed(m.y, Uint16Array),
                       gx: m.gx ? typed(m.gx, Uint16Array) : null, gy: m.gy ? typed(m.gy, Uint16Array) : null,
                       boundary: m.boundary || null, boundaryImage: null};
          if (!out.gx) { out.gx = out.x; out.gy = out.y; }
          delete C.maps[key];
          return out;
        }));
      }
      return D.maps.get(key);
    },

    // n * k neighbour indices of one layer (Uint32Array, row-major, nearest first).
    neighbours(layer) {
      if (!D.neighbourArrays.has(layer)) {
        D.neighbourArrays.set(layer, load(`data/neighbours_${layer}.js`).then(() => {
          const a = typed(C.neighbours[layer], Uint32Array);
          delete C.neighbours[layer];
          D.neighbourSync[layer] = a;
          return a;
        }));
      }
      return D.neighbourArrays.get(layer);
    },
    neighbourSync: {},   // layer -> Uint32Array once loaded
    neighboursOf(layer, i) {
      const a = D.neighbourSync[layer], k = D.meta.k_neighbours;
      return a ? a.subarray(i * k, i * k + k) : null;
    },

    attribution() {
      if (!D.meta.attribution) return Promise.resolve(null);
      if (!D._attribution) D._attribution = load("data/attribution.js").then(() => C.attribution || null);
      return D._attribution;
    },

    // payload.probes (what each layer knows of the cell features), or null in a build without it.
    probes() {
      if (!D.meta.probes) return Promise.resolve(null);
      if (!D._probes) D._probes = load("data/probes.js").then(() => {
        if (!C.probes) throw new Error("data/probes.js did not define cellscape.payload.probes");
        return C.probes;
      });
      return D._probes;
    },

    // One IFeaLiD tile: {cells: [index], data: Uint8Array (n, H, W, K)}.
    ifealidTile(layer, t) {
      const key = layer + "/" + t;
      if (!D.ifealidTiles.has(key)) {
        D.ifealidTiles.set(key, load(`ifealid/${layer}_${pad5(t)}.js`).then(() => {
          const raw = ((C.ifealid || {})[layer] || {})[t];
          if (!raw) throw new Error(`ifealid/${layer}_${pad5(t)}.js did not define tile ${t}`);
          const out = {cells: raw.cells, data: typed(raw.data, Uint8Array)};
          delete C.ifealid[layer][t];
          return out;
        }));
      }
      return D.ifealidTiles.get(key);
    },

    // ---- thumbnails -------------------------------------------------------------------------
    // thumbnail(i, urgent) -> Promise<canvas|null>; thumbSync(i) -> canvas or undefined.
    // Tiles load through a small queue (3 at a time); urgent requests (hover, tap) go first and
    // queued non-urgent requests of an older generation (see newThumbGeneration) are dropped.
    // A thumbnail shows the channels whose channelsOn is true; setChannels drops every composed one.
    channelsOn: [],
    thumbSync(i) { return thumbs.get(i); },
    thumbnail(i, urgent) {
      const have = thumbs.get(i);
      if (have) return Promise.resolve(have);
      const tile = D.meta.tile, t = Math.floor(i / tile.cells);
      return tileImage(t, urgent).then(set => set ? cut(set, i) : null);
    },
    newThumbGeneration() { return ++thumbGen; },
    setChannels(on) { D.channelsOn = on.slice(); thumbs.clear(); },
    // Draw cell i's thumbnail scaled into a canvas whose data-index is i (black until it loads).
    drawCell(canvas, i) {
      const ctx = canvas.getContext("2d");
      if (!canvas.dataset.drawn) { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); }
      return D.thumbnail(i, true).then(c => {
        if (!c || canvas.dataset.index !== String(i)) return;
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(c, 0, 0, canvas.width, canvas.height);
        canvas.dataset.drawn = "1";
      });
    },
  };

  const thumbs = new Map();          // cell index -> composed size x size canvas (capped, oldest dropped)
  const THUMB_CAP = 4000;
  const images = new Map();          // tile -> decoded channel planes (LRU, capped by their bytes)
  const PLANE_BYTES = 48e6;
  let imageCap = 6;
  const pending = new Map();         // tile -> {promise, resolve, gen, urgent, started}
  const queue = [];
  let active = 0, thumbGen = 0;

  function cut(set, i) {
    const have = thumbs.get(i);
    if (have) return have;
    const tile = D.meta.tile;
    const c = window.cellscape.channels.canvas(set, i % tile.cells, tile.size, tile.columns, D.meta.channels, D.channelsOn);
    thumbs.set(i, c);
    if (thumbs.size > THUMB_CAP) thumbs.delete(thumbs.keys().next().value);
    return c;
  }

  function tileImage(t, urgent) {
    const img = images.get(t);
    if (img) { images.delete(t); images.set(t, img); return Promise.resolve(img); }
    let p = pending.get(t);
    if (p) {
      p.gen = thumbGen;
      if (urgent && !p.urgent && !p.started) { p.urgent = true; queue.splice(queue.indexOf(p), 1); queue.unshift(p); }
      return p.promise;
    }
    p = {t, gen: thumbGen, urgent: !!urgent, started: false};
    p.promise = new Promise(resolve => { p.resolve = resolve; });
    pending.set(t, p);
    if (urgent) queue.unshift(p); else queue.push(p);
    pump();
    return p.promise;
  }

  function pump() {
    while (active < 3 && queue.length) {
      const p = queue.shift();
      if (!p.urgent && p.gen !== thumbGen) { pending.delete(p.t); p.resolve(null); continue; }
      p.started = true;
      active++;
      load(`tiles/tile_${pad5(p.t)}.js`).then(() => {
        const uris = (C.tiles || {})[p.t];
        if (!uris) throw new Error(`tiles/tile_${pad5(p.t)}.js did not define tile ${p.t}`);
        return window.cellscape.channels.decode(uris, D.meta.channels.length);
      }).then(set => {
        images.set(p.t, set);
        imageCap = Math.max(2, Math.min(8, Math.floor(PLANE_BYTES / set.planes.length)));
        while (images.size > imageCap) images.delete(images.keys().next().value);
        return set;
      }, err => { console.error(err); return null; }).then(img => {
        active--; pending.delete(p.t); p.resolve(img); pump();
      });
    }
  }

  window.cellscape.data = D;
})();
