// The explorer page's test hooks (cellscape.testApi; stable: the tests and the benchmark drive
// the page through real pointer events and read its state through these):
//   ready                      Promise, resolved once the initial layers are drawn (and
//                              document.body.dataset.ready = "1"; on an error
//                              document.body.dataset.error = message, console.error)
//   layers()                   layer names, network order
//   currentLayer()             the large view's layer; setLayer(name) -> Promise (animated)
//   method(); setMethod(name)  -> Promise, once the method's maps are drawn
//   selected()                 sorted array of the linked selection's cell indices
//   select(indices)            programmatic selection (benchmark) -> Promise after the frame
//   tapped(); tap(index|null)  the tapped cell; tap returns a Promise once its panels are filled
//   screenPosition(view, i)    {x, y} viewport CSS pixels (what page.mouse.move takes) of cell
//                              i's point in view "main" or a layer name; scrolls that view into
//                              sight first
//   visibleCount()             cells inside the large view's viewport
//   thumbnailsShown()          thumbnails drawn on the large view's overlay
//   neighbours(layer, i)       the k neighbour indices of cell i read from the file (null until
//                              loaded: tap() loads every layer's file)
//   ifealidLastSimilarity()    {cells, raw: [Float32Array (H*W) per cell], low, high} or null
//   colourBy(name)             switch the colour menu
//   colourChoice()             the colour menu's choice (a column name, or "cluster")
//   colourOf(view, i)          [r, g, b] (0-255) cell i's point has in view "main" or a layer name
//   frameTimes                 durations (ms) of the recent render ticks (all views drawn in one
//                              animation frame)
//   heapBytes()                performance.memory.usedJSHeapSize or null
//   hovered()                  {index, thumbnail: bool} of the tooltip (also
//                              #tooltip[data-thumb] = index once its thumbnail is drawn, and
//                              #tooltip[data-channels] = the on/off mask it shows, e.g. "1011")
//   channels()                 [{name, colour, on}] of the image channels (#channels checkboxes)
//   lastInputLatency()         ms from the last lasso/click/select() to the end of the frame
//                              that showed it (includes the selection's computation)
//   inputsShown()              how many such inputs have been drawn so far (to wait for the
//                              next one: two latencies can be equal)
"use strict";
(function () {
  const cs = window.cellscape, D = cs.data, S = cs.mapView.drawState, nextFrame = cs.mapView.nextFrame;
  const {st} = cs.state;

  window.cellscape.testApi = {
    ready: cs.state.ready,
    layers: () => D.layerNames.slice(),
    currentLayer: () => st.layer,
    setLayer: name => cs.maps.setLayer(name, true),
    method: () => st.method,
    setMethod: name => cs.maps.setMethod(name),
    selected: () => Array.from(st.selection),
    select: indices => { S.inputAt = performance.now(); cs.selection.setSelection(Uint32Array.from(new Set(indices)).sort()); return nextFrame(); },
    tapped: () => (st.tapped >= 0 ? st.tapped : null),
    tap: i => cs.selection.tap(i),
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
    ifealidLastSimilarity: () => cs.ifealid.last(),
    colourBy: name => { cs.maps.setColourBy(name); return nextFrame(); },
    colourChoice: () => st.colourBy,
    colourOf(view, i) {
      const v = view === "main" ? st.main : st.multiples[view];
      if (!v) throw new Error("no view " + view);
      const c = v.colours[i];
      return [(c >>> 16) & 255, (c >>> 8) & 255, c & 255];
    },
    frameTimes: S.frameTimes,
    heapBytes: () => (performance.memory ? performance.memory.usedJSHeapSize : null),
    hovered: () => ({index: st.hovered >= 0 ? st.hovered : null, thumbnail: st.hoverThumb}),
    channels: () => D.meta.channels.map((c, k) => ({name: c.name, colour: c.colour, on: D.channelsOn[k]})),
    lastInputLatency: () => S.lastLatency,
    inputsShown: () => S.inputsShown,
  };
})();
