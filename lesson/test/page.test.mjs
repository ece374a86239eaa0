// The lesson page (`descent lesson`) in headless Chromium: Debian's
// /usr/bin/chromium driven by playwright-core, never a downloaded browser.
//
//   node lesson/test/page.test.mjs DESCENT SHOTS_DIR
//
// Writes the live page (when this descent has the WebAssembly engine) and
// the recorded page, opens each from file:// and checks: no network request
// at all, no console error; Step N times in the intercept section shows the
// intercept, derivative and SSR of `descent line --trace` for the same run,
// digit for digit, and Reset returns to them; the arrow keys step too;
// dragging the start point with the mouse in every section runs what the
// command line (`descent line --intercept0 --slope0 --trace`) or descent's
// native engine (`descent lesson --answer`, whose rows tests/cli_lesson.sh
// checks against `descent demo --trace`) runs from that start; the
// CSV picker takes a real table (sklearn's Linnerud data, from Debian) and
// the page's run on it is the command line's, and a bad file gets the
// command line's own message (line and column); every section renders and
// steps; a phone-sized viewport does not scroll sideways. A screenshot of
// each section at 1280x800 goes to SHOTS_DIR (not committed).
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [cli, shotsArg] = process.argv.slice(2);
if (!cli) {
  console.error('usage: node page.test.mjs DESCENT [SHOTS_DIR]');
  process.exit(2);
}
const shots = path.resolve(shotsArg || 'lesson-shots');
const chromiumPath = process.env.DSC_CHROMIUM || '/usr/bin/chromium';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-lesson-'));
fs.mkdirSync(shots, { recursive: true });
const SECTIONS = ['intercept', 'both', 'stopping', 'sgd', 'squiggle', 'backprop', 'relu'];
let checks = 0;
const ok = (cond, msg) => { assert.ok(cond, msg); checks++; };
const eq = (a, b, msg) => { assert.deepEqual(a, b, msg); checks++; };

