// Makes COUNT input sets from one by perturbing it: a random gain in [0.8, 1.2], Gaussian noise
// of 5% of the input's standard deviation, and a random circular shift along the largest
// non-batch axis (time for audio features, width for images). Seeded, so reruns are identical.
//   node tests/compress/make_sets.js SRC_SET_DIR OUT_DIR COUNT SEED
'use strict';
const fs = require('fs');
const path = require('path');
const { decodeTensor, encodeTensor } = require('../models/tensor_pb');

const { rng } = require('./rng');

function perturb(t, rand) {
  const x = t.data;
  const n = x.length;
  let mean = 0, sq = 0;
  for (let i = 0; i < n; ++i) { mean += x[i]; sq += x[i] * x[i]; }
  mean /= n;
  const std = Math.sqrt(Math.max(sq / n - mean * mean, 0));
  const gain = 0.8 + 0.4 * rand();
  let axis = 1;
  for (let a = 1; a < t.dims.length; ++a) if (t.dims[a] > t.dims[axis]) axis = a;
  const size = t.dims[axis] || 1;
  const inner = t.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const shift = Math.floor(rand() * size * 0.25);
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    const pos = Math.floor(i / inner) % size;
    const src = i + (((pos + shift) % size) - pos) * inner;
    const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    out[i] = x[src] * gain + 0.05 * std * g;
  }
  return out;
}

const [src, outDir, countArg, seedArg] = process.argv.slice(2);
if (!seedArg) { console.error('usage: make_sets.js SRC_SET_DIR OUT_DIR COUNT SEED'); process.exit(2); }
const rand = rng(Number(seedArg));
for (let s = 0; s < Number(countArg); ++s) {
  const dir = path.join(outDir, `test_data_set_${s}`);
  fs.mkdirSync(dir, { recursive: true });
  for (let k = 0; fs.existsSync(path.join(src, `input_${k}.pb`)); ++k) {
    const t = decodeTensor(fs.readFileSync(path.join(src, `input_${k}.pb`)));
    const data = t.type === 'float32' ? perturb(t, rand) : t.data;
    fs.writeFileSync(path.join(dir, `input_${k}.pb`), encodeTensor(t.name, t.type, t.dims, data));
  }
}
