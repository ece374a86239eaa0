// Runs an ONNX model with ONNX Runtime (onnxruntime-node) on rows of
// comma-separated inputs (standard input) and prints, per row, the
// "output" values with nine significant digits and, when the model has a
// "label" output, the label (JSON-quoted). Then the model's metadata as
// one JSON line starting with "#meta ". Usage: node run.js MODEL.onnx
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const session = await ort.InferenceSession.create(process.argv[2]);
  const lines = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const rows = lines.map((l) => l.split(',').map(Number));
  const width = rows.length ? rows[0].length : 0;
  const x = new Float32Array(rows.length * width);
  rows.forEach((r, i) => x.set(r, i * width));
  const feeds = {input: new ort.Tensor('float32', x, [rows.length, width])};
  const res = await session.run(feeds);
  const out = res.output;
  const cols = out.dims[1];
  const hasLabel = session.outputNames.includes('label');
  const text = [];
  for (let i = 0; i < rows.length; i++) {
    const vals = Array.from(out.data.slice(i * cols, (i + 1) * cols), (v) => v.toPrecision(9));
    if (hasLabel) vals.push(JSON.stringify(res.label.data[i]));
    text.push(vals.join(','));
  }
  text.push('#meta ' + JSON.stringify({inputs: session.inputNames, outputs: session.outputNames}));
  process.stdout.write(text.join('\n') + '\n');
}

main().catch((e) => {
  console.error('run.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
