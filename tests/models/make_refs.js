#!/usr/bin/env node
// Produce ONNX Runtime reference outputs for Tern's real-model tests.
//
//   node tests/models/make_refs.js            # (re)write the reference data
//   node tests/models/make_refs.js --check    # compare committed data with a fresh ORT run
//   options: --attrs (list attribute sets per op type), model short names to restrict
//
// Needs the models in $TERN_CACHE/models (scripts/fetch_models.sh) and
// onnxruntime-node in $TERN_CACHE/ort (scripts/setup_ort.sh); no other packages.
//
// Layout written (ONNX backend-test style), for each model <short>:
//   tests/models/<short>/model.txt                       the short name; the test runner
//                                                        links $TERN_CACHE/models/<short>.onnx
//                                                        in as model.onnx (not committed)
//   tests/models/<short>/test_data_set_N/input_K.pb      onnx TensorProto, K = graph input order
//   tests/models/<short>/test_data_set_N/output_K.pb     onnx TensorProto, K = graph output order
//
// Inputs are deterministic (mulberry32 PRNG seeded per data set). After writing,
// every .pb is decoded again and compared bit-for-bit with what ORT produced,
// and ORT is re-run on the decoded inputs to check the outputs reproduce exactly.
'use strict';

const fs = require('fs');
const path = require('path');
const os = require('os');
const crypto = require('crypto');
const { createRequire } = require('module');

const TERN_CACHE = process.env.TERN_CACHE || path.join(os.homedir(), '.cache', 'tern');
const MODELS_DIR = path.join(TERN_CACHE, 'models');
const OUT_ROOT = __dirname; // tests/models
const CHECK_ONLY = process.argv.includes('--check');
const SHOW_ATTRS = process.argv.includes('--attrs'); // also list distinct attribute sets per op type

function loadOrt() {
  const base = path.join(TERN_CACHE, 'ort', 'node_modules');
  try {
    return createRequire(path.join(base, 'noop.js'))('onnxruntime-node');
  } catch (e) {
    console.error(`cannot load onnxruntime-node from ${base}: run scripts/setup_ort.sh\n${e.message}`);
    process.exit(1);
  }
}
const ort = loadOrt();

// ---------------------------------------------------------------------------
// Deterministic PRNG (mulberry32) -> uniform float32 values in [lo, hi).
function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function uniform(seed, n, lo, hi) {
  const rnd = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rnd();
  return out;
}
const {
  prod, DTYPE, DTYPE_NAME, TYPED, rawBytes, encVarint, tag, lenField, encodeTensor, decVarint,
  parseMessage, str, all, first, decodeTensor,
} = require('./tensor_pb');

// ---------------------------------------------------------------------------
// ModelProto reader: IR version, opsets, op types (recursing into subgraphs).
function modelInfo(file) {
  const m = parseMessage(fs.readFileSync(file));
  const info = { ir: 0, producer: '', opsets: [], ops: new Map(), attrs: new Map(), subgraphs: 0, initializers: 0, functions: [] };
  const ir = first(m, 1);
  if (ir) info.ir = Number(ir.value);
  const prodName = first(m, 2), prodVer = first(m, 3);
  info.producer = [prodName && str(prodName.value), prodVer && str(prodVer.value)].filter(Boolean).join(' ');
  const opset = (os) => {
    const d = first(os, 1), v = first(os, 2);
    return { domain: d ? str(d.value) : '', version: v ? Number(v.value) : 0 };
  };
  for (const o of all(m, 8)) info.opsets.push(opset(parseMessage(o.value)));
  const countNode = (nodeBuf) => {
    const n = parseMessage(nodeBuf);
    const op = first(n, 4), dom = first(n, 7);
    const key = (dom && dom.value.length ? str(dom.value) + '::' : '') + (op ? str(op.value) : '?');
    info.ops.set(key, (info.ops.get(key) || 0) + 1);
    const attrText = [];
    for (const a of all(n, 5)) {
      const af = parseMessage(a.value);
      attrText.push(attrSummary(af));
      for (const g of all(af, 6)) { info.subgraphs++; walkGraph(g.value); }
      for (const g of all(af, 11)) { info.subgraphs++; walkGraph(g.value); }
    }
    if (!info.attrs.has(key)) info.attrs.set(key, new Map());
    const as = attrText.sort().join(' ') || '(none)';
    info.attrs.get(key).set(as, (info.attrs.get(key).get(as) || 0) + 1);
  };
  const walkGraph = (gbuf) => {
    const g = parseMessage(gbuf);
    info.initializers += all(g, 5).length;
    for (const n of all(g, 1)) countNode(n.value);
  };
  const graph = first(m, 7);
  if (graph) walkGraph(graph.value);
  for (const fn of all(m, 25)) { // local functions: FunctionProto.name=1, node=7, domain=10
    const ff = parseMessage(fn.value);
    info.functions.push(str(first(ff, 1)?.value || Buffer.alloc(0)));
    for (const n of all(ff, 7)) countNode(n.value);
  }
  return info;
}

