// Feature-image gallery: cards of feature images and top-activating cells, composed (channels.js)
// from per-layer packed channel planes with the image channels that are switched on.
"use strict";
(function () {
  const {payload, common, channels: channelPlanes} = window.cellscape;
  const G = payload.gallery;
  payload.galleryLayers = payload.galleryLayers || {};
  const $ = id => document.getElementById(id);
  const IMG = 80, TOP = 39;
  const channels = G.channels, on = channels.map(() => true);
  let planes = null;   // {layer, images, filtered, top}: the shown layer's decoded planes
  let rendering = 0;

  async function decoded(layer) {
    if (planes && planes.layer === layer) return planes;
    const L = payload.galleryLayers[layer], n = channels.length;
    const [images, filtered, top] = await Promise.all([channelPlanes.decode(L.images, n), channelPlanes.decode(L.filtered, n),
      L.top_sprite ? channelPlanes.decode(L.top_sprite.images, n) : null]);
    planes = {layer, images, filtered, top};
    return planes;
  }

  function composed(cls, set, index, size, columns, display, title) {
    const c = channelPlanes.canvas(set, index, size, columns, channels, on);
    c.className = "sprite " + cls;
    c.style.width = c.style.height = display + "px";
    if (title) c.title = title;
    return c;
  }

  function feedbackColour(f) { return f < 0.5 ? "#d62728" : "#2ca02c"; }

  async function render(layer) {
    const my = ++rendering, L = payload.galleryLayers[layer], P = await decoded(layer);
    if (my !== rendering) return;
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
      pair.appendChild(composed("fv-image", P.images, i, L.size, L.columns, IMG, `channel ${L.channels[i]}: feature image`));
      pair.appendChild(composed("fv-filtered", P.filtered, i, L.size, L.columns, IMG, `channel ${L.channels[i]}: filtered`));
      card.appendChild(pair);
      const text = document.createElement("div");
      text.innerHTML = `<b>${layer} ch ${L.channels[i]}</b> objective ${L.objective[i].toFixed(2)}<br>` +
        `feedback <span class="bar" style="width:${Math.round(60 * Math.max(0, L.feedback[i]))}px;background:${feedbackColour(L.feedback[i])}"></span> ${L.feedback[i].toFixed(2)}`;
      card.appendChild(text);
      if (L.top_sprite && L.top.length) {
        const tops = document.createElement("div");
        tops.className = "tops";
        for (const c of L.top[i]) {
          tops.appendChild(composed("cell-top", P.top, c, L.top_sprite.size, L.top_sprite.columns, TOP, L.top_ids[c]));
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
    if (!payload.galleryLayers[layer]) await common.loadScript(`data_gallery_${layer}.js`);
    await render(layer);
  }

  async function init() {
    if (!G.layers.length) { $("gallery-info").textContent = "No feature images in this build."; document.body.dataset.ready = "1"; return; }
    G.layers.forEach(l => common.option($("layer"), l.name, `${l.name} (${l.channels})`));
    channelPlanes.toggles($("channels"), channels, on.slice(), now => {
      now.forEach((v, k) => { on[k] = v; });
      render($("layer").value).then(() => { document.body.dataset.channels = on.map(Number).join(""); });
    });
    $("layer").addEventListener("change", ev => select(ev.target.value));
    $("sort").addEventListener("change", () => select($("layer").value));
    await select(G.layers[0].name);
    document.body.dataset.ready = "1";
  }
  init().catch(err => { document.body.dataset.error = String(err); throw err; });
})();
