// Driver of bench/compare_ort: every measurement is a fresh process (tern bench --json, or
// bench/ort_bench.js), rounds interleave Tern and ORT, and the table reports the median over
// rounds of each side's median latency.
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const os = require('os');

const ROOT = path.resolve(__dirname, '..');
const TERN_CACHE = process.env.TERN_CACHE || path.join(os.homedir(), '.cache', 'tern');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const rounds = Number(opt('--rounds', 3));
const runs = Number(opt('--runs', 50));
const models = opt('--models', 'ppocr_det_v4,ppocr_cls,oww_embedding,oww_melspectrogram,silero_vad_v5').split(',');
const threadsList = [1, 2];

const lastJson = (out) => JSON.parse(out.trim().split('\n').pop());
const median = (v) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function tern(model, dir, threads, n) {
  return lastJson(execFileSync(path.join(ROOT, 'build/release/tern'),
    ['bench', model, '--input-dir', dir, '--threads', String(threads), '--runs', String(n), '--warmup', '5', '--json'],
    { encoding: 'utf8', maxBuffer: 1 << 24 }));
}
function ortRun(model, dir, threads, n) {
  return lastJson(execFileSync('node', [path.join(__dirname, 'ort_bench.js'), model, dir, String(threads), String(n), '5'],
    { encoding: 'utf8', maxBuffer: 1 << 24 }));
}

// ORT's binding floor: a one-node Identity model.
const identity = '/usr/share/libonnx-testdata/data/node/test_identity';
const floor = median([0, 1, 2].map(() => ortRun(`${identity}/model.onnx`, `${identity}/test_data_set_0`, 1, 200).median_ms));

const results = {};
for (let r = 0; r < rounds; r++) {
  for (const m of models) {
    const model = path.join(TERN_CACHE, 'models', `${m}.onnx`);
    const dir = path.join(ROOT, 'tests/models', m, 'test_data_set_0');
    for (const t of threadsList) {
      const n = m === 'ppocr_det_v4' ? Math.max(5, Math.floor(runs / 5)) : runs;
      for (const [side, fn] of [['tern', tern], ['ort', ortRun]]) {
        const key = `${m}|${t}|${side}`;
        let res;
        try { res = fn(model, dir, t, n); } catch (e) { res = null; process.stderr.write(`${side} ${m} t=${t}: failed\n`); }
        (results[key] = results[key] || []).push(res);
      }
    }
  }
  process.stderr.write(`round ${r + 1}/${rounds} done\n`);
}

const fmt = (x, d = 3) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const pick = (key, f) => { const v = (results[key] || []).filter(Boolean).map(f); return v.length ? median(v) : NaN; };
console.log(`ORT binding floor (Identity model, 1 thread): ${fmt(floor, 4)} ms per run`);
console.log('model               | tern 1t ms | ort 1t ms | ratio 1t | tern 2t ms | ort 2t ms | ratio 2t | load ratio | mem growth MB tern/ort');
console.log('--------------------|------------|-----------|----------|------------|-----------|----------|------------|-----------------------');
const ratios = { 1: [], 2: [] };
for (const m of models) {
  const row = [m.padEnd(19)];
  for (const t of threadsList) {
    const a = pick(`${m}|${t}|tern`, (x) => x.median_ms), b = pick(`${m}|${t}|ort`, (x) => x.median_ms);
    row.push(fmt(a, 4).padStart(10), fmt(b, 4).padStart(9), fmt(a / b, 2).padStart(8));
    if (a > 0 && b > 0) ratios[t].push(a / b);
  }
  const la = pick(`${m}|1|tern`, (x) => x.load_ms), lb = pick(`${m}|1|ort`, (x) => x.load_ms);
  const ga = pick(`${m}|1|tern`, (x) => x.peak_rss_mb - x.rss_before_mb);
  const gb = pick(`${m}|1|ort`, (x) => x.peak_rss_mb - x.rss_before_mb);
  row.push(fmt(la / lb, 2).padStart(10), `${fmt(ga, 1)} / ${fmt(gb, 1)}`.padStart(22));
  console.log(row.join(' | '));
}
const geo = (v) => (v.length ? Math.exp(v.reduce((s, x) => s + Math.log(x), 0) / v.length) : NaN);
console.log(`geometric mean Tern/ORT latency: 1 thread ${fmt(geo(ratios[1]), 3)}, 2 threads ${fmt(geo(ratios[2]), 3)}` +
  ` (rounds=${rounds}, runs=${runs}; medians over rounds)`);

// Library sizes: libtern.so stripped (core + reference + cpu providers) against ORT's CPU library
// as shipped in the npm package. libtern also needs the system's libprotobuf and libonnx (the
// importer and the opset converter); they are listed, not hidden.
const fs = require('fs');
const MB = (b) => (b / 1e6).toFixed(2);
function strippedSize(lib) {
  const tmp = path.join(os.tmpdir(), `tern-size-${process.pid}.so`);
  try {
    execFileSync('strip', ['-o', tmp, lib]);
    return fs.statSync(tmp).size;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
const ternLib = path.join(ROOT, 'build/release/libtern.so');
const ortLib = path.join(TERN_CACHE, 'ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1');
if (fs.existsSync(ternLib)) {
  const deps = execFileSync('ldd', [ternLib], { encoding: 'utf8' }).split('\n')
    .map((l) => l.match(/(lib(?:protobuf|onnx|onnx_proto)\.so[^ ]*) => (\S+)/)).filter(Boolean)
    .map((x) => `${x[1]} ${MB(fs.statSync(x[2]).size)} MB`);
  const ortSize = fs.existsSync(ortLib) ? `${MB(fs.statSync(ortLib).size)} MB` : 'n/a';
  console.log(`libtern.so stripped: ${MB(strippedSize(ternLib))} MB (system libraries it links: ` +
    `${deps.join(', ')}); ORT libonnxruntime.so: ${ortSize}`);
}