// AttributeProto: name=1 f=2 i=3 s=4 t=5 g=6 floats=7 ints=8 strings=9 tensors=10 graphs=11.
function attrSummary(af) {
  const name = str(first(af, 1)?.value || Buffer.alloc(0));
  const ints = [], floats = [];
  for (const x of all(af, 8)) {
    if (x.wire === 2) { let p = 0; while (p < x.value.length) { let v; [v, p] = decVarint(x.value, p); ints.push(BigInt.asIntN(64, v)); } }
    else ints.push(BigInt.asIntN(64, x.value));
  }
  for (const x of all(af, 7)) {
    if (x.wire === 2) for (let p = 0; p < x.value.length; p += 4) floats.push(x.value.readFloatLE(p));
    else floats.push(x.value.readFloatLE(0));
  }
  let v;
  if (first(af, 2)) v = String(first(af, 2).value.readFloatLE(0));
  else if (first(af, 3)) v = String(BigInt.asIntN(64, first(af, 3).value));
  else if (first(af, 4)) v = JSON.stringify(str(first(af, 4).value));
  else if (first(af, 5)) {
    const t = parseMessage(first(af, 5).value);
    const dims = [];
    for (const d of all(t, 1)) {
      if (d.wire === 2) { let p = 0; while (p < d.value.length) { let x; [x, p] = decVarint(d.value, p); dims.push(Number(x)); } }
      else dims.push(Number(d.value));
    }
    v = `<${DTYPE_NAME[Number(first(t, 2)?.value || 0)] || '?'}[${dims.join(',')}]>`;
  } else if (first(af, 6)) v = '<graph>';
  else if (ints.length || all(af, 8).length) v = `[${ints.join(',')}]`;
  else if (floats.length) v = `[${floats.join(',')}]`;
  else if (all(af, 9).length) v = `[${all(af, 9).map((x) => JSON.stringify(str(x.value))).join(',')}]`;
  else if (all(af, 11).length) v = `<${all(af, 11).length} graphs>`;
  else v = '[]';
  return `${name}=${v}`;
}

// ---------------------------------------------------------------------------
// Model test specs. inputs(session, prev) returns {name: {type, dims, data}}
// for every graph input; `prev` holds earlier data sets' outputs (for recurrence).
const audio = (seed, n) => ({ type: 'float32', dims: [1, n], data: uniform(seed, n, -0.5, 0.5) });
const image = (seed, dims) => ({ type: 'float32', dims, data: uniform(seed, prod(dims), -1, 1) });
const sr16k = () => ({ type: 'int64', dims: [], data: new BigInt64Array([16000n]) });

// Silero VAD (v5 and the op15 export): inputs input [1,512], state [2,1,128], sr int64 scalar.
// Built from the session's real input names/metadata so a different export fails loudly.
function sileroInputs(session, seed, state) {
  const feeds = {};
  for (const name of session.inputNames) {
    const md = session.inputMetadata.find((m) => m.name === name);
    const shape = md.shape;
    if (name === 'sr' || (md.type === 'int64' && shape.length === 0)) {
      feeds[name] = sr16k();
    } else if (/^(state|h|c|h0|c0)$/.test(name)) {
      // recurrent state: fixed dims from the model, batch (symbolic) = 1
      const dims = shape.map((d) => (typeof d === 'number' ? d : 1));
      if (state) {
        if (prod(state.dims) !== prod(dims)) throw new Error(`state size mismatch for ${name}`);
        feeds[name] = { type: 'float32', dims: state.dims.slice(), data: Float32Array.from(state.data) };
      } else {
        feeds[name] = { type: 'float32', dims, data: new Float32Array(prod(dims)) };
      }
    } else if (name === 'input') {
      feeds[name] = audio(seed, 512);
    } else {
      throw new Error(`unexpected Silero input ${name} ${JSON.stringify(md)}`);
    }
  }
  return feeds;
}

