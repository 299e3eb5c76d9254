// Runs a model with ONNX Runtime (onnxruntime-node from scripts/setup_ort.sh) on
// INPUT_DIR/input_K.pb and writes OUTPUT_DIR/output_K.pb, for comparing with `tern run`.
//   node tests/compress/ort_run.js MODEL.onnx INPUT_DIR OUTPUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const { createRequire } = require('module');
const { decodeTensor, encodeTensor } = require('../models/tensor_pb');

const TERN_CACHE = process.env.TERN_CACHE || path.join(os.homedir(), '.cache', 'tern');
const ort = createRequire(path.join(TERN_CACHE, 'ort', 'package.json'))('onnxruntime-node');

async function main() {
  const [model, inputDir, outputDir] = process.argv.slice(2);
  if (!outputDir) throw new Error('usage: ort_run.js MODEL INPUT_DIR OUTPUT_DIR');
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  const feeds = {};
  session.inputNames.forEach((name, k) => {
    const t = decodeTensor(fs.readFileSync(path.join(inputDir, `input_${k}.pb`)));
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });
  const results = await session.run(feeds);
  fs.mkdirSync(outputDir, { recursive: true });
  session.outputNames.forEach((name, k) => {
    const t = results[name];
    fs.writeFileSync(path.join(outputDir, `output_${k}.pb`), encodeTensor(name, t.type, t.dims, t.data));
  });
}

main().catch((e) => { console.error(`ort_run.js: ${e.message}`); process.exit(1); });
