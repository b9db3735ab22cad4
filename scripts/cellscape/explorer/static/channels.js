// Images stored as channel planes (docs/explorer.md, "channel planes"): one uint8 grey plane per
// channel, three to a packed RGB sheet. Both pages decode the sheets here, compose the channels
// that are switched on, additively in their configured colours and clipped, and show the checkbox
// per channel that switches one on or off:
//   rgb[k] = min(255, floor((sum over channels on of plane * colour[k] + 127) / 255))
"use strict";
window.cellscape.channels = (function () {
  const scratch = document.createElement("canvas");

  // Decode the packed sheets (data URIs) of n channels -> {width, height, n, planes: Uint8Array
  // (n, height, width)}: sheet g's red, green and blue are channels 3g, 3g + 1, 3g + 2.
  async function decode(uris, n) {
    const images = await Promise.all(uris.map(uri => {
      const img = new Image();
      img.src = uri;
      return img.decode().then(() => img);
    }));
    const w = images[0].naturalWidth, h = images[0].naturalHeight, size = w * h;
    const planes = new Uint8Array(n * size);
    scratch.width = w; scratch.height = h;
    const ctx = scratch.getContext("2d", {willReadFrequently: true});
    images.forEach((img, g) => {
      ctx.clearRect(0, 0, w, h);
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, w, h).data;
      for (let band = 0; band < 3 && 3 * g + band < n; band++) {
        const out = planes.subarray((3 * g + band) * size, (3 * g + band + 1) * size);
        for (let q = 0, o = band; q < size; q++, o += 4) out[q] = d[o];
      }
    });
    scratch.width = scratch.height = 1;   // free the scratch pixels
    return {width: w, height: h, n, planes};
  }

  const rgbOf = hex => [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));

  // Image k of a decoded set (a sprite of size x size images, `columns` to a row) composed with
  // the channels whose `on` is true, into a new size x size canvas.
  function canvas(set, k, size, columns, channels, on) {
    const c = document.createElement("canvas");
    c.width = c.height = size;
    const ctx = c.getContext("2d"), img = ctx.createImageData(size, size), d = img.data;
    const plane = set.width * set.height, offsets = [], R = [], G = [], B = [];
    channels.forEach((ch, i) => {
      if (!on[i]) return;
      const [r, g, b] = rgbOf(ch.colour);
      offsets.push(i * plane); R.push(r); G.push(g); B.push(b);
    });
    const P = set.planes, m = offsets.length, x0 = (k % columns) * size, y0 = Math.floor(k / columns) * size;
    for (let y = 0; y < size; y++) {
      let o = (y0 + y) * set.width + x0, q = 4 * y * size;
      for (let x = 0; x < size; x++, o++, q += 4) {
        let r = 0, g = 0, b = 0;
        for (let j = 0; j < m; j++) { const v = P[offsets[j] + o]; r += v * R[j]; g += v * G[j]; b += v * B[j]; }
        d[q] = Math.min(255, Math.floor((r + 127) / 255));
        d[q + 1] = Math.min(255, Math.floor((g + 127) / 255));
        d[q + 2] = Math.min(255, Math.floor((b + 127) / 255));
        d[q + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    return c;
  }

  // A checkbox per channel, named beside a swatch of its colour (on dark, as the images are:
  // a dim colour such as a brightfield grey stays readable), into `host`;
  // onChange(on) gets the new on/off array whenever one is clicked.
  function toggles(host, channels, on, onChange) {
    const esc = window.cellscape.common.esc;
    host.innerHTML = `<div class="channels-title"><b>Image channels</b></div>` + channels.map((c, i) =>
      `<label class="check channel" title="${esc(c.kind || "")}"><input type="checkbox" data-channel="${esc(c.name)}"` +
      `${on[i] ? " checked" : ""}><span class="channel-name" style="color:#eee;background:#15191d;` +
      `border-left:10px solid ${esc(c.colour)};padding:0 5px;border-radius:3px">${esc(c.name)}</span></label>`).join("");
    host.querySelectorAll("input[data-channel]").forEach((box, i) => {
      box.onchange = () => { on[i] = box.checked; onChange(on.slice()); };
    });
  }

  return {decode, canvas, toggles};
})();