function descent(args) {
  const r = spawnSync(path.resolve(cli), args, { cwd: work, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}
function readTrace(file) {
  const [head, ...lines] = fs.readFileSync(path.join(work, file), 'utf8').trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}
function write(name, text) { fs.writeFileSync(path.join(work, name), text); return path.join(work, name); }

// ---- the data ----
write('seed-line.csv', 'weight,height\n0.5,1.4\n2.3,1.9\n2.9,3.2\n');
// A real table: sklearn's Linnerud data (Debian's python3-sklearn), weight and waist of 20 men.
const linnerudSrc = '/usr/lib/python3/dist-packages/sklearn/datasets/data/linnerud_physiological.csv';
let linnerud = null;
if (fs.existsSync(linnerudSrc)) {
  const rows = fs.readFileSync(linnerudSrc, 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  linnerud = write('linnerud.csv', 'weight,waist\n' + rows.map((r) => `${r[0]},${r[1]}`).join('\n') + '\n');
} else {
  console.log(`note: ${linnerudSrc} is missing (python3-sklearn): the own-data run is checked on the seed's points only`);
}
const badText = 'weight,height\n0.5,1.4\nabc,1.9\n2.9,3.2\n';
write('bad.csv', badText);
write('ragged.csv', 'weight,height\n0.5,1.4\n2.3,1.9,7\n');
write('pasted.csv', badText);
const cliMessage = (args) => {
  const r = descent(args);
  ok(r.status === 1, `descent ${args.join(' ')} should fail with status 1, got ${r.status}`);
  return r.stderr.trim();
};

// ---- the pages ----
const liveRun = descent(['lesson', '--out', 'live']);
eq(liveRun.status, 0, `descent lesson failed: ${liveRun.stderr}`);
const hasLive = /: live,/.test(liveRun.stdout);
const recRun = descent(['lesson', '--out', 'recorded', '--recorded']);
eq(recRun.status, 0, `descent lesson --recorded failed: ${recRun.stderr}`);
for (const dir of ['live', 'recorded']) {
  const html = fs.readFileSync(path.join(work, dir, 'index.html'), 'utf8');
  // Self-contained: nothing is loaded from anywhere.
  ok(!/<script[^>]+src=|<link[^>]+href=|@import|url\(http|src="http/i.test(html), `${dir}: the page refers to an outside file`);
}
if (!hasLive) console.log('note: this descent was built without emscripten: only the recorded page is tested (live page: apt-get install emscripten, rebuild)');
// CI's gcc build (DSC_REQUIRE_LESSON=live) must test the live page, not fall back quietly.
if (process.env.DSC_REQUIRE_LESSON === 'live') ok(hasLive, 'DSC_REQUIRE_LESSON=live: this descent writes the live page (built with emscripten)');

async function open(dir, viewport = { width: 1280, height: 800 }, hasTouch = false) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, viewport, hasTouch,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  const url = 'file://' + path.join(work, dir, 'index.html');
  const seen = { requests: [], errors: [] };
  // Anything that is not the page itself is refused, and counted.
  await ctx.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') seen.errors.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => seen.errors.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
  return { ctx, page, seen, url, close: async () => { await ctx.close(); fs.rmSync(profile, { recursive: true, force: true }); } };
}
const text = (page, sel) => page.locator(sel).textContent();
async function interceptNow(page) {
  return {
    iter: (await text(page, '#intercept-iter')).split(' ')[0],
    intercept: await text(page, '#intercept-value'),
    d_intercept: await text(page, '#intercept-derivative'),
    ssr: await text(page, '#intercept-ssr'),
  };
}
const expectRow = (row, k) => ({ iter: String(k), intercept: row.intercept, d_intercept: row.d_intercept, ssr: row.ssr });
// The same numbers as the trace: the same text, hence the same float.
async function checkSteps(page, trace, label) {
  const sec = page.locator('#intercept');
  eq(await interceptNow(page), expectRow(trace[0], 0), `${label}: step 0`);
  for (let k = 1; k < trace.length; k++) {
    await sec.locator('[data-act=step]').click();
    const now = await interceptNow(page);
    eq(now, expectRow(trace[k], k), `${label}: after ${k} steps`);
    eq(Math.fround(Number(now.ssr)), Math.fround(Number(trace[k].ssr)), `${label}: SSR at step ${k} as a float`);
  }
}


// Drags a handle with the mouse (Playwright's mouse API, as a learner would).
async function dragBy(page, handle, dx, dy) {
  await handle.scrollIntoViewIfNeeded();
  const b = await handle.boundingBox();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2 + dx, b.y + b.height / 2 + dy, { steps: 5 });
  await page.mouse.up();
}
// The native engine's run (descent lesson --answer): the command line's own.
function engineRun(req) {
  const r = descent(['lesson', '--answer', req]);
  eq(r.status, 0, `descent lesson --answer ${req}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
// Softplus runs: WebAssembly's log1pf (musl) and glibc's differ in the last
// bit for some inputs (docs/lesson.md), so over a few steps the texts may
// differ there; ReLU and line runs must match digit for digit.
const close = (a, b, rel) => (rel === 0 ? a === b : Math.abs(Number(a) - Number(b)) <= rel * Math.max(1, Math.abs(Number(b))));

async function checkCommon(p, dir) {
  const { page, seen, url } = p;
  // Every section drew its pictures, and steps without an error.
  for (const id of SECTIONS) {
    const sec = page.locator('#' + id);
    ok(await sec.locator('.plot svg').count() >= 2, `${dir}: section ${id} has its pictures`);
    const stop = (await sec.locator('[data-out=stop]').textContent()) || '';
    ok(!/holds the runs descent computed/.test(stop), `${dir}: section ${id} did not find its run: ${stop}`);
    const note = await sec.locator('.formula .note').count();
    eq(note, 0, `${dir}: section ${id} lacks its formula at step 0`);
    const handle = sec.locator('.drag[role=slider]').first();
    ok(await handle.count() === 1 && /^start/.test(await handle.getAttribute('aria-label')),
      `${dir}: section ${id} has a labelled draggable starting point`);
    for (let i = 0; i < 3; i++) if (await sec.locator('[data-act=step]').isEnabled()) await sec.locator('[data-act=step]').click();
    await sec.locator('[data-act=reset]').click();
    await sec.scrollIntoViewIfNeeded();
    await sec.screenshot({ path: path.join(shots, `${dir}-${id}.png`) });
  }
  // Each control has a label a screen reader can read.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
    .map((e) => e.outerHTML.slice(0, 80)));
  eq(unlabelled, [], `${dir}: controls without a label`);
  // Printable: in print media the controls go and every section's pictures stay.
  await page.emulateMedia({ media: 'print' });
  eq(await page.evaluate(() => [...document.querySelectorAll('.controls')].filter((e) => getComputedStyle(e).display !== 'none').length),
    0, `${dir}: print hides the controls`);
  eq(await page.evaluate(() => [...document.querySelectorAll('section.lesson .plot svg')].filter((e) => e.getBoundingClientRect().width > 0).length > 0 &&
    [...document.querySelectorAll('section.lesson')].every((s) => s.getBoundingClientRect().height > 0)), true, `${dir}: print keeps every section`);
  await page.emulateMedia({ media: 'screen' });
  // The keyboard steps a section.
  await page.locator('#intercept [data-act=reset]').click();
  await page.locator('#intercept').focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  eq((await interceptNow(page)).iter, '2', `${dir}: two presses of → are two steps`);
  await page.keyboard.press('ArrowLeft');
  eq((await interceptNow(page)).iter, '1', `${dir}: ← steps back`);
  await page.keyboard.press('r');
  eq((await interceptNow(page)).iter, '0', `${dir}: R resets`);
  // Play runs to the end and stops.
  await page.locator('#intercept [data-act=play]').click();
  await page.waitForFunction(() => /^(\d+) of \1$/.test(document.getElementById('intercept-iter').textContent), null, { timeout: 15000 });
  ok(/Stopped: step_size after 8 iterations/.test(await text(page, '#intercept [data-out=stop]')), `${dir}: play ends where the run stopped`);
  eq(seen.requests.filter((u) => u !== url), [], `${dir}: requests other than the page itself`);
  eq(seen.errors, [], `${dir}: console errors`);
}

async function phone(dir) {
  const p = await open(dir, { width: 390, height: 844 }, true);
  const over = await p.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  ok(over <= 0, `${dir}: at 390 px wide the page scrolls sideways by ${over} px`);
  // A finger drags the start too (touch events, as a phone sends them).
  const handle = p.page.locator('#intercept .drag');
  await handle.scrollIntoViewIfNeeded();
  const b = await handle.boundingBox(), x = b.x + b.width / 2, y = b.y + b.height / 2;
  const cdp = await p.ctx.newCDPSession(p.page);
  const touch = (type, tx) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x: tx, y }] });
  await touch('touchStart', x);
  for (let i = 1; i <= 5; i++) await touch('touchMove', x + 8 * i);
  await touch('touchEnd', x + 40);
  const v = await p.page.locator('#intercept [data-ctl=icpt0]').inputValue();
  ok(Number(v) > 0, `${dir} (phone): a touch drag moved the intercept's start right (to ${v})`);
  await p.page.locator('#intercept').screenshot({ path: path.join(shots, `${dir}-phone-intercept.png`) });
  eq(p.seen.errors, [], `${dir} (phone): console errors`);
  await p.close();
}

const browserTest = async () => {
  // The run of the intercept section, from the command line.
  eq(descent(['line', '--data', 'seed-line.csv', '--slope', '0.64', '--lr', '0.1', '--trace', 'intercept.csv']).status, 0, 'descent line');
  const trace = readTrace('intercept.csv');
  eq(trace.length, 8, 'the seed run has 8 updates');

  for (const dir of hasLive ? ['live', 'recorded'] : ['recorded']) {
    const p = await open(dir);
    const { page } = p;
    eq(await page.getAttribute('body', 'data-engine'), dir, `${dir}: the engine the page says it runs`);
    await checkSteps(page, trace, dir);
    await page.locator('#intercept [data-act=reset]').click();
    eq(await interceptNow(page), expectRow(trace[0], 0), `${dir}: reset returns to step 0`);
    for (let k = 1; k <= 3; k++) await page.locator('#intercept [data-act=step]').click();
    eq(await interceptNow(page), expectRow(trace[3], 3), `${dir}: after reset, the same run again`);

    if (dir === 'live') await liveOnly(p, trace);
    else {
      // The recorded page says it cannot run a file, and how to get the live page.
      await page.setInputFiles('#line-file', path.join(work, 'bad.csv'));
      await page.waitForFunction(() => document.getElementById('line-data-error').textContent.length > 0);
      ok(/apt-get install emscripten/.test(await text(page, '#line-data-error')), 'recorded: the CSV picker says how to get the live page');
    }
    await checkCommon(p, dir);
    await p.close();
    await phone(dir);
  }
};

async function liveOnly(p, trace) {
  const { page } = p;
  // Dragging the start point starts the run there: the command line's run.
  await page.locator('#intercept [data-act=reset]').click();
  const handle = page.locator('#intercept .drag');
  await handle.scrollIntoViewIfNeeded();
  const box = await handle.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const start = await page.locator('#intercept [data-ctl=icpt0]').inputValue();
  ok(Number(start) > 0, `the drag moved the start right (to ${start})`);
  eq(descent(['line', '--data', 'seed-line.csv', '--slope', '0.64', '--lr', '0.1', '--intercept0', start, '--trace', 'dragged.csv']).status, 0, 'descent line --intercept0');
  const dragged = readTrace('dragged.csv');
  for (let k = 0; k < Math.min(4, dragged.length); k++) {
    eq(await interceptNow(page), expectRow(dragged[k], k), `after the drag to ${start}: step ${k}`);
    await page.locator('#intercept [data-act=step]').click();
  }
  await page.locator('#intercept [data-ctl=icpt0]').fill('0');
  await page.locator('#intercept [data-ctl=icpt0]').dispatchEvent('change');

  // SGD: dragging the start on the contour map starts the stochastic run
  // there, and it is `descent line --batch 1 --intercept0 B --slope0 S`.
  {
    const sgd = page.locator('#sgd');
    await sgd.locator('[data-act=reset]').click();
    const h = sgd.locator('.drag');
    await h.scrollIntoViewIfNeeded();
    const b = await h.boundingBox();
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width / 2 + 50, b.y + b.height / 2 + 30, { steps: 5 });
    await page.mouse.up();
    const b0 = await sgd.locator('[data-ctl=icpt0]').inputValue(), k0 = await sgd.locator('[data-ctl=slope0]').inputValue();
    ok(Number(b0) > 0 && Number(k0) < 1, `the SGD drag moved the start right and down (to ${b0}, ${k0})`);
    eq(descent(['line', '--data', 'seed-line.csv', '--batch', '1', '--lr', '0.02', '--seed', '42', '--max-iter', '300',
      '--intercept0', b0, '--slope0', k0, '--trace', 'sgd-dragged.csv']).status, 0, 'descent line --batch 1 from the dragged start');
    const st = readTrace('sgd-dragged.csv');
    for (let k = 0; k < 4; k++) {
      eq([await text(page, '#sgd [data-out=intercept]'), await text(page, '#sgd [data-out=slope]')],
        [st[k].intercept, st[k].slope], `SGD from the dragged start: step ${k}`);
      await sgd.locator('[data-act=step]').click();
    }
    await sgd.locator('[data-ctl=icpt0]').fill('0');
    await sgd.locator('[data-ctl=slope0]').fill('1');
    await sgd.locator('[data-ctl=slope0]').dispatchEvent('change');
  }
  // When to stop: the start dragged on the contour map; the run from there
  // is `descent line --intercept0 B --slope0 S`, and so is the rule that fired.
  {
    const st = page.locator('#stopping');
    await st.locator('[data-act=reset]').click();
    await dragBy(page, st.locator('[data-plot=contour] .drag'), 70, -40);
    const b0 = await st.locator('[data-ctl=icpt0]').inputValue(), k0 = await st.locator('[data-ctl=slope0]').inputValue();
    ok(Number(b0) > 0 && Number(k0) > 1, `when to stop: the drag moved the start right and up (to ${b0}, ${k0})`);
    eq(descent(['line', '--data', 'seed-line.csv', '--lr', '0.01', '--intercept0', b0, '--slope0', k0, '--trace', 'stop-drag.csv']).status, 0,
      `descent line from the dragged (${b0}, ${k0})`);
    const tr = readTrace('stop-drag.csv');
    for (let k = 0; k < 4; k++) {
      eq([await text(page, '#stopping [data-out=iter]'), await text(page, '#stopping [data-out=ssr]')], [`${k} of ${tr.length}`, tr[k].ssr],
        `when to stop from the dragged start: step ${k}`);
      await st.locator('[data-act=step]').click();
    }
    await st.locator('[data-act=end]').click();
    const json = JSON.parse(descent(['line', '--data', 'seed-line.csv', '--lr', '0.01', '--intercept0', b0, '--slope0', k0, '--json']).stdout);
    const fired = await text(page, '#stopping [data-out=stop]');
    ok(json.stop === 'step_size' ? /step-size rule fired/.test(fired) : new RegExp(json.stop === 'max_iter' ? 'iteration cap fired' : json.stop).test(fired),
      `when to stop: the page says the rule the command line's run stopped by (${json.stop}): ${fired}`);
    // The keyboard moves the start too: → on the focused handle.
    await st.locator('[data-act=reset]').click();
    await st.locator('[data-plot=contour] .drag').focus();
    await page.keyboard.press('ArrowRight');
    ok(Number(await st.locator('[data-ctl=icpt0]').inputValue()) > Number(b0), 'when to stop: → on the start handle moves it right');
    await st.locator('[data-ctl=icpt0]').fill('0');
    await st.locator('[data-ctl=slope0]').fill('1');
    await st.locator('[data-ctl=slope0]').dispatchEvent('change');
  }

  // The network sections: pick a parameter, drag its start along the SSR
  // slice; the page's run is the engine's from the same seven values.
  const demoValues = engineRun('demos').demos;
  const netCases = [
    // section, which run (backprop's menu), parameter, readouts to compare, tolerance
    ['backprop', 'softplus-b3', 'b3', 1e-5],
    ['backprop', 'softplus', 'w3', 1e-5],
    ['squiggle', 'softplus', 'w1', 1e-5],
    ['relu', 'relu', 'b1', 0],
  ];
  for (const [id, demoName, name, rel] of netCases) {
    const sec = page.locator('#' + id);
    if (id === 'backprop') await sec.locator('[data-ctl=which]').selectOption(demoName);
    await sec.locator('[data-ctl=param]').selectOption(name);
    await sec.locator('[data-act=reset]').click();
    const d = demoValues.find((x) => x.name === demoName);
    const before = d.values[d.names.indexOf(name)];
    eq(Number(await sec.locator('[data-ctl=start]').inputValue()), Number(before), `${id}: ${name} starts at the seed's ${before}`);
    ok(/start of/.test(await sec.locator('[data-out=startname]').textContent()), `${id}: the start field is labelled by its parameter`);
    await dragBy(page, sec.locator(`[data-plot=slice] .drag[aria-label="starting ${name}"]`), 60, 0);
    const v = await sec.locator('[data-ctl=start]').inputValue();
    ok(Number(v) > Number(before), `${id}: dragging ${name}'s start right raised it (${before} -> ${v})`);
    const init = d.names.map((n, i) => (n === name ? v : d.values[i])).join(',');
    const req = id === 'relu'
      ? `net demo=relu data=dosage init=${init} only=all lr=0.01 opt=gd tol=0.001 max_iter=1000 loss_tol=0 relu0=0 seed=42`
      : `net demo=${demoName} data=dosage init=${init} only=demo lr=0.1 opt=gd tol=0.001 max_iter=1000 loss_tol=${d.loss_tol} relu0=0 seed=42`;
    const run = engineRun(req), col = (k, c) => run.rows[k][run.cols.indexOf(c)];
    eq(col(0, name), String(Number(v)), `${id}: the engine's run starts at ${name} = ${v}`);
    for (let k = 0; k < Math.min(4, run.rows.length); k++) {
      eq(await text(page, `#${id} [data-out=iter]`), `${k} of ${run.rows.length - 1}`, `${id} from ${name} = ${v}: step ${k} of as many`);
      const loss = await text(page, `#${id} [data-out=loss]`);
      ok(close(loss, col(k, 'loss'), rel), `${id} from ${name} = ${v}, step ${k}: SSR ${loss}, engine ${col(k, 'loss')}`);
      if (id === 'backprop') {
        const pv = await text(page, '#backprop [data-out=pvalue]'), dv = await text(page, '#backprop [data-out=dvalue]');
        ok(close(pv, col(k, name), rel) && close(dv, col(k, 'd_' + name), rel), `backprop step ${k}: ${name} ${pv} / ${col(k, name)}, d ${dv} / ${col(k, 'd_' + name)}`);
      } else if (id === 'squiggle') {
        const shown = (await text(page, '#squiggle [data-out=params]')).split(', ').map((w) => w.split(' '));
        ok(shown.length === 7 && shown.every(([n, x]) => close(x, col(k, n), rel)), `squiggle step ${k}: ${shown.join('; ')}`);
      } else {
        const shown = (await text(page, '#relu [data-out=grads]')).split(', ').map((w) => w.split(' '));
        ok(shown.length === 7 && shown.every(([n, x]) => x === col(k, 'd_' + n.slice('dSSR/d'.length))),
          `relu step ${k}: ${shown.join('; ')}`);
      }
      if (k + 1 < run.rows.length) await sec.locator('[data-act=step]').click();
    }
    // Back to the seed's start: the field, as a keyboard user would.
    await sec.locator('[data-ctl=start]').fill(String(before));
    await sec.locator('[data-ctl=start]').dispatchEvent('change');
    eq(Number(await sec.locator('[data-ctl=start]').inputValue()), Number(before), `${id}: ${name} typed back`);
  }
  await page.locator('#backprop [data-ctl=which]').selectOption('softplus-b3');
  // The squiggle and ReLU: step 0's fit also has a handle that moves the
  // curve up or down, which is b3's start.
  for (const id of ['squiggle', 'relu']) {
    const sec = page.locator('#' + id);
    await sec.locator('[data-ctl=param]').selectOption('b3');
    await sec.locator('[data-act=reset]').click();
    const b3Default = await sec.locator('[data-ctl=start]').inputValue();
    await dragBy(page, sec.locator('[data-plot=units] .drag'), 0, -40);
    const v = await sec.locator('[data-ctl=start]').inputValue();
    ok(Number(v) > Number(b3Default), `${id}: dragging the curve up raised b3's start (${b3Default} -> ${v})`);
    if (id === 'squiggle') {
      const shown = await text(page, '#squiggle [data-out=params]');
      ok(shown.includes(`b3 ${Number(v)}`), `squiggle: the run starts at b3 ${v}: ${shown}`);
    }
    await sec.locator('[data-ctl=start]').fill(b3Default);
    await sec.locator('[data-ctl=start]').dispatchEvent('change');
  }
  // Each section's menus back at their defaults, for the screenshots.
  await page.locator('#backprop [data-ctl=param]').selectOption('b3');
  await page.locator('#relu [data-ctl=param]').selectOption('w1');

  // A bad file: the command line's message, line and column.
  const lineMsg = cliMessage(['line', '--data', 'bad.csv']);
  ok(/bad\.csv:3:1:/.test(lineMsg), `the CLI names the line and column: ${lineMsg}`);
  await page.setInputFiles('#line-file', path.join(work, 'bad.csv'));
  await page.waitForFunction(() => document.getElementById('line-data-error').textContent.length > 0);
  eq(await text(page, '#line-data-error'), lineMsg, 'the page shows the CLI message for bad.csv');
  await page.setInputFiles('#line-file', path.join(work, 'ragged.csv'));
  await page.waitForFunction(() => /ragged/.test(document.getElementById('line-data-error').textContent));
  eq(await text(page, '#line-data-error'), cliMessage(['line', '--data', 'ragged.csv']), 'the CLI message for ragged.csv');
  await page.fill('#line-paste', badText);
  await page.click('#line-use-paste');
  await page.waitForFunction(() => /pasted\.csv/.test(document.getElementById('line-data-error').textContent));
  eq(await text(page, '#line-data-error'), cliMessage(['line', '--data', 'pasted.csv']), 'pasted text: the CLI message');
  eq(await interceptNow(page), expectRow(trace[0], 0), 'after a bad file the seed data stays');
  await page.setInputFiles('#net-file', path.join(work, 'bad.csv'));
  await page.waitForFunction(() => document.getElementById('net-data-error').textContent.length > 0);
  eq(await text(page, '#net-data-error'), cliMessage(['train', '--data', 'bad.csv', '--layers', '2:softplus']),
    'the network sections: the CLI message for bad.csv');

  // A good file: a real table, and the page's run is the command line's.
  if (linnerud) {
    await page.locator('#intercept [data-ctl=lr]').focus();
    await page.keyboard.press('Home'); // 0.01: the SSR of 20 rows is steep
    eq(await text(page, '#intercept [data-out=lr]'), '0.01', 'the learning-rate slider by keyboard');
    await page.setInputFiles('#line-file', linnerud);
    await page.waitForFunction(() => /Using linnerud\.csv/.test(document.getElementById('line-data-status').textContent));
    eq(await text(page, '#line-data-error'), '', 'linnerud.csv is accepted');
    ok(/20 rows, weight and waist/.test(await text(page, '#line-data-status')), 'the status names the file and columns');
    eq(descent(['line', '--data', 'linnerud.csv', '--slope', '0.64', '--lr', '0.01', '--trace', 'linnerud-trace.csv']).status, 0, 'descent line on linnerud.csv');
    const lt = readTrace('linnerud-trace.csv');
    for (let k = 0; k < Math.min(6, lt.length); k++) {
      eq(await interceptNow(page), expectRow(lt[k], k), `linnerud.csv: step ${k}`);
      await page.locator('#intercept [data-act=step]').click();
    }
    await page.setInputFiles('#net-file', linnerud);
    await page.waitForFunction(() => /Using linnerud\.csv/.test(document.getElementById('net-data-status').textContent));
    eq(await text(page, '#net-data-error'), '', 'linnerud.csv is accepted by the network sections');
    ok(await page.locator('#squiggle .plot svg').count() >= 2, 'the squiggle of linnerud.csv is drawn');
    await page.click('#line-use-seed');
    await page.click('#net-use-seed');
    await page.locator('#intercept [data-ctl=lr]').focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight'); // back to 0.1
  }
  eq(await text(page, '#intercept [data-out=lr]'), '0.1', 'the learning rate is back at 0.1');
}

let failed = false;
try {
  await browserTest();
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
}
fs.rmSync(work, { recursive: true, force: true });
console.log(`${failed ? 'FAILED' : 'ok'}: ${checks} checks; screenshots in ${shots}`);
process.exit(failed ? 1 : 0);
