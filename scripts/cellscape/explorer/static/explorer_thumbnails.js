// Cell images on the large view (cellscape.thumbnails): once at most THUMB_LIMIT cells are in its
// viewport, each is drawn as its image (the channels that are on), framed in its point's colour.
"use strict";
(function () {
  const cs = window.cellscape, D = cs.data;
  const {st} = cs.state;
  const $ = id => document.getElementById(id);
  const THUMB_LIMIT = 300;

  // Count the cells in the large view's viewport; when few enough, ask for their images.
  function update() {
    const v = st.main;
    if (!v || !v.n) return;
    if (v.transitioning) { st.thumbCount = 0; v.redrawOverlay(); return; }
    const r = v.viewRect(), list = st.thumbList;
    let cnt = 0;
    v.forEachIn(r[0], r[1], r[2], r[3], i => { if (cnt < list.length) list[cnt] = i; cnt++; return cnt > THUMB_LIMIT; });
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

  // Draw the loaded images into view v's overlay context c (the view's `extras` hook).
  function draw(v, c) {
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

  window.cellscape.thumbnails = {update, draw};
})();
