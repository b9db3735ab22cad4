// The hover tooltip (cellscape.tooltip, #tooltip): the hovered cell's image, id, class,
// prediction and certainty beside the pointer, and its ring in every other view.
"use strict";
(function () {
  const cs = window.cellscape, D = cs.data, colour = cs.colour, esc = cs.common.esc;
  const S = cs.mapView.drawState;
  const {st, allViews} = cs.state;
  const $ = id => document.getElementById(id);

  // A view reports cell i (-1: none) under the pointer event e.
  function hover(view, i, e) {
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
      drawImage(i);
    }
    if (e) {
      const x = e.clientX + 16, y = e.clientY + 16, r = tip.getBoundingClientRect();
      tip.style.left = Math.min(x, window.innerWidth - r.width - 8) + "px";
      tip.style.top = (y + r.height > window.innerHeight - 8 ? e.clientY - r.height - 12 : y) + "px";
    }
  }

  // Cell i's image into the tooltip; #tooltip[data-thumb] = i and [data-channels] = the on/off
  // mask once drawn.
  function drawImage(i) {
    const tip = $("tooltip"), mask = D.channelsOn.map(Number).join("");
    D.thumbnail(i, true).then(c => {
      if (st.hovered !== i || !c) return;
      tip.querySelector("canvas").getContext("2d").drawImage(c, 0, 0);
      st.hoverThumb = true;
      tip.dataset.thumb = i;
      tip.dataset.channels = mask;
    });
  }

  // The hovered cell's image again (a channel was switched).
  function redrawImage() { if (st.hovered >= 0) drawImage(st.hovered); }

  function catLabel(col, i) {
    const k = col.data[i], c = (col.colours || [])[k] || colour.FALLBACK[k % 10];
    return `<span class="swatch" style="background:${c}"></span>${esc(col.categories[k])}`;
  }

  window.cellscape.tooltip = {hover, redrawImage};
})();
