// One map view of the explorer (cellscape.mapView.MapView: the large view or a small multiple):
// draws every cell as a small disc into an ImageData on the CPU (typed arrays, no allocation per
// point and frame), keeps a camera (wheel zooms at the pointer, drag pans), a bucket-grid spatial
// index for picking, lasso and viewport counts, and an overlay canvas for rings, thumbnails and
// the lasso. One requestAnimationFrame draws every view that changed (nextFrame waits for it).
//
// Why the CPU and not WebGL: in headless Chromium with software WebGL (SwiftShader) one
// regl-scatterplot draw of 100,000 points took 120-200 ms (a hand-written WebGL2 renderer
// 60-90 ms); splatting the same points into an ImageData takes ~14 ms for the large view and
// ~4 ms for a small multiple, so a pan frame and a linked selection across 13 maps stay in budget.
"use strict";
(function () {
  // What every view draws from besides its own positions and colours (cellscape.mapView.drawState),
  // filled in by the page (explorer_state.js, explorer_maps.js, explorer_selection.js).
  const drawState = {
    n: 0,
    order: null,        // Uint32Array: draw order with the misclassified cells last
    plainOrder: null,   // Uint32Array: 0 ... n - 1
    sel: null,          // Uint8Array: 1 = in the linked selection
    selCount: 0,
    mis: null,          // Uint8Array: 1 = misclassified
    markMis: false,     // draw misclassified cells with a dark outline
    extra: null,        // Uint8Array: extra radius per cell (size by uncertainty) or null
    frameTimes: [],
    inputAt: 0,         // performance.now() of the last selection/tap input, until drawn
    lastLatency: null,  // ms from that input to the end of the frame that showed it
    inputsShown: 0,     // how many such inputs have been drawn (latencies can repeat)
  };

  // ---- render scheduler: one requestAnimationFrame for all views --------------------------------
  const dirtyPoints = new Set(), dirtyOverlay = new Set();
  let scheduled = false;
  function schedule() {
    if (!scheduled) { scheduled = true; requestAnimationFrame(tick); }
  }
  function tick() {
    scheduled = false;
    const t0 = performance.now();
    let drew = false;
    const points = Array.from(dirtyPoints);
    dirtyPoints.clear();
    for (const v of points) { v.renderPoints(); drew = true; dirtyOverlay.add(v); }
    const overlays = Array.from(dirtyOverlay);
    dirtyOverlay.clear();
    for (const v of overlays) v.renderOverlay();
    if (drew) {
      if (drawState.inputAt) { drawState.lastLatency = performance.now() - drawState.inputAt; drawState.inputAt = 0; drawState.inputsShown++; }
      const ft = drawState.frameTimes;
      ft.push(performance.now() - t0);
      if (ft.length > 600) ft.splice(0, ft.length - 600);
    }
    for (const fn of afterFrame.splice(0)) fn();
  }
  const afterFrame = [];
  // Resolve after the next frame has been drawn.
  function nextFrame() {
    return new Promise(resolve => { afterFrame.push(resolve); schedule(); });
  }

  const MAX_R = 10;

  class MapView {
    constructor(host, opts) {
      this.host = host;
      this.name = opts.name;
      this.small = !!opts.small;
      this.dpr = Math.min(2, window.devicePixelRatio || 1);
      this.on = opts.on || {};
      host.classList.add("mapview");
      this.bgCanvas = null;
      if (opts.boundary) {
        this.bgCanvas = document.createElement("canvas");
        this.bgCanvas.className = "mv-boundary";
        host.appendChild(this.bgCanvas);
      }
      this.canvas = document.createElement("canvas");
      this.canvas.className = "mv-points";
      this.overlay = document.createElement("canvas");
      this.overlay.className = "mv-overlay";
      host.appendChild(this.canvas);
      host.appendChild(this.overlay);
      this.ctx = this.canvas.getContext("2d");
      this.octx = this.overlay.getContext("2d");
      this.rings = null;          // {tapped, neighbours: Uint32Array|null}
      this.hovered = -1;
      this.lasso = null;          // [u0, v0, u1, v1, ...] in map coordinates while lassoing
      this.extras = null;         // function(view, ctx) drawing extra overlay content
      this.boundaryImage = null;
      this.anim = null;
      this.n = 0;
      this.resize(opts.width, opts.height);
      this.listen();
    }

    // ---- geometry ---------------------------------------------------------------------------
    resize(w, h) {
      const dpr = this.dpr;
      this.w = w; this.h = h;
      this.cw = Math.round(w * dpr); this.ch = Math.round(h * dpr);
      for (const c of [this.canvas, this.overlay, this.bgCanvas]) {
        if (!c) continue;
        c.width = this.cw; c.height = this.ch;
        c.style.width = w + "px"; c.style.height = h + "px";
      }
      this.host.style.width = w + "px"; this.host.style.height = h + "px";
      this.img = this.ctx.createImageData(this.cw, this.ch);
      this.px8 = new Uint8Array(this.img.data.buffer);
      this.px32 = new Uint32Array(this.img.data.buffer);
      this.stamps = []; this.stampDx = []; this.stampDy = [];
      for (let r = 0; r <= MAX_R; r++) {
        const offs = [], dxs = [], dys = [];
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++)
            if (dx * dx + dy * dy <= r * r + 0.8 * r) { offs.push((dy * this.cw + dx) * 4); dxs.push(dx); dys.push(dy); }
        this.stamps.push(Int32Array.from(offs)); this.stampDx.push(Int32Array.from(dxs)); this.stampDy.push(Int32Array.from(dys));
      }
      this.fit();
    }

    fit() {
      const s = 0.92 * Math.min(this.cw, this.ch);
      this.fitScale = s;
      this.s = s; this.ox = (this.cw - s) / 2; this.oy = (this.ch + s) / 2;
      this.changed();
    }

    // Allocate the per-cell arrays (once per data set).
    setCount(n) {
      this.n = n;
      this.wx = new Float32Array(n); this.wy = new Float32Array(n);
      this.G = Math.max(8, Math.min(256, Math.round(Math.sqrt(n / 3))));
      this.cellStart = new Uint32Array(this.G * this.G + 1);
      this.cursor = new Uint32Array(this.G * this.G);
      this.items = new Uint32Array(n);
      this.bucketOf = new Uint32Array(n);
      this.indexStale = true;
    }

    // Show map positions: (1 - g) * (x, y) + g * (gx, gy), scaled to the unit square.
    setPositions(map, g) {
      if (this.anim) { this.anim = null; }
      lerpInto(this.wx, this.wy, map, g);
      this.indexStale = true;
      this.changed();
    }

    // Animate from the current positions to another map's (ms milliseconds).
    transitionTo(map, g, ms) {
      if (!this.fromX) {
        const n = this.n;
        this.fromX = new Float32Array(n); this.fromY = new Float32Array(n);
        this.toX = new Float32Array(n); this.toY = new Float32Array(n);
      }
      if (this.anim) this.anim.resolve();
      this.fromX.set(this.wx); this.fromY.set(this.wy);
      lerpInto(this.toX, this.toY, map, g);
      this.indexStale = true;
      return new Promise(resolve => {
        this.anim = {t0: performance.now(), ms, resolve};
        this.changed();
      });
    }

    stepAnim(now) {
      const a = this.anim;
      let t = Math.min(1, (now - a.t0) / a.ms);
      const e = t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2;
      const wx = this.wx, wy = this.wy, fx = this.fromX, fy = this.fromY, tx = this.toX, ty = this.toY;
      for (let i = 0, n = this.n; i < n; i++) { wx[i] = fx[i] + e * (tx[i] - fx[i]); wy[i] = fy[i] + e * (ty[i] - fy[i]); }
      this.indexStale = true;
      if (t >= 1) { this.anim = null; a.resolve(); } else { dirtyPoints.add(this); schedule(); }
    }

    get transitioning() { return !!this.anim; }

    // Camera: canvas pixel X = ox + u * s, Y = oy - v * s for map coordinates (u, v) in [0, 1].
    toCanvas(i) { return [this.ox + this.wx[i] * this.s, this.oy - this.wy[i] * this.s]; }
    clientPoint(i) {
      const r = this.overlay.getBoundingClientRect(), [X, Y] = this.toCanvas(i);
      return {x: r.left + X / this.dpr, y: r.top + Y / this.dpr};
    }
    zoom() { return this.s / this.fitScale; }
    viewRect() {   // [u0, v0, u1, v1] of the viewport
      return [-this.ox / this.s, (this.oy - this.ch) / this.s, (this.cw - this.ox) / this.s, this.oy / this.s];
    }

    changed() { dirtyPoints.add(this); schedule(); if (this.on.camera) this.on.camera(this); }
    redraw() { dirtyPoints.add(this); schedule(); }
    redrawOverlay() { dirtyOverlay.add(this); schedule(); }

    // ---- spatial index ----------------------------------------------------------------------
    buildIndex() {
      const G = this.G, n = this.n, wx = this.wx, wy = this.wy, cs = this.cellStart, bo = this.bucketOf;
      cs.fill(0);
      for (let i = 0; i < n; i++) {
        let bx = (wx[i] * G) | 0, by = (wy[i] * G) | 0;
        bx = bx < 0 ? 0 : bx >= G ? G - 1 : bx; by = by < 0 ? 0 : by >= G ? G - 1 : by;
        const b = by * G + bx;
        bo[i] = b; cs[b + 1]++;
      }
      for (let b = 0; b < G * G; b++) cs[b + 1] += cs[b];
      const cur = this.cursor;
      cur.set(cs.subarray(0, G * G));
      const items = this.items;
      for (let i = 0; i < n; i++) items[cur[bo[i]]++] = i;
      this.indexStale = false;
    }
    ensureIndex() { if (this.indexStale) this.buildIndex(); }
    bucketRange(u0, v0, u1, v1) {
      const G = this.G, c = x => Math.max(0, Math.min(G - 1, Math.floor(x * G)));
      return [c(u0), c(v0), c(u1), c(v1)];
    }

    // Visit cells inside a map rectangle; fn(i) returning true stops. Returns the count visited.
    forEachIn(u0, v0, u1, v1, fn) {
      this.ensureIndex();
      const [bx0, by0, bx1, by1] = this.bucketRange(u0, v0, u1, v1);
      const G = this.G, cs = this.cellStart, items = this.items, wx = this.wx, wy = this.wy;
      let count = 0;
      for (let by = by0; by <= by1; by++)
        for (let bx = bx0; bx <= bx1; bx++) {
          const b = by * G + bx;
          for (let k = cs[b], e = cs[b + 1]; k < e; k++) {
            const i = items[k], x = wx[i], y = wy[i];
            if (x < u0 || x > u1 || y < v0 || y > v1) continue;
            count++;
            if (fn && fn(i)) return count;
          }
        }
      return count;
    }

    visibleCount() { const r = this.viewRect(); return this.forEachIn(r[0], r[1], r[2], r[3], null); }

    // Nearest cell within `px` CSS pixels of a canvas point, or -1.
    nearest(X, Y, px) {
      const s = this.s, u = (X - this.ox) / s, v = (this.oy - Y) / s, r = px * this.dpr / s;
      let best = -1, bestD = r * r;
      const wx = this.wx, wy = this.wy;
      this.forEachIn(u - r, v - r, u + r, v + r, i => {
        const dx = wx[i] - u, dy = wy[i] - v, d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      });
      return best;
    }

    // Sorted indices (Uint32Array) of the cells inside a polygon [u0, v0, u1, v1, ...] (map
    // coordinates): the cells of the buckets under the polygon's bounding box are tested against
    // its edges; no allocation per cell beyond the result.
    inPolygon(poly) {
      let u0 = Infinity, v0 = Infinity, u1 = -Infinity, v1 = -Infinity;
      for (let k = 0; k < poly.length; k += 2) {
        u0 = Math.min(u0, poly[k]); u1 = Math.max(u1, poly[k]); v0 = Math.min(v0, poly[k + 1]); v1 = Math.max(v1, poly[k + 1]);
      }
      const P = Float64Array.from(poly), m = P.length, wx = this.wx, wy = this.wy;
      const out = new Uint32Array(this.n);
      let cnt = 0;
      this.forEachIn(u0, v0, u1, v1, i => {
        const x = wx[i], y = wy[i];
        let inside = false;
        for (let a = 0, c = m - 2; a < m; c = a, a += 2) {
          const ya = P[a + 1], yc = P[c + 1];
          if ((ya > y) !== (yc > y) && x < (P[c] - P[a]) * (y - ya) / (yc - ya) + P[a]) inside = !inside;
        }
        if (inside) out[cnt++] = i;
      });
      return out.slice(0, cnt).sort();
    }

    // ---- drawing ----------------------------------------------------------------------------
    baseRadius() {
      const n = this.n, z = Math.log2(Math.max(1, this.zoom()));
      const base = this.small ? (n > 20000 ? 0 : n > 3000 ? 1 : 2) : (n > 20000 ? 1 : n > 3000 ? 2 : 3);
      const r = Math.round((base + Math.floor(z / (this.small ? 1.5 : 1.2))) * this.dpr);
      return Math.min(this.small ? 4 : 7, r);
    }

    renderPoints() {
      if (this.anim) this.stepAnim(performance.now());
      const W = this.cw, H = this.ch, d = this.px8;
      this.px32.fill(0xffffffff);
      if (this.n && this.colours) {
        const S = drawState, sel = S.sel, mis = S.mis, extra = this.small ? null : S.extra;
        const cols = this.colours, wx = this.wx, wy = this.wy, s = this.s, ox = this.ox, oy = this.oy;
        const stamps = this.stamps, sdx = this.stampDx, sdy = this.stampDy;
        // Misclassified cells are drawn last with a dark outline only where points do not pile
        // up (few cells, or the large view zoomed in): drawn last in a crowd, the 5% minority
        // would cover the majority's pixels and invert the picture.
        const dim = S.selCount > 0;
        const markMis = S.markMis && (this.small ? this.n <= 500 : this.n <= 20000 || this.zoom() >= 6);
        const order = markMis ? S.order : S.plainOrder;
        const R = this.baseRadius(), M = R + 4 + (extra ? 3 : 0);
        const alpha = this.small ? (this.n > 20000 ? 150 : 200) : (this.n > 20000 ? 190 : 225);
        const dimAlpha = this.small ? 110 : 140, selAlpha = 245;
        const splat = (x, y, r, c, a) => {
          const ia = 256 - a, cr = ((c >>> 16) & 255) * a, cg = ((c >>> 8) & 255) * a, cb = (c & 255) * a;
          if (x >= r && y >= r && x < W - r && y < H - r) {
            const offs = stamps[r], base = (y * W + x) << 2;
            for (let k = 0, e = offs.length; k < e; k++) {
              const o = base + offs[k];
              d[o] = (d[o] * ia + cr) >> 8; d[o + 1] = (d[o + 1] * ia + cg) >> 8; d[o + 2] = (d[o + 2] * ia + cb) >> 8;
            }
          } else {
            const dxs = sdx[r], dys = sdy[r];
            for (let k = 0, e = dxs.length; k < e; k++) {
              const xx = x + dxs[k], yy = y + dys[k];
              if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
              const o = (yy * W + xx) << 2;
              d[o] = (d[o] * ia + cr) >> 8; d[o + 1] = (d[o + 1] * ia + cg) >> 8; d[o + 2] = (d[o + 2] * ia + cb) >> 8;
            }
          }
        };
        for (let pass = 0; pass < (dim ? 2 : 1); pass++) {
          for (let j = 0, n = order.length; j < n; j++) {
            const i = order[j];
            if (dim && (pass === 0) === (sel[i] === 1)) continue;
            const fx = ox + wx[i] * s, fy = oy - wy[i] * s;
            if (fx < -M || fy < -M || fx >= W + M || fy >= H + M) continue;
            const x = Math.floor(fx), y = Math.floor(fy);
            const r = extra ? Math.min(MAX_R - 1, R + extra[i]) : R;
            let c = cols[i], a = alpha;
            if (dim && pass === 0) {   // not selected: faded towards light grey
              c = ((((c >>> 16) & 255) + 3 * 225) >> 2) << 16 | ((((c >>> 8) & 255) + 3 * 225) >> 2) << 8 | (((c & 255) + 3 * 225) >> 2);
              a = dimAlpha;
            } else if (dim) a = selAlpha;
            if (markMis && mis[i] && !(dim && pass === 0)) { splat(x, y, r + 1, 0x1a1a1a, 235); a = 255; }
            splat(x, y, r, c, a);
          }
        }
      }
      this.ctx.putImageData(this.img, 0, 0);
      if (this.bgCanvas) this.renderBoundary();
    }

    renderBoundary() {
      const c = this.bgCanvas.getContext("2d");
      c.setTransform(1, 0, 0, 1, 0, 0);
      c.fillStyle = "#fff";
      c.fillRect(0, 0, this.cw, this.ch);
      if (this.boundaryImage) {
        c.globalAlpha = 0.35;
        c.imageSmoothingEnabled = true;
        c.drawImage(this.boundaryImage, this.ox, this.oy - this.s, this.s, this.s);
        c.globalAlpha = 1;
      }
    }

    renderOverlay() {
      const c = this.octx, dpr = this.dpr;
      c.setTransform(1, 0, 0, 1, 0, 0);
      c.clearRect(0, 0, this.cw, this.ch);
      if (!this.n) return;
      if (this.extras) this.extras(this, c);
      const ring = (i, rad, colour, width) => {
        const [X, Y] = this.toCanvas(i);
        if (X < -20 || Y < -20 || X > this.cw + 20 || Y > this.ch + 20) return;
        c.beginPath(); c.arc(X, Y, rad * dpr, 0, 2 * Math.PI);
        c.lineWidth = (width + 2) * dpr; c.strokeStyle = "rgba(255,255,255,0.9)"; c.stroke();
        c.lineWidth = width * dpr; c.strokeStyle = colour; c.stroke();
      };
      const small = this.small;
      if (this.rings && this.rings.tapped >= 0) {
        if (this.rings.neighbours) for (const j of this.rings.neighbours) ring(j, small ? 3.5 : 6, "#ff7f00", small ? 1.5 : 2);
        ring(this.rings.tapped, small ? 5 : 9, "#000", small ? 2 : 2.5);
      }
      if (this.hovered >= 0) ring(this.hovered, small ? 4 : 7, "#e6007e", 2);
      if (this.lasso && this.lasso.length >= 4) {
        c.beginPath();
        for (let k = 0; k < this.lasso.length; k += 2) {
          const X = this.ox + this.lasso[k] * this.s, Y = this.oy - this.lasso[k + 1] * this.s;
          if (k) c.lineTo(X, Y); else c.moveTo(X, Y);
        }
        c.closePath();
        c.fillStyle = "rgba(0,120,255,0.08)"; c.fill();
        c.lineWidth = 1.5 * dpr; c.strokeStyle = "#0078ff"; c.setLineDash([5 * dpr, 3 * dpr]); c.stroke(); c.setLineDash([]);
      }
    }

    // ---- pointer interaction ----------------------------------------------------------------
    listen() {
      const el = this.overlay;
      let down = null, hoverQueued = null;
      const local = e => { const r = el.getBoundingClientRect(); return [(e.clientX - r.left) * this.dpr, (e.clientY - r.top) * this.dpr]; };
      el.addEventListener("pointerdown", e => {
        if (e.button !== 0) return;
        e.preventDefault();
        el.setPointerCapture(e.pointerId);
        const [X, Y] = local(e);
        down = {X, Y, lastX: X, lastY: Y, moved: false, lasso: e.shiftKey};
        if (down.lasso) { this.lasso = [(X - this.ox) / this.s, (this.oy - Y) / this.s]; this.setHover(-1, e); }
      });
      el.addEventListener("pointermove", e => {
        const [X, Y] = local(e);
        if (down) {
          if (Math.hypot(X - down.X, Y - down.Y) > 4 * this.dpr) down.moved = true;
          if (down.lasso) {
            const u = (X - this.ox) / this.s, v = (this.oy - Y) / this.s, L = this.lasso;
            const du = (u - L[L.length - 2]) * this.s, dv = (v - L[L.length - 1]) * this.s;
            if (du * du + dv * dv >= 4 * this.dpr * this.dpr) { L.push(u, v); this.redrawOverlay(); }
          } else if (down.moved) {
            this.ox += X - down.lastX; this.oy += Y - down.lastY;
            down.lastX = X; down.lastY = Y;
            if (this.hovered >= 0) this.setHover(-1, e);
            this.changed();
          }
          return;
        }
        if (!hoverQueued) requestAnimationFrame(() => {
          const q = hoverQueued; hoverQueued = null;
          if (!q || down || !this.n) return;
          this.setHover(this.nearest(q.X, q.Y, this.small ? 5 : 7), q.e);
        });
        hoverQueued = {X, Y, e};
      });
      const finish = e => {
        if (!down) return;
        drawState.inputAt = performance.now();
        const d = down; down = null;
        if (d.lasso) {
          const L = this.lasso; this.lasso = null; this.redrawOverlay();
          if (L && L.length >= 6 && d.moved && this.on.lasso) this.on.lasso(this, this.inPolygon(L));
          else if (!d.moved && this.on.click) this.on.click(this, this.n ? this.nearest(d.X, d.Y, this.small ? 5 : 7) : -1, e);
          return;
        }
        if (!d.moved && this.on.click) this.on.click(this, this.n ? this.nearest(d.X, d.Y, this.small ? 5 : 7) : -1, e);
      };
      el.addEventListener("pointerup", finish);
      el.addEventListener("pointercancel", () => { down = null; this.lasso = null; this.redrawOverlay(); });
      el.addEventListener("pointerleave", e => { if (!down) { hoverQueued = null; this.setHover(-1, e); } });
      el.addEventListener("wheel", e => {
        e.preventDefault();
        const [X, Y] = local(e);
        const dy = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
        let f = Math.exp(-dy * 0.0015);
        const s = Math.max(this.fitScale * 0.5, Math.min(this.fitScale * 4000, this.s * f));
        f = s / this.s;
        this.ox = X - (X - this.ox) * f; this.oy = Y - (Y - this.oy) * f; this.s = s;
        this.changed();
      }, {passive: false});
      el.addEventListener("dblclick", e => { e.preventDefault(); this.fit(); });
    }

    setHover(i, e) {
      if (i === this.hovered) { if (i >= 0 && this.on.hover) this.on.hover(this, i, e); return; }
      this.hovered = i;
      this.redrawOverlay();
      if (this.on.hover) this.on.hover(this, i, e);
    }
  }

  function lerpInto(outX, outY, map, g) {
    const x = map.x, y = map.y, gx = map.gx, gy = map.gy, n = outX.length, k = 1 / 65535;
    if (g <= 0) for (let i = 0; i < n; i++) { outX[i] = x[i] * k; outY[i] = y[i] * k; }
    else {
      const h = 1 - g;
      for (let i = 0; i < n; i++) { outX[i] = (h * x[i] + g * gx[i]) * k; outY[i] = (h * y[i] + g * gy[i]) * k; }
    }
  }

  window.cellscape.mapView = {MapView, drawState, nextFrame};
})();
