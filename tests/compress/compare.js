// Compares two folders of output_K.pb (float32): prints max abs difference, SQNR (first folder as
// reference) and the largest value of the reference; exits 1 when SQNR is below MIN_DB.
//   node tests/compress/compare.js REF_DIR GOT_DIR MIN_DB
'use strict';
const fs = require('fs');
const path = require('path');
const { decodeTensor } = require('../models/tensor_pb');

const [refDir, gotDir, minArg] = process.argv.slice(2);
let ok = true;
for (let k = 0; fs.existsSync(path.join(refDir, `output_${k}.pb`)); ++k) {
  const r = decodeTensor(fs.readFileSync(path.join(refDir, `output_${k}.pb`)));
  const g = decodeTensor(fs.readFileSync(path.join(gotDir, `output_${k}.pb`)));
  if (r.data.length !== g.data.length) { console.log(`output ${k}: sizes differ`); ok = false; continue; }
  let maxAbs = 0, signal = 0, noise = 0, peak = 0;
  for (let i = 0; i < r.data.length; ++i) {
    const d = r.data[i] - g.data[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
    peak = Math.max(peak, Math.abs(r.data[i]));
    signal += r.data[i] * r.data[i];
    noise += d * d;
  }
  const sqnr = noise > 0 ? 10 * Math.log10(signal / noise) : Infinity;
  const pass = sqnr >= Number(minArg);
  ok = ok && pass;
  console.log(`output ${k}: max abs ${maxAbs.toPrecision(4)} (peak ${peak.toPrecision(4)}), ` +
              `SQNR ${sqnr.toFixed(2)} dB ${pass ? 'ok' : `< ${minArg}`}`);
}
process.exit(ok ? 0 : 1);
