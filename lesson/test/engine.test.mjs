// The WebAssembly engine gives the command line's answers: every request a
// recorded page holds (lesson/recorded.txt, with the states at the steps it
// records) is asked again of build/lesson/engine.js in Node. The line and
// ReLU runs must be equal text for text (same library, two compilers, two
// instruction sets). Softplus runs go through log1pf, which glibc and
// emscripten's musl round differently in the last bit for some inputs (a
// measured fact: expf agrees on 57144 inputs, log1pf does not), so a long
// softplus run drifts apart by float rounding: those numbers must agree to
// a relative 2e-3 (0.0009 measured), and the test prints how far they drifted.
//
//   node lesson/test/engine.test.mjs DESCENT ENGINE_JS
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const [cli, enginePath] = process.argv.slice(2);
if (!cli || !enginePath) {
  console.error('usage: node engine.test.mjs DESCENT ENGINE_JS');
  process.exit(2);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-engine-'));
try {
  const r = spawnSync(path.resolve(cli), ['lesson', '--out', work, '--recorded', '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const html = fs.readFileSync(path.join(work, 'index.html'), 'utf8');
  const start = html.indexOf('id="recorded">') + 'id="recorded">'.length;
  const recorded = JSON.parse(html.slice(start, html.indexOf('</script>', start)));

  const DescentEngine = createRequire(import.meta.url)(path.resolve(enginePath));
  const M = await DescentEngine();
  const call = M.cwrap('lesson_wasm_call', 'string', ['string']);
  let n = 0, steps = 0, exact = 0, drifted = 0, maxRel = 0;
  // Numbers within rel of each other (text or JSON numbers); the rest equal.
  const close = (a, b, where, rel) => {
    if (Array.isArray(a)) {
      assert.ok(Array.isArray(b) && a.length === b.length, `${where}: lengths differ`);
      a.forEach((x, i) => close(x, b[i], `${where}[${i}]`, rel));
    } else if (a && typeof a === 'object') {
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${where}: keys differ`);
      for (const k of Object.keys(a)) close(a[k], b[k], `${where}.${k}`, rel);
    } else if (a !== b && typeof a === 'string' && typeof b === 'string' && !isFinite(Number(a))) {
      // Text with numbers in it (the chain rule's): the same words, and
      // numbers as close as the rest.
      const num = /-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/g;
      assert.equal(a.replace(num, '#'), b.replace(num, '#'), `${where}: the words differ`);
      const na = a.match(num) || [], nb = b.match(num) || [];
      na.forEach((x, i) => close(x, nb[i], `${where} (number ${i + 1})`, rel));
    } else if (a !== b) {
      const x = Number(a), y = Number(b);
      assert.ok(a !== '' && b !== '' && isFinite(x) && isFinite(y), `${where}: '${a}' != '${b}'`);
      const r = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-3);
      maxRel = Math.max(maxRel, r);
      drifted++;
      assert.ok(r <= rel, `${where}: ${a} and ${b} differ by a relative ${r}`);
    }
  };
  for (const [req, native] of Object.entries(recorded)) {
    const wasm = JSON.parse(call(req));
    const softplus = /demo=softplus /.test(req);
    if (softplus) close(wasm, native, req, 2e-3);
    else {
      assert.deepEqual(wasm, native, `the WebAssembly answer to '${req}' differs from the command line's`);
      exact++;
    }
    n++;
    if (req.includes(' at=')) steps++;
  }
  assert.ok(n > 100 && exact > 50, `only ${n} requests compared`);
  console.log(`ok: ${n} answers (${steps} of them states at a step): ${exact} equal text for text; ` +
    `in the ${n - exact} of softplus runs ${drifted} numbers drifted by float rounding, at most a relative ${maxRel.toPrecision(2)}`);
} catch (e) {
  // Printed here: emscripten's handler of uncaught exceptions would print
  // a line of the minified engine instead.
  console.error(String(e.message || e).slice(0, 2000));
  process.exitCode = 1;
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
