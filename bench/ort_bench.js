#!/usr/bin/env node
// Times ONNX Runtime (onnxruntime-node, CPU EP, graph optimization 'all') on one model in this
// process, the way `tern bench --json` times Tern, and prints one JSON line.
//
//   node bench/ort_bench.js MODEL INPUT_DIR THREADS RUNS WARMUP
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const { createRequire } = require('module');
const { decodeTensor } = require('../tests/models/tensor_pb');

const TERN_CACHE = process.env.TERN_CACHE || path.join(os.homedir(), '.cache', 'tern');
const ort = createRequire(path.join(TERN_CACHE, 'ort', 'package.json'))('onnxruntime-node');

function rssMb(field) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(field + ':\\s+(\\d+)'));
  return m ? Number(m[1]) / 1024 : 0;
}
const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (v) => quantile(v, 0.5);
function quantile(v, p) {
  const s = [...v].sort((a, b) => a - b);
  const i = p * (s.length - 1), lo = Math.floor(i), hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}

async function main() {
  const [model, inputDir, threadsArg, runsArg, warmupArg] = process.argv.slice(2);
  const threads = Number(threadsArg || 1), runs = Number(runsArg || 100), warmup = Number(warmupArg || 10);
  const options = {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all',
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
  };
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch (e) { /* peak reset unsupported */ }
  const rssBefore = rssMb('VmRSS');
  let t0 = now();
  const session = await ort.InferenceSession.create(model, options);
  const loadMs = now() - t0;
  const feeds = {};
  session.inputNames.forEach((name, k) => {
    const t = decodeTensor(fs.readFileSync(path.join(inputDir, `input_${k}.pb`)));
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });
  t0 = now();
  await session.run(feeds);
  const firstMs = now() - t0;
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const r0 = now();
    await session.run(feeds);
    times.push(now() - r0);
  }
  console.log(JSON.stringify({
    load_ms: loadMs, first_run_ms: firstMs, median_ms: median(times), p90_ms: quantile(times, 0.9),
    min_ms: Math.min(...times), peak_rss_mb: rssMb('VmHWM'), rss_before_mb: rssBefore,
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