const SPECS = [
  {
    short: 'silero_vad_v5',
    sets: [
      { seed: 0x5e1e0001, inputs: (s) => sileroInputs(s, 0x5e1e0001, null) },
      {
        // recurrent path: nonzero state = stateN from data set 0
        seed: 0x5e1e0002,
        inputs: (s, prev) => sileroInputs(s, 0x5e1e0002, prev[0].outputs.stateN),
      },
    ],
  },
  {
    short: 'silero_vad_op15',
    sets: [{ seed: 0x5e1e0f01, inputs: (s) => sileroInputs(s, 0x5e1e0f01, null) }],
  },
  {
    short: 'ppocr_det_v4',
    sets: [{ seed: 0x0c0de7, inputs: (s) => ({ [s.inputNames[0]]: image(0x0c0de7, [1, 3, 640, 640]) }) }],
  },
  {
    short: 'ppocr_cls',
    sets: [{ seed: 0x0c0c15, inputs: (s) => ({ [s.inputNames[0]]: image(0x0c0c15, [1, 3, 48, 192]) }) }],
  },
  {
    short: 'oww_melspectrogram',
    sets: [{ seed: 0x3e1001, inputs: (s) => ({ [s.inputNames[0]]: audio(0x3e1001, 1760) }) }],
  },
  {
    short: 'oww_embedding',
    // Input is openWakeWord's transformed mel features (melspec/10 + 2); uniform
    // in [0, 2] is in the range those take for ordinary audio.
    sets: [{
      seed: 0xe3b001,
      inputs: (s) => ({
        [s.inputNames[0]]: { type: 'float32', dims: [1, 76, 32, 1], data: uniform(0xe3b001, 76 * 32, 0, 2) },
      }),
    }],
  },
];

// ---------------------------------------------------------------------------
function toOrt(t) {
  return new ort.Tensor(t.type, t.data, t.dims);
}
function fromOrt(t) {
  return { type: t.type, dims: Array.from(t.dims, Number), data: t.data };
}
function bytesEqual(a, b) {
  return rawBytes(a).equals(rawBytes(b));
}
function describe(t) {
  return `${t.type}[${t.dims.join(',')}]`;
}
function checksum(t) {
  const h = crypto.createHash('sha256').update(rawBytes(t.data)).digest('hex').slice(0, 16);
  let sum = 0, min = Infinity, max = -Infinity, nan = 0;
  for (const v of t.data) {
    const x = Number(v);
    if (Number.isNaN(x)) { nan++; continue; }
    sum += x; if (x < min) min = x; if (x > max) max = x;
  }
  const n = t.data.length;
  const fmt = (x) => (Number.isFinite(x) ? x.toPrecision(7) : String(x));
  return `sha256:${h} sum=${fmt(sum)} mean=${fmt(sum / n)} min=${fmt(min)} max=${fmt(max)}${nan ? ` nan=${nan}` : ''}`;
}

async function makeSession(modelPath) {
  return ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1, // keep reductions in a fixed order across machines
    interOpNumThreads: 1,
  });
}

async function runSession(session, feeds) {
  const ortFeeds = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
  const res = await session.run(ortFeeds);
  const outs = {};
  for (const name of session.outputNames) outs[name] = fromOrt(res[name]);
  return outs;
}

