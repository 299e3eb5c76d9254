// Makes COUNT synthetic "document" inputs for PP-OCR detection: a light, slightly shaded page
// with lines of dark glyph-like strokes (random bars and boxes of one text height per line), in
// the model's layout [1, 3, H, W] and normalization ((v / 255 - mean) / std, ImageNet mean/std).
// Random noise inputs make the detector answer ~0 everywhere, so SQNR on them measures nothing;
// these give a real text probability map. Seeded, so reruns are identical.
//   node tests/compress/make_text_images.js OUT_DIR COUNT SEED [SIZE]
'use strict';
const fs = require('fs');
const path = require('path');
const {encodeTensor} = require('../models/tensor_pb');

const { rng } = require('./rng');

function page(size, rand) {
  const img = new Float32Array(size * size).fill(0);
  const base = 200 + 50 * rand(), tilt = (rand() - 0.5) * 40;
  for (let y = 0; y < size; ++y)
    for (let x = 0; x < size; ++x) img[y * size + x] = base + tilt * (x / size - 0.5);
  const ink = 20 + 60 * rand();
  const fill = (x0, y0, w, h) => {
    for (let y = Math.max(0, y0); y < Math.min(size, y0 + h); ++y)
      for (let x = Math.max(0, x0); x < Math.min(size, x0 + w); ++x) img[y * size + x] = ink;
  };
  for (let y = 10 + Math.floor(rand() * 20); y < size - 40;) {
    const h = 14 + Math.floor(rand() * 22);
    let x = 10 + Math.floor(rand() * 60);
    const end = size - 10 - Math.floor(rand() * size * 0.5);
    while (x < end) {
      const gw = Math.floor(h * (0.5 + 0.5 * rand()));
      const t = Math.max(2, Math.floor(h / 8));
      const strokes = 2 + Math.floor(rand() * 3);
      for (let s = 0; s < strokes; ++s) {
        if (rand() < 0.5)
          fill(x, y + Math.floor(rand() * (h - t)), gw, t);
        else
          fill(x + Math.floor(rand() * (gw - t)), y, t, h);
      }
      x += gw + Math.floor(h * (0.15 + (rand() < 0.15 ? 0.8 : 0.1)));
    }
    y += h + 12 + Math.floor(rand() * 40);
  }
  return img;
}

const [outDir, countArg, seedArg, sizeArg] = process.argv.slice(2);
const count = Number(countArg), size = Number(sizeArg || 640);
const rand = rng(Number(seedArg));
const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
for (let k = 0; k < count; ++k) {
  const gray = page(size, rand);
  const data = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; ++c)
    for (let i = 0; i < size * size; ++i)
      data[c * size * size + i] = (gray[i] / 255 - mean[c]) / std[c];
  const dir = path.join(outDir, `test_data_set_${k}`);
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(
      path.join(dir, 'input_0.pb'), encodeTensor('x', 'float32', [1, 3, size, size], data));
}
