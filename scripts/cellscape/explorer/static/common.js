// The one global of both pages (index.html, gallery.html): window.cellscape. Code modules hang
// off it by name (common, channels, data, colour, mapView, state, maps, selection, thumbnails,
// tooltip, cellPanel, ifealid, testApi); the data files assign their payload into
// cellscape.payload only (docs/explorer.md), never beside the code.
// This file: what both pages share: loading a data script, menu options, HTML escaping.
"use strict";
window.cellscape = window.cellscape || {};
window.cellscape.payload = window.cellscape.payload || {};
window.cellscape.common = (function () {
  const scripts = new Map();   // src -> Promise

  // Load a data script once with a <script> tag (fetch() of file:// URLs is blocked); the tag
  // goes once it has run (its payload stays in cellscape.payload).
  function loadScript(src) {
    if (!scripts.has(src)) {
      scripts.set(src, new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = src;
        tag.onload = () => { tag.remove(); resolve(); };
        tag.onerror = () => {
          tag.remove(); scripts.delete(src);
          reject(new Error("cannot load " + src + " (is the explorer folder complete?)"));
        };
        document.head.appendChild(tag);
      }));
    }
    return scripts.get(src);
  }

  // Append <option value=value>text</option> to a <select>.
  function option(select, value, text, disabled) {
    const opt = document.createElement("option");
    opt.value = value; opt.textContent = text; opt.disabled = !!disabled;
    select.appendChild(opt);
    return opt;
  }

  // Text made safe inside HTML and attribute values.
  function esc(s) {
    return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  }

  return {loadScript, option, esc};
})();