async function processModel(spec) {
  const modelPath = path.join(MODELS_DIR, `${spec.short}.onnx`);
  if (!fs.existsSync(modelPath)) throw new Error(`${modelPath} missing: run scripts/fetch_models.sh`);
  const session = await makeSession(modelPath);
  const info = modelInfo(modelPath);
  const dir = path.join(OUT_ROOT, spec.short);

  console.log(`\n=== ${spec.short}  (${modelPath})`);
  console.log(`  ir_version ${info.ir}; producer '${info.producer}'; opsets ${info.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`);
  const ops = [...info.ops.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  console.log(`  ${ops.reduce((a, [, c]) => a + c, 0)} nodes (${info.subgraphs} subgraphs, ${info.initializers} initializers${info.functions.length ? `, functions ${info.functions.join(',')}` : ''}); op types:`);
  console.log(`    ${ops.map(([k, c]) => `${k}×${c}`).join(' ')}`);
  if (SHOW_ATTRS) {
    for (const [k] of ops) {
      for (const [a, c] of info.attrs.get(k)) console.log(`      ${k}×${c}: ${a}`);
    }
  }
  for (const md of session.inputMetadata) console.log(`  model input  ${md.name}: ${md.type} [${md.shape.map((d) => (d === '' ? '?' : d)).join(',')}]`);
  for (const md of session.outputMetadata) console.log(`  model output ${md.name}: ${md.type} [${md.shape.map((d) => (d === '' ? '?' : d)).join(',')}]`);

  if (!CHECK_ONLY) {
    // Replace this model's directory contents (only what this script owns).
    fs.mkdirSync(dir, { recursive: true });
    for (const e of fs.readdirSync(dir)) {
      if (/^test_data_set_\d+$/.test(e)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    }
    fs.writeFileSync(path.join(dir, 'model.txt'), `${spec.short}\n`);
  } else {
    const mt = path.join(dir, 'model.txt');
    if (!fs.existsSync(mt) || fs.readFileSync(mt, 'utf8').trim() !== spec.short) throw new Error(`${mt} missing or wrong`);
  }

  const prev = [];
  let failures = 0;
  for (let si = 0; si < spec.sets.length; si++) {
    const set = spec.sets[si];
    const feeds = set.inputs(session, prev);
    for (const name of session.inputNames) if (!feeds[name]) throw new Error(`no value for input ${name}`);
    const outputs = await runSession(session, feeds);
    prev.push({ feeds, outputs });

    const sdir = path.join(dir, `test_data_set_${si}`);
    console.log(`  test_data_set_${si} (seed 0x${set.seed.toString(16)})`);
    const tensors = [
      ...session.inputNames.map((n, k) => ({ file: `input_${k}.pb`, name: n, t: feeds[n], kind: 'input ' })),
      ...session.outputNames.map((n, k) => ({ file: `output_${k}.pb`, name: n, t: outputs[n], kind: 'output' })),
    ];
    if (!CHECK_ONLY) fs.mkdirSync(sdir, { recursive: true });
    for (const { file, name, t, kind } of tensors) {
      const fp = path.join(sdir, file);
      if (!CHECK_ONLY) fs.writeFileSync(fp, encodeTensor(name, t.type, t.dims, t.data));
      // Decode back and compare bit-for-bit.
      let ok = true, why = '';
      try {
        const d = decodeTensor(fs.readFileSync(fp));
        if (d.name !== name) { ok = false; why = `name ${d.name}`; }
        else if (d.type !== t.type) { ok = false; why = `type ${d.type}`; }
        else if (d.dims.join(',') !== t.dims.join(',')) { ok = false; why = `dims ${d.dims}`; }
        else if (!bytesEqual(d.data, t.data)) { ok = false; why = 'data differs'; }
      } catch (e) { ok = false; why = e.message; }
      if (!ok) failures++;
      console.log(`    ${kind} ${file} ${name}: ${describe(t)}${kind === 'output' ? '  ' + checksum(t) : ''}  ${ok ? 'pb-ok' : 'PB-MISMATCH: ' + why}`);
    }

    // Re-run ORT on the decoded inputs; outputs must reproduce bit-for-bit.
    const decodedFeeds = {};
    session.inputNames.forEach((n, k) => { decodedFeeds[n] = decodeTensor(fs.readFileSync(path.join(sdir, `input_${k}.pb`))); });
    const again = await runSession(session, decodedFeeds);
    for (const n of session.outputNames) {
      if (!bytesEqual(again[n].data, outputs[n].data)) {
        failures++;
        console.log(`    RERUN-MISMATCH: output ${n} differs when run from decoded inputs`);
      }
    }
  }
  await session.release?.();
  return failures;
}

(async () => {
  let failures = 0;
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const spec of SPECS) {
    if (only.length && !only.includes(spec.short)) continue;
    failures += await processModel(spec);
  }
  if (failures) {
    console.error(`\n${failures} mismatch(es)`);
    process.exit(1);
  }
  console.log(`\nall reference data ${CHECK_ONLY ? 'checked' : 'written and verified'} (onnxruntime-node ${ort.env.versions.node})`);
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
