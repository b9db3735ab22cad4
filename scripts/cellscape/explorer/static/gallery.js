// Feature-image gallery: cards cut from per-layer sprite sheets with CSS background offsets.
"use strict";
(function () {
  const G = CELLSCAPE.gallery;
  CELLSCAPE.galleryLayers = CELLSCAPE.galleryLayers || {};
  const $ = id => document.getElementById(id);
  const style = document.createElement("style");
  document.head.appendChild(style);
  const IMG = 80, TOP = 39;

  function spriteDiv(cls, index, columns, display, title) {
    const d = document.createElement("div");
    const col = index % columns, row = Math.floor(index / columns);
    d.className = "sprite " + cls;
    d.style.width = d.style.height = display + "px";
    d.style.backgroundSize = `${columns * display}px auto`;
    d.style.backgroundPosition = `${-col * display}px ${-row * display}px`;
    if (title) d.title = title;
    return d;
  }

  function feedbackColour(f) { return f < 0.5 ? "#d62728" : "#2ca02c"; }

  function render(layer) {
    const L = CELLSCAPE.galleryLayers[layer];
    style.textContent =
      `.fv-image { background-image: url(${L.images}); }\n.fv-filtered { background-image: url(${L.filtered}); }\n` +
      (L.top_sprite ? `.cell-top { background-image: url(${L.top_sprite.uri}); }` : "");
    const order = L.channels.map((_, i) => i);
    const key = $("sort").value;
    if (key !== "channel") order.sort((a, b) => L[key][b] - L[key][a]);
    const cards = $("cards");
    cards.innerHTML = "";
    for (const i of order) {
      const card = document.createElement("div");
      card.className = "card" + (L.feedback[i] < 0.5 ? " low-feedback" : "");
      card.dataset.channel = L.channels[i];
      const pair = document.createElement("div");
      pair.className = "pair";
      pair.appendChild(spriteDiv("fv-image", i, L.columns, IMG, `channel ${L.channels[i]}: feature image`));
      pair.appendChild(spriteDiv("fv-filtered", i, L.columns, IMG, `channel ${L.channels[i]}: filtered`));
      card.appendChild(pair);
      const text = document.createElement("div");
      text.innerHTML = `<b>${layer} ch ${L.channels[i]}</b> objective ${L.objective[i].toFixed(2)}<br>` +
        `feedback <span class="bar" style="width:${Math.round(60 * Math.max(0, L.feedback[i]))}px;background:${feedbackColour(L.feedback[i])}"></span> ${L.feedback[i].toFixed(2)}`;
      card.appendChild(text);
      if (L.top_sprite && L.top.length) {
        const tops = document.createElement("div");
        tops.className = "tops";
        for (const c of L.top[i]) {
          tops.appendChild(spriteDiv("cell-top", c, L.top_sprite.columns, TOP, L.top_ids[c]));
        }
        card.appendChild(tops);
      }
      cards.appendChild(card);
    }
    $("gallery-info").textContent = `${L.channels.length} channels of ${layer}` +
      (L.top.length ? `; bottom row: the ${L.top[0].length} cells with the highest mean activation` : "");
    document.body.dataset.layer = layer;
  }

  async function select(layer) {
    if (!CELLSCAPE.galleryLayers[layer]) await cs.loadScript(`data_gallery_${layer}.js`);
    render(layer);
  }

  async function init() {
    if (!G.layers.length) { $("gallery-info").textContent = "No feature images in this build."; document.body.dataset.ready = "1"; return; }
    G.layers.forEach(l => cs.option($("layer"), l.name, `${l.name} (${l.channels})`));
    $("layer").addEventListener("change", ev => select(ev.target.value));
    $("sort").addEventListener("change", () => select($("layer").value));
    await select(G.layers[0].name);
    document.body.dataset.ready = "1";
  }
  window.gallery = { select };
  init().catch(err => { document.body.dataset.error = String(err); throw err; });
})();
