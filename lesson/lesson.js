/* The lesson page's script. It asks descent's engine for runs and draws
 * them; it computes none of the lesson's numbers itself. The engine is
 * descent's library compiled to WebAssembly (cli/lesson_engine.h, the
 * `DescentEngine` factory inlined above), or, in a page written by a build
 * without it, the answers `descent lesson` recorded for the requests below.
 * Numbers the page shows are the engine's text, as `descent ... --trace`
 * prints them; the script only places them on the screen.
 *
 * Requests are built in one way everywhere (request()), in the key order
 * cli/lesson_engine.h documents, so that a recorded page holds exactly the
 * strings this script asks for (lesson/recorded.txt lists them). */
'use strict';
(function () {
  /* ------------------------------------------------------------------ */
  /* The engine                                                          */
  /* ------------------------------------------------------------------ */

  const RECORDED_NOTE = 'This page was written by a descent built without emscripten, so it ' +
    'holds the runs descent computed when it wrote the page, not a live engine. ' +
    'For the live page (your own data, any setting): apt-get install emscripten, rebuild descent, ' +
    'and run descent lesson --out DIR again.';

  const Engine = {
    live: false,
    recorded: null,
    async init() {
      if (typeof DescentEngine === 'function') {
        const M = await DescentEngine();
        this.M = M;
        this.callRaw = M.cwrap('lesson_wasm_call', 'number', ['number']);
        this.putRaw = M.cwrap('lesson_wasm_put_file', 'number', ['number', 'number']);
        this.live = true;
      } else {
        const data = document.getElementById('recorded');
        this.recorded = data ? JSON.parse(data.textContent) : {};
      }
    },
    /* Strings go through malloc'd memory, not the stack: a pasted file
     * can be larger than the stack. */
    withString(s, f) {
      const M = this.M, n = M.lengthBytesUTF8(s) + 1, p = M._malloc(n);
      M.stringToUTF8(s, p, n);
      try { return f(p); } finally { M._free(p); }
    },
    call(req) {
      if (this.live) return JSON.parse(this.M.UTF8ToString(this.withString(req, (p) => this.callRaw(p))));
      const a = this.recorded[req];
      return a === undefined ? { error: RECORDED_NOTE, missing: true } : a;
    },
    /* The engine reads a data file by name, as the command line does, so
     * its messages name the file the learner chose. */
    putFile(name, text) {
      return this.withString(name, (pn) => this.withString(text, (pt) => this.putRaw(pn, pt))) === 0;
    },
  };

  /* A request: the kind, then key=value words, values %-encoded. */
  const enc = (v) => String(v).replace(/[%\s]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
  const request = (kind, pairs) => kind + pairs.map(([k, v]) => ' ' + k + '=' + enc(v)).join('');

  /* ------------------------------------------------------------------ */
  /* Small helpers                                                       */
  /* ------------------------------------------------------------------ */

  const SVG = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, parent, text) {
    const e = document.createElement(tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  const finite = (v) => typeof v === 'number' && isFinite(v);
  const toNum = (s) => (s === '' || s === null || s === undefined ? NaN : Number(s));
  /* Numbers that are not the engine's text (axis ticks) and short labels. */
  const short = (v) => (finite(v) ? String(Number(v.toPrecision(4))) : '—');
  /* The engine's text for a number, shown as it is; JSON numbers (curves) by
   * their shortest JavaScript text, which is the engine's too. */
  const show = (v) => (v === '' || v === null || v === undefined ? '—' : String(v));

  const STOP_WORDS = {
    step_size: 'every step size |learning rate × derivative| fell below the tolerance',
    max_iter: 'the maximum number of iterations was reached',
    gradient: 'the gradient is (numerically) zero',
    loss: 'the loss fell below its tolerance',
    diverged: 'the loss became NaN or infinite: the run diverged',
    line_search_failed: 'no step satisfied the line search',
  };

  /* The tooltip: any element with data-tip shows it on hover and focus. */
  const tip = document.getElementById('tip');
  function showTip(target, x, y) {
    tip.textContent = target.getAttribute('data-tip');
    tip.hidden = false;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(4, Math.min(window.innerWidth - w - 4, x + 12)) + 'px';
    tip.style.top = Math.max(4, y - h - 10) + 'px';
  }
  document.addEventListener('mouseover', (e) => {
    const t = e.target.closest && e.target.closest('[data-tip]');
    if (t) showTip(t, e.clientX, e.clientY); else tip.hidden = true;
  });
  document.addEventListener('focusin', (e) => {
    const t = e.target.closest && e.target.closest('[data-tip]');
    if (!t) { tip.hidden = true; return; }
    const r = t.getBoundingClientRect();
    showTip(t, r.right, r.top);
  });
  document.addEventListener('focusout', () => { tip.hidden = true; });

  /* ------------------------------------------------------------------ */
  /* Plots                                                               */
  /* ------------------------------------------------------------------ */

  function niceTicks(lo, hi, log) {
    if (!(hi > lo)) { hi = lo + 1; lo -= 1; }
    if (log) {
      const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi)), out = [];
      const every = Math.max(1, Math.ceil((b - a) / 6));
      for (let e = a; e <= b; e += every) { const v = Math.pow(10, e); if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v); }
      return out;
    }
    const raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
  const tickText = (v, log) => (log ? (v >= 1e4 || v < 1e-3 ? '1e' + Math.round(Math.log10(v)) : String(Number(v.toPrecision(3)))) : String(Number(v.toPrecision(6))));

  class Plot {
    constructor(container, o) {
      this.o = Object.assign({ w: 480, h: 340, l: 58, r: 14, t: 30, b: 44 }, o);
      container.textContent = '';
      this.svg = el('svg', { viewBox: `0 0 ${this.o.w} ${this.o.h}`, role: 'img', 'aria-label': o.label || '' }, container);
      if (o.label) el('title', {}, this.svg, o.label);
      this.logy = !!o.logy;
    }
    range(x0, x1, y0, y1) {
      const padx = x1 > x0 ? 0 : 1, pady = y1 > y0 ? 0 : (this.logy ? y0 * 0.5 : 1);
      this.x0 = x0 - padx; this.x1 = x1 + padx; this.y0 = y0 - pady; this.y1 = y1 + pady;
      if (this.logy) { this.y0 = Math.max(this.y0, 1e-12); this.y1 = Math.max(this.y1, this.y0 * 10); }
      return this;
    }
    fit(xs, ys, padFrac = 0.06) {
      const fx = xs.filter(finite), fy = ys.filter((v) => finite(v) && (!this.logy || v > 0));
      let x0 = Math.min(...fx), x1 = Math.max(...fx), y0 = Math.min(...fy), y1 = Math.max(...fy);
      if (!fx.length) x0 = 0, x1 = 1;
      if (!fy.length) y0 = this.logy ? 1e-3 : 0, y1 = 1;
      const px = (x1 - x0) * padFrac, py = (y1 - y0) * padFrac;
      if (this.logy) return this.range(x0 - px, x1 + px, y0 / 1.5, y1 * 1.5);
      return this.range(x0 - px, x1 + px, y0 - py, y1 + py);
    }
    sx(x) { const o = this.o; return o.l + (x - this.x0) / (this.x1 - this.x0) * (o.w - o.l - o.r); }
    sy(y) {
      const o = this.o, hgt = o.h - o.t - o.b;
      if (this.logy) return o.t + hgt - (Math.log10(y) - Math.log10(this.y0)) / (Math.log10(this.y1) - Math.log10(this.y0)) * hgt;
      return o.t + hgt - (y - this.y0) / (this.y1 - this.y0) * hgt;
    }
    ix(px) { const o = this.o; return this.x0 + (px - o.l) / (o.w - o.l - o.r) * (this.x1 - this.x0); }
    iy(py) { const o = this.o, hgt = o.h - o.t - o.b; return this.y0 + (o.t + hgt - py) / hgt * (this.y1 - this.y0); }
    ok(x, y) { return finite(x) && finite(y) && (!this.logy || y > 0); }
    axes(xlabel, ylabel) {
      const o = this.o, g = el('g', { class: 'axis' }, this.svg), grid = el('g', { class: 'grid' }, this.svg);
      const yb = o.h - o.b, xr = o.w - o.r;
      for (const v of niceTicks(this.x0, this.x1, false)) {
        const x = this.sx(v);
        el('line', { x1: x, x2: x, y1: o.t, y2: yb }, grid);
        el('line', { x1: x, x2: x, y1: yb, y2: yb + 4 }, g);
        el('text', { x, y: yb + 16, 'text-anchor': 'middle' }, g, tickText(v, false));
      }
      for (const v of niceTicks(this.y0, this.y1, this.logy)) {
        const y = this.sy(v);
        el('line', { x1: o.l, x2: xr, y1: y, y2: y }, grid);
        el('line', { x1: o.l - 4, x2: o.l, y1: y, y2: y }, g);
        el('text', { x: o.l - 6, y: y + 4, 'text-anchor': 'end' }, g, tickText(v, this.logy));
      }
      el('path', { d: `M${o.l},${o.t}V${yb}H${xr}`, fill: 'none' }, g);
      if (xlabel) el('text', { class: 'label', x: (o.l + xr) / 2, y: o.h - 8, 'text-anchor': 'middle' }, this.svg, xlabel);
      if (ylabel) el('text', { class: 'label', x: 14, y: (o.t + yb) / 2, transform: `rotate(-90 14 ${(o.t + yb) / 2})`, 'text-anchor': 'middle' }, this.svg, ylabel);
      this.clipId = 'c' + Math.random().toString(36).slice(2);
      const cp = el('clipPath', { id: this.clipId }, this.svg);
      el('rect', { x: o.l, y: o.t, width: xr - o.l, height: yb - o.t }, cp);
      this.layer = el('g', { 'clip-path': `url(#${this.clipId})` }, this.svg);
      this.top = el('g', {}, this.svg);
      return this;
    }
    line(xs, ys, a = {}) {
      let d = '', pen = false;
      for (let i = 0; i < xs.length; i++) {
        if (!this.ok(xs[i], ys[i])) { pen = false; continue; }
        d += (pen ? 'L' : 'M') + this.sx(xs[i]).toFixed(2) + ',' + this.sy(ys[i]).toFixed(2);
        pen = true;
      }
      return el('path', { d, fill: 'none', stroke: a.color || '#333', 'stroke-width': a.width || 2,
        'stroke-dasharray': a.dash ? '5,4' : null, opacity: a.opacity }, a.parent || this.layer);
    }
    dot(x, y, a = {}) {
      if (!this.ok(x, y)) return null;
      const c = el('circle', { cx: this.sx(x), cy: this.sy(y), r: a.r || 4, fill: a.hollow ? '#fff' : (a.color || '#333'),
        stroke: a.color || '#333', 'stroke-width': a.hollow ? 2 : 1, 'data-tip': a.tip, tabindex: a.focus ? 0 : null,
        class: a.cls, role: a.tip && a.focus ? 'img' : null, 'aria-label': a.tip && a.focus ? a.tip.replace(/\n/g, '; ') : null },
        a.parent || this.top);
      return c;
    }
    /* The optimiser's path: segments with an arrowhead half-way. */
    path(xs, ys, a = {}) {
      const g = el('g', {}, this.layer), color = a.color || '#0072b2';
      this.line(xs, ys, { color, width: a.width || 1.6, parent: g });
      for (let i = 0; i + 1 < xs.length && a.arrows !== false; i++) {
        if (!this.ok(xs[i], ys[i]) || !this.ok(xs[i + 1], ys[i + 1])) continue;
        const x0 = this.sx(xs[i]), y0 = this.sy(ys[i]), x1 = this.sx(xs[i + 1]), y1 = this.sy(ys[i + 1]);
        const len = Math.hypot(x1 - x0, y1 - y0);
        if (len < 9) continue;
        const ux = (x1 - x0) / len, uy = (y1 - y0) / len, mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
        el('path', { d: `M${mx + 4 * ux},${my + 4 * uy}L${mx - 4 * ux - 3 * uy},${my - 4 * uy + 3 * ux}L${mx - 4 * ux + 3 * uy},${my - 4 * uy - 3 * ux}Z`, fill: color }, g);
      }
      return g;
    }
    text(x, y, s, a = {}) {
      if (!this.ok(x, y)) return null;
      return el('text', { x: this.sx(x) + (a.dx || 6), y: this.sy(y) + (a.dy || -6), 'font-size': a.size || 11, fill: a.color || '#1b1f24',
        'text-anchor': a.anchor || 'start' }, this.top, s);
    }
    /* Above the plot, so that it never covers a point. */
    legend(items) {
      const o = this.o, g = el('g', {}, this.svg), y = Math.max(10, o.t - 14);
      let x = o.l;
      for (const [label, color, dashed] of items) {
        el('line', { x1: x, x2: x + 16, y1: y, y2: y, stroke: color, 'stroke-width': 2.5, 'stroke-dasharray': dashed ? '4,3' : null }, g);
        const t = el('text', { x: x + 20, y: y + 4, 'font-size': 11, fill: '#1b1f24' }, g, label);
        x += 28 + Math.max(30, (t.getComputedTextLength ? t.getComputedTextLength() : label.length * 6));
      }
    }
  }

  /* Filled bands and contour lines of a grid z (n x n, rows of slopes). */
  function contour(p, grid, view) {
    const n = grid.n, z = grid.ssr;
    const fz = z.filter((v) => finite(v) && v > 0);
    const lo = Math.min(...fz), hi = Math.max(...fz), levels = [];
    for (let i = 1; i <= 14; i++) levels.push(lo * Math.pow(hi / lo, i / 15));
    const bx = (i) => view.intercept[0] + (view.intercept[1] - view.intercept[0]) * i / (n - 1);
    const by = (j) => view.slope[0] + (view.slope[1] - view.slope[0]) * j / (n - 1);
    const g = el('g', {}, p.layer);
    const cw = Math.abs(p.sx(bx(1)) - p.sx(bx(0))) + 0.6, ch = Math.abs(p.sy(by(1)) - p.sy(by(0))) + 0.6;
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
      const v = z[j * n + i];
      if (!finite(v)) continue;
      const t = Math.max(0, Math.min(1, Math.log(v / lo) / Math.log(hi / lo)));
      el('rect', { x: p.sx(bx(i)) - cw / 2, y: p.sy(by(j)) - ch / 2, width: cw, height: ch,
        fill: `hsl(${210 - 170 * t},70%,${92 - 30 * t}%)` }, g);
    }
    /* Marching squares, one segment per cell and level. */
    let d = '';
    for (const lv of levels) for (let j = 0; j + 1 < n; j++) for (let i = 0; i + 1 < n; i++) {
      const c = [z[j * n + i], z[j * n + i + 1], z[(j + 1) * n + i + 1], z[(j + 1) * n + i]];
      if (!c.every(finite)) continue;
      const P = [[bx(i), by(j)], [bx(i + 1), by(j)], [bx(i + 1), by(j + 1)], [bx(i), by(j + 1)]], pts = [];
      for (let e = 0; e < 4; e++) {
        const a = c[e], b = c[(e + 1) % 4];
        if ((a < lv) !== (b < lv)) {
          const t = (lv - a) / (b - a), A = P[e], B = P[(e + 1) % 4];
          pts.push([A[0] + t * (B[0] - A[0]), A[1] + t * (B[1] - A[1])]);
        }
      }
      for (let k = 0; k + 1 < pts.length; k += 2)
        d += `M${p.sx(pts[k][0]).toFixed(1)},${p.sy(pts[k][1]).toFixed(1)}L${p.sx(pts[k + 1][0]).toFixed(1)},${p.sy(pts[k + 1][1]).toFixed(1)}`;
    }
    el('path', { d, fill: 'none', stroke: '#ffffff', 'stroke-width': 0.8, opacity: 0.8 }, g);
    /* Hover anywhere: the SSR of the nearest grid point. */
    const hit = el('rect', { x: p.o.l, y: p.o.t, width: p.o.w - p.o.l - p.o.r, height: p.o.h - p.o.t - p.o.b, class: 'hit' }, g);
    hit.addEventListener('mousemove', (e) => {
      const r = p.svg.getBoundingClientRect(), sc = p.o.w / r.width;
      const b = p.ix((e.clientX - r.left) * sc), k = p.iy((e.clientY - r.top) * sc);
      const i = Math.round((b - view.intercept[0]) / (view.intercept[1] - view.intercept[0]) * (n - 1));
      const j = Math.round((k - view.slope[0]) / (view.slope[1] - view.slope[0]) * (n - 1));
      if (i < 0 || j < 0 || i >= n || j >= n) return;
      hit.setAttribute('data-tip', `intercept ${short(bx(i))}, slope ${short(by(j))}\nSSR ${show(z[j * n + i])}`);
      showTip(hit, e.clientX, e.clientY);
    });
  }

  /* A point that can be dragged (mouse, touch) or moved with the arrow keys;
   * commit(x, y) is called when it is let go. */
  function draggable(p, x, y, a, commit) {
    const c = p.dot(x, y, { r: 7, hollow: true, color: a.color || '#1b1f24', cls: 'drag', focus: true, tip: a.tip });
    if (!c) return;
    c.setAttribute('role', 'slider');
    c.setAttribute('aria-label', a.label);
    c.setAttribute('aria-valuetext', a.valuetext);
    let dragging = false, nx = x, ny = y;
    const at = (e) => {
      const r = p.svg.getBoundingClientRect(), sc = p.o.w / r.width;
      nx = a.vertical ? x : p.ix((e.clientX - r.left) * sc);
      ny = a.horizontal ? y : p.iy((e.clientY - r.top) * sc);
      c.setAttribute('cx', p.sx(nx));
      c.setAttribute('cy', p.sy(ny));
    };
    c.addEventListener('pointerdown', (e) => { dragging = true; c.setPointerCapture(e.pointerId); e.preventDefault(); });
    c.addEventListener('pointermove', (e) => { if (dragging) at(e); });
    c.addEventListener('pointerup', (e) => { if (!dragging) return; dragging = false; at(e); commit(nx, ny); });
    /* A finger on the point drags it rather than scrolling the page (SVG
     * shapes do not take CSS touch-action in Chromium); a cancelled drag
     * puts it back. */
    c.addEventListener('touchstart', (e) => e.preventDefault(), { passive: false });
    c.addEventListener('pointercancel', () => {
      dragging = false;
      c.setAttribute('cx', p.sx(x));
      c.setAttribute('cy', p.sy(y));
    });
    c.addEventListener('keydown', (e) => {
      const dx = (p.x1 - p.x0) / 40, dy = (p.y1 - p.y0) / 40;
      const moves = { ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, dy], ArrowDown: [0, -dy] };
      const m = moves[e.key];
      if (!m || (a.horizontal && m[1]) || (a.vertical && m[0])) return;
      e.preventDefault();
      e.stopPropagation();
      commit(x + m[0], y + m[1]);
    });
  }
  /* Values a learner types: two decimals are plenty for a start. */
  const roundStart = (v) => String(Math.round(v * 100) / 100);

  /* The start (intercept, slope) of a line section on its contour map p:
   * dropped, it goes into the section's number fields and runs again. */
  function dragStart2d(pl, p) {
    const b = pl.col('intercept', 0), k = pl.col('slope', 0);
    draggable(p, toNum(b), toNum(k), { label: 'starting point (intercept, slope)', valuetext: `intercept ${b}, slope ${k}`,
      tip: `start: intercept ${b}, slope ${k}\n(drag, or arrow keys)` },
      (nb, nk) => { pl.ctl('icpt0').value = roundStart(nb); pl.ctl('slope0').value = roundStart(nk); pl.run(); });
  }

  /* ------------------------------------------------------------------ */
  /* A section that plays a run                                          */
  /* ------------------------------------------------------------------ */

  const players = [];
  class Player {
    constructor(id, build, render) {
      this.sec = document.getElementById(id);
      this.build = build;
      this.renderFn = render;
      this.k = 0;
      this.timer = null;
      this.atCache = new Map();
      players.push(this);
      this.sec.querySelectorAll('[data-act]').forEach((b) => b.addEventListener('click', () => this.act(b.dataset.act)));
      this.sec.addEventListener('keydown', (e) => {
        if (e.target.matches('input, select, textarea') || e.altKey || e.ctrlKey || e.metaKey) return;
        const keys = { ArrowRight: 'step', ArrowLeft: 'back', p: 'play', P: 'play', r: 'reset', R: 'reset' };
        if (keys[e.key]) { e.preventDefault(); this.act(keys[e.key]); }
      });
    }
    ctl(name) { return this.sec.querySelector(`[data-ctl="${name}"]`); }
    out(name) { return this.sec.querySelector(`[data-out="${name}"]`); }
    plot(name) { return this.sec.querySelector(`[data-plot="${name}"]`); }
    setOut(name, text) { const o = this.out(name); if (o) o.textContent = text; }
    get rows() { return this.ans && this.ans.rows ? this.ans.rows.length : 0; }
    col(name, k = this.k) {
      const i = this.ans.cols.indexOf(name);
      return i < 0 ? undefined : this.ans.rows[k][i];
    }
    run() {
      this.pause();
      this.req = this.build();
      this.ans = Engine.call(this.req);
      this.atCache.clear();
      this.k = 0;
      this.render();
    }
    /* The state at step k (extra: more words, as ' slice=w1'); in a
     * recorded page, the nearest earlier step it holds. */
    at(k, extra = '') {
      for (let j = k; j >= 0; j--) {
        const key = this.req + ' at=' + j + extra;
        if (!this.atCache.has(key)) this.atCache.set(key, Engine.call(key));
        const a = this.atCache.get(key);
        if (!a.missing) return Object.assign({ shownAt: j }, a);
      }
      return { error: RECORDED_NOTE, missing: true };
    }
    render() {
      const busy = this.sec.querySelector('[data-out="stop"]');
      if (this.ans.error) {
        this.sec.querySelectorAll('.plot').forEach((p) => { p.textContent = ''; });
        if (busy) busy.textContent = this.ans.error;
        this.sec.querySelectorAll('[data-act]').forEach((b) => { if (b.dataset.act !== 'reset') b.disabled = true; });
        return;
      }
      const last = this.k === this.rows - 1;
      this.sec.querySelector('[data-act="step"]').disabled = last;
      this.sec.querySelector('[data-act="back"]').disabled = this.k === 0;
      this.sec.querySelector('[data-act="play"]').disabled = last && !this.timer;
      const end = this.sec.querySelector('[data-act="end"]');
      if (end) end.disabled = last;
      this.renderFn(this, this.k, last);
    }
    act(a) {
      if (!this.ans) return;
      if (a === 'play') return this.timer ? this.pause() : this.play();
      if (a === 'reset') { this.run(); return; }
      if (this.ans.error) return;
      if (a === 'step' && this.k < this.rows - 1) this.k++;
      else if (a === 'back' && this.k > 0) this.k--;
      else if (a === 'end') this.k = this.rows - 1;
      else return;
      this.render();
    }
    play() {
      if (this.ans.error || this.k >= this.rows - 1) return;
      const b = this.sec.querySelector('[data-act="play"]');
      b.textContent = '⏸ Pause';
      b.setAttribute('aria-pressed', 'true');
      /* Long runs play faster, so a play never takes much over ten seconds. */
      const every = Math.max(1, Math.round(this.rows / 200)), ms = this.rows > 60 ? 40 : 350;
      this.timer = setInterval(() => {
        this.k = Math.min(this.rows - 1, this.k + every);
        if (this.k >= this.rows - 1) this.pause();
        this.render();
      }, ms);
    }
    pause() {
      if (!this.timer) return;
      clearInterval(this.timer);
      this.timer = null;
      const b = this.sec.querySelector('[data-act="play"]');
      b.textContent = '▶ Play';
      b.setAttribute('aria-pressed', 'false');
    }
  }

  /* A slider over a list of values (their text goes into the request). */
  function slider(pl, name, values, initial, onchange) {
    const s = pl.ctl(name), o = pl.out(name);
    s.max = values.length - 1;
    s.value = Math.max(0, values.indexOf(initial));
    const sync = () => {
      const v = values[Number(s.value)];
      if (o) o.textContent = v;
      s.setAttribute('aria-valuetext', v);
    };
    sync();
    s.addEventListener('input', sync);
    s.addEventListener('change', () => { sync(); onchange(); });
    return () => values[Number(s.value)];
  }
  function numberInput(pl, name, onchange) {
    const i = pl.ctl(name);
    i.addEventListener('change', () => {
      if (i.value === '' || !isFinite(Number(i.value))) i.value = i.defaultValue;
      onchange();
    });
    return () => String(Number(i.value));
  }

  /* The explainer's text, the part that matters most first. */
  function formula(target, text, opts = {}) {
    target.textContent = '';
    if (opts.note) html('p', { class: 'note' }, target, opts.note);
    if (!text) return;
    const blocks = text.split(/\n\n+/);
    const mainIdx = opts.main !== undefined ? opts.main : blocks.length - 1;
    html('pre', { class: 'main' }, target, blocks[mainIdx]);
    const rest = blocks.filter((_, i) => i !== mainIdx);
    if (rest.length) {
      const d = html('details', {}, target);
      if (opts.open) d.open = true;
      html('summary', {}, d, opts.more || 'Every factor, point by point');
      html('pre', {}, d, rest.join('\n\n'));
    }
  }
  function recordedNote(a, k) {
    return a.shownAt !== undefined && a.shownAt !== k
      ? `This recorded page holds the text of some steps only: shown at step ${a.shownAt}. The live page shows every step.` : undefined;
  }
  function stopText(pl, last) {
    if (!last) return '';
    const a = pl.ans, n = a.iterations;
    return `Stopped: ${a.stop} after ${n} iteration${n === 1 ? '' : 's'}: ${STOP_WORDS[a.stop] || a.stop}.`;
  }

  /* ------------------------------------------------------------------ */
  /* The line sections                                                   */
  /* ------------------------------------------------------------------ */

  const data = { line: 'seed', net: 'dosage' };

  function lineReq(o) {
    return request('line', [['data', data.line], ['fit', o.fit], ['slope', o.slope], ['icpt0', o.icpt0], ['slope0', o.slope0],
      ['lr', o.lr], ['tol', o.tol], ['max_iter', o.max_iter], ['batch', o.batch], ['seed', o.seed], ['opt', o.opt]]);
  }

  /* The data and the line of step k, with each point's residual. */
  function drawLineData(pl, k, a = {}) {
    const ans = pl.ans, p = new Plot(pl.plot('data'), { label: `${ans.yname} against ${ans.xname}, and the line at step ${k}` });
    const preds = ans.preds[k], n = ans.x.length, xe = ans.x_ends;
    /* The data fixes the frame; a line far off it leaves by the edges. */
    const y0 = Math.min(0, ...ans.y), y1 = Math.max(...ans.y), pad = (y1 - y0) * 0.12 || 1;
    p.range(xe[0], xe[1], y0 - pad, y1 + pad).axes(ans.xname, ans.yname);
    p.line(xe, preds.slice(n), { color: '#0072b2', width: 2.2 });
    const batch = a.batch ? new Set(a.batch) : null;
    for (let i = 0; i < n; i++) {
      const inb = batch && batch.has(i);
      el('line', { x1: p.sx(ans.x[i]), x2: p.sx(ans.x[i]), y1: p.sy(ans.y[i]), y2: p.sy(preds[i]), stroke: inb ? '#d55e00' : '#8c959f',
        'stroke-dasharray': '3,3', 'stroke-width': inb ? 2 : 1 }, p.layer);
      p.dot(ans.x[i], ans.y[i], { r: inb ? 7 : 5, color: batch ? (inb ? '#d55e00' : '#8c959f') : '#1b1f24', focus: n <= 30,
        tip: `point ${i + 1}${inb ? ' (in this batch)' : ''}\n${ans.xname} ${show(ans.x[i])}, ${ans.yname} ${show(ans.y[i])}\npredicted ${show(preds[i])}` });
    }
    p.legend([[`line at step ${k}`, '#0072b2'], ['residuals', '#8c959f', true]]);
    return p;
  }

  function setupIntercept() {
    const pl = new Player('intercept', () => lineReq({ fit: 'intercept', slope: '0.64', icpt0: icpt0(), slope0: '1', lr: lr(),
      tol: '0.001', max_iter: '1000', batch: '0', seed: '42', opt: 'gd' }), render);
    const lr = slider(pl, 'lr', ['0.01', '0.02', '0.05', '0.1', '0.15', '0.2', '0.3', '0.33', '0.35'], '0.1', () => pl.run());
    const icpt0 = numberInput(pl, 'icpt0', () => pl.run());
    function render(pl, k, last) {
      const a = pl.ans;
      pl.setOut('stop', stopText(pl, last));
      document.getElementById('intercept-iter').textContent = `${k} of ${pl.rows - 1}`;
      document.getElementById('intercept-value').textContent = show(pl.col('intercept'));
      document.getElementById('intercept-derivative').textContent = show(pl.col('d_intercept'));
      document.getElementById('intercept-step').textContent = last ? '— (no step: the run stopped)' : show(pl.col('step_intercept'));
      document.getElementById('intercept-ssr').textContent = show(pl.col('ssr'));
      drawLineData(pl, k);
      /* The parabola, the steps so far, the tangent at this step. */
      const p = new Plot(pl.plot('ssr'), { label: `SSR against the intercept, step ${k}` });
      const bs = [], ss = [];
      for (let j = 0; j <= k; j++) { bs.push(toNum(pl.col('intercept', j))); ss.push(toNum(pl.col('ssr', j))); }
      p.fit(a.curve.intercept, a.curve.ssr.concat([0]), 0.03).axes('intercept', 'SSR (sum of squared residuals)');
      p.line(a.curve.intercept, a.curve.ssr, { color: '#cc79a7', width: 2.5 });
      for (let i = 0; i < a.curve.intercept.length; i += 6)
        p.dot(a.curve.intercept[i], a.curve.ssr[i], { r: 6, cls: 'hit', color: 'transparent', tip: `intercept ${show(a.curve.intercept[i])}\nSSR ${show(a.curve.ssr[i])}` });
      if (a.ls) {
        const lb = toNum(a.ls.intercept);
        el('line', { x1: p.sx(lb), x2: p.sx(lb), y1: p.o.t, y2: p.o.h - p.o.b, stroke: '#57606a', 'stroke-dasharray': '4,4' }, p.layer);
        const right = p.sx(lb) > (p.o.l + p.o.w) / 2;
        p.text(lb, p.y1, `lowest SSR at ${a.ls.intercept}`, { dy: 14, dx: right ? -6 : 6, anchor: right ? 'end' : 'start', color: '#57606a' });
      }
      p.path(bs, ss, { color: '#0072b2' });
      const b = bs[k], s = ss[k], d = toNum(pl.col('d_intercept'));
      if (finite(b) && finite(s) && finite(d)) {
        const h = (p.x1 - p.x0) * 0.12;
        p.line([b - h, b + h], [s - d * h, s + d * h], { color: '#d55e00', width: 1.8 });
      }
      for (let j = 1; j <= k; j++) p.dot(bs[j], ss[j], { r: j === k ? 5.5 : 3.5, color: '#0072b2',
        tip: `step ${j}: intercept ${pl.col('intercept', j)}\nSSR ${pl.col('ssr', j)}\nderivative ${pl.col('d_intercept', j)}` });
      draggable(p, bs[0], ss[0], { horizontal: true, label: 'starting intercept', valuetext: show(pl.col('intercept', 0)),
        tip: `start: intercept ${pl.col('intercept', 0)}\nSSR ${pl.col('ssr', 0)}\n(drag, or arrow keys)` },
        (nx) => { pl.ctl('icpt0').value = roundStart(nx); pl.run(); });
      p.legend([['SSR', '#cc79a7'], ['steps', '#0072b2'], ['tangent', '#d55e00']]);
      const at = pl.at(k);
      formula(pl.out('formula'), at.error ? '' : at.explain, { note: at.error || recordedNote(at, k), more: "Each point's derivative, by the chain rule" });
    }
    return pl;
  }

  function drawPaths(pl, p, paths) {
    for (const [ans, k, color, label] of paths) {
      if (!ans || ans.error) continue;
      const col = (name) => ans.cols.indexOf(name), bi = col('intercept'), ki = col('slope');
      const bs = [], ks = [];
      for (let j = 0; j <= Math.min(k, ans.rows.length - 1); j++) { bs.push(toNum(ans.rows[j][bi])); ks.push(toNum(ans.rows[j][ki])); }
      p.path(bs, ks, { color, arrows: bs.length < 80 });
      const j = bs.length - 1;
      p.dot(bs[j], ks[j], { r: 5, color, tip: `${label}, step ${j}\nintercept ${ans.rows[j][bi]}, slope ${ans.rows[j][ki]}\nSSR ${ans.rows[j][col('ssr_all')]}` });
    }
  }

  function contourPlot(pl, k, extra) {
    const a = pl.ans, v = a.view, p = new Plot(pl.plot('contour'), { label: `SSR over intercept and slope, step ${k}` });
    p.range(v.intercept[0], v.intercept[1], v.slope[0], v.slope[1]).axes('intercept', 'slope');
    contour(p, a.grid, v);
    if (a.ls) {
      const lb = toNum(a.ls.intercept), lk = toNum(a.ls.slope);
      el('path', { d: `M${p.sx(lb) - 6},${p.sy(lk)}h12M${p.sx(lb)},${p.sy(lk) - 6}v12`, stroke: '#1b1f24', 'stroke-width': 2 }, p.layer);
      p.dot(lb, lk, { r: 6, cls: 'hit', color: 'transparent', tip: `least squares: intercept ${a.ls.intercept}, slope ${a.ls.slope}\nSSR ${a.ls.ssr}` });
    }
    drawPaths(pl, p, extra);
    return p;
  }

  function setupBoth() {
    const pl = new Player('both', () => lineReq({ fit: 'both', slope: slope0(), icpt0: icpt0(), slope0: slope0(), lr: lr(),
      tol: '0.001', max_iter: '1000', batch: '0', seed: '42', opt: opt() }), render);
    const lr = slider(pl, 'lr', ['0.001', '0.002', '0.005', '0.01', '0.02', '0.05', '0.1', '0.15'], '0.01', () => pl.run());
    const icpt0 = numberInput(pl, 'icpt0', () => pl.run()), slope0 = numberInput(pl, 'slope0', () => pl.run());
    const optSel = pl.ctl('opt');
    optSel.addEventListener('change', () => pl.run());
    const opt = () => optSel.value;
    function render(pl, k, last) {
      pl.setOut('stop', stopText(pl, last));
      pl.setOut('iter', `${k} of ${pl.rows - 1}`);
      for (const c of ['intercept', 'slope', 'd_intercept', 'd_slope', 'ssr']) pl.setOut(c, show(pl.col(c)));
      pl.setOut('steps', last ? '—' : `${show(pl.col('step_intercept'))}, ${show(pl.col('step_slope'))}`);
      drawLineData(pl, k);
      const p = contourPlot(pl, k, [[pl.ans, k, '#0072b2', 'gradient descent']]);
      dragStart2d(pl, p);
      const at = pl.at(k);
      formula(pl.out('formula'), at.error ? '' : at.explain, { note: at.error || recordedNote(at, k), more: "Each point's derivatives, by the chain rule" });
    }
    return pl;
  }

  function setupStopping() {
    const pl = new Player('stopping', () => lineReq({ fit: 'both', slope: slope0(), icpt0: icpt0(), slope0: slope0(), lr: lr(),
      tol: tol(), max_iter: maxIter(), batch: '0', seed: '42', opt: 'gd' }), render);
    const lr = slider(pl, 'lr', ['0.001', '0.002', '0.005', '0.01', '0.02', '0.05', '0.1', '0.15'], '0.01', () => pl.run());
    const tol = slider(pl, 'tol', ['0.1', '0.01', '0.001', '0.0001', '1e-05', '1e-06', '0'], '0.001', () => pl.run());
    const maxIter = slider(pl, 'max_iter', ['10', '50', '100', '200', '500', '1000', '5000', '20000'], '1000', () => pl.run());
    const icpt0 = numberInput(pl, 'icpt0', () => pl.run()), slope0 = numberInput(pl, 'slope0', () => pl.run());
    function render(pl, k, last) {
      const a = pl.ans, n = pl.rows;
      pl.setOut('iter', `${k} of ${n - 1}`);
      pl.setOut('max_step', show(pl.col('max_step')));
      pl.setOut('ssr', show(pl.col('ssr')));
      pl.setOut('ls', a.ls ? show(a.ls.ssr) : '—');
      const t = toNum(tol()), cap = toNum(maxIter());
      const fired = last ? (a.stop === 'step_size' ? `The step-size rule fired: at iteration ${a.iterations - 1} every step was below the tolerance ${tol()}.`
        : a.stop === 'max_iter' ? `The iteration cap fired: ${a.iterations} iterations, and the last step (${show(pl.col('max_step', n - 2))}) was still above the tolerance ${tol()}.`
          : stopText(pl, true)) : `Running: iteration ${k}. The tolerance is ${tol()}, the cap ${maxIter()} iterations.`;
      pl.setOut('stop', fired);
      const it = [], st = [], ls = [];
      for (let j = 0; j < n; j++) { it.push(j); st.push(toNum(pl.col('max_step', j))); ls.push(toNum(pl.col('ssr', j))); }
      const p = new Plot(pl.plot('steps'), { logy: true, label: 'largest step size per iteration' });
      p.fit(it.concat([Math.min(cap, n + 5)]), st.filter(finite).concat(t > 0 ? [t] : []), 0.02).axes('iteration', 'largest |step|');
      p.line(it.slice(0, k + 1), st.slice(0, k + 1), { color: '#0072b2' });
      p.line(it, st, { color: '#0072b2', opacity: 0.2 });
      if (t > 0) {
        el('line', { x1: p.o.l, x2: p.o.w - p.o.r, y1: p.sy(t), y2: p.sy(t), stroke: '#d55e00', 'stroke-dasharray': '6,4', 'stroke-width': 1.5 }, p.layer);
        p.text(p.x0, t, `tolerance ${tol()}`, { color: '#d55e00' });
      }
      p.dot(k, st[k], { r: 5, color: '#0072b2', tip: `iteration ${k}\nlargest step ${show(pl.col('max_step'))}` });
      const q = new Plot(pl.plot('loss'), { label: 'SSR per iteration', logy: false });
      q.fit(it, ls.concat(a.ls ? [toNum(a.ls.ssr)] : []), 0.04).axes('iteration', 'SSR');
      q.line(it.slice(0, k + 1), ls.slice(0, k + 1), { color: '#cc79a7' });
      q.line(it, ls, { color: '#cc79a7', opacity: 0.25 });
      if (a.ls) {
        const m = toNum(a.ls.ssr);
        el('line', { x1: q.o.l, x2: q.o.w - q.o.r, y1: q.sy(m), y2: q.sy(m), stroke: '#57606a', 'stroke-dasharray': '4,4' }, q.layer);
        q.text(q.x1, m, `least squares ${a.ls.ssr}`, { anchor: 'end', dx: -4, color: '#57606a' });
      }
      q.dot(k, ls[k], { r: 5, color: '#cc79a7', tip: `iteration ${k}\nSSR ${show(pl.col('ssr'))}` });
      dragStart2d(pl, contourPlot(pl, k, [[a, k, '#0072b2', 'gradient descent']]));
    }
    return pl;
  }

  function setupSgd() {
    const settings = (batch) => ({ fit: 'both', slope: slope0(), icpt0: icpt0(), slope0: slope0(), lr: lr(), tol: '0.001', max_iter: '300',
      batch, seed: seed(), opt: 'gd' });
    const pl = new Player('sgd', () => lineReq(settings(batch())), render);
    const lr = slider(pl, 'lr', ['0.005', '0.01', '0.02', '0.05'], '0.02', () => pl.run());
    const batch = slider(pl, 'batch', ['1', '2'], '1', () => pl.run());
    const seed = numberInput(pl, 'seed', () => pl.run());
    const icpt0 = numberInput(pl, 'icpt0', () => pl.run()), slope0 = numberInput(pl, 'slope0', () => pl.run());
    function render(pl, k, last) {
      /* The full-batch run from the same start, for comparison. */
      const full = Engine.call(lineReq(Object.assign(settings('0'), { seed: '42' })));
      pl.setOut('stop', stopText(pl, last));
      pl.setOut('iter', `${k} of ${pl.rows - 1}`);
      const rows = last ? [] : pl.ans.batches[k];
      pl.setOut('rows', last ? '— (the final state)' : rows.map((r) => r + 1).join(', '));
      for (const c of ['intercept', 'slope', 'ssr', 'ssr_all']) pl.setOut(c, show(pl.col(c)));
      drawLineData(pl, k, { batch: rows });
      const p = contourPlot(pl, k, [[full, k, '#0072b2', 'full batch'], [pl.ans, k, '#d55e00', 'stochastic']]);
      p.legend([['stochastic', '#d55e00'], ['full batch', '#0072b2']]);
      dragStart2d(pl, p);
      const at = pl.at(k);
      formula(pl.out('formula'), at.error ? '' : at.explain, { note: at.error || recordedNote(at, k), more: "Each point's derivatives, by the chain rule" });
    }
    return pl;
  }

  /* ------------------------------------------------------------------ */
  /* The network sections                                                */
  /* ------------------------------------------------------------------ */

  let demos = null;
  const demo = (name) => demos.find((d) => d.name === name);

  function netReq(o) {
    return request('net', [['demo', o.demo], ['data', data.net], ['init', o.init], ['only', o.only], ['lr', o.lr], ['opt', o.opt],
      ['tol', o.tol], ['max_iter', o.max_iter], ['loss_tol', o.loss_tol], ['relu0', o.relu0], ['seed', o.seed]]);
  }
  const param = (pl, name, k = pl.k) => pl.col(name, k);

  /* The seed's picture of the network: input, weights, units, sum, b3. */
  function drawNetwork(pl, k, act) {
    const p = new Plot(pl.plot('network'), { w: 500, h: 300, label: `the network at step ${k}` });
    const s = p.svg, v = (n) => show(param(pl, n, k));
    const node = (x, y, label, sub, tipText) => {
      const g = el('g', { 'data-tip': tipText, tabindex: 0, role: 'img', 'aria-label': tipText.replace(/\n/g, '; ') }, s);
      el('circle', { cx: x, cy: y, r: 26, fill: '#fff', stroke: '#1b1f24', 'stroke-width': 1.5 }, g);
      el('text', { x, y: y + 4, 'text-anchor': 'middle', 'font-size': 12 }, g, label);
      if (sub) el('text', { x, y: y + 42, 'text-anchor': 'middle', 'font-size': 11, fill: '#57606a' }, g, sub);
    };
    /* The weight's label runs along its edge, just above it, on a white
     * halo, so it never sits on a line. */
    const edge = (x0, y0, x1, y1, label, color) => {
      el('line', { x1: x0, y1: y0, x2: x1, y2: y1, stroke: color, 'stroke-width': 2 }, s);
      const mx = (x0 + x1) / 2, my = (y0 + y1) / 2, deg = Math.atan2(y1 - y0, x1 - x0) * 180 / Math.PI;
      el('text', { x: mx, y: my - 6, 'text-anchor': 'middle', 'font-size': 12, fill: color, 'font-weight': 600,
        stroke: '#fff', 'stroke-width': 4, 'paint-order': 'stroke', transform: `rotate(${deg.toFixed(2)} ${mx} ${my})` }, s, label);
    };
    edge(72, 150, 186, 70, `× w1 = ${v('w1')}`, '#0072b2');
    edge(72, 150, 186, 230, `× w2 = ${v('w2')}`, '#d55e00');
    edge(236, 70, 332, 150, `× w3 = ${v('w3')}`, '#0072b2');
    edge(236, 230, 332, 150, `× w4 = ${v('w4')}`, '#d55e00');
    el('line', { x1: 384, y1: 150, x2: 412, y2: 150, stroke: '#1b1f24', 'stroke-width': 2 }, s);
    el('path', { d: 'M412,150l-7,-4v8z', fill: '#1b1f24' }, s);
    node(46, 150, pl.ans.xname, 'input', `input: ${pl.ans.xname}`);
    node(211, 70, act, `+ b1 = ${v('b1')}`, `unit 1: ${act}(w1 × ${pl.ans.xname} + b1)\nw1 ${v('w1')}, b1 ${v('b1')}`);
    node(211, 230, act, `+ b2 = ${v('b2')}`, `unit 2: ${act}(w2 × ${pl.ans.xname} + b2)\nw2 ${v('w2')}, b2 ${v('b2')}`);
    const outAct = pl.ans.spec.endsWith('relu') ? 'relu(Σ)' : 'Σ';
    node(358, 150, outAct, `+ b3 = ${v('b3')}`, `output: ${pl.ans.spec.endsWith('relu') ? 'relu(' : ''}w3 × unit 1 + w4 × unit 2 + b3${pl.ans.spec.endsWith('relu') ? ')' : ''}\nb3 ${v('b3')}\nthe network: ${pl.ans.spec}`);
    el('text', { x: 416, y: 154, 'font-size': 11, fill: '#57606a' }, s, pl.ans.yname);
  }

  /* The seed's "Trained Weights" picture in four panels. */
  /* onB3(b3): when given, step 0's fit has a handle on the curve that moves
   * it up and down: the run starts from b3 + the shift. */
  function drawUnits(pl, k, at, act, onB3) {
    const box = pl.plot('units');
    if (!at.curves) { box.textContent = ''; return; }
    const c = at.curves, a = pl.ans, colors = ['#0072b2', '#d55e00'];
    const wrap = html('div', { class: 'units' }, null);
    box.textContent = '';
    box.appendChild(wrap);
    wrap.style.display = 'grid';
    wrap.style.gridTemplateColumns = '1fr 1fr';
    let last = null;
    const panel = (title, series, withData, ylabel) => {
      const d = html('div', {}, wrap);
      const p = new Plot(d, { w: 300, h: 210, l: 46, b: 34, t: 24, label: title });
      const ys = series.flatMap((s) => s[1]).concat(withData ? a.y : []);
      p.fit(c.x, ys, 0.06).axes(a.xname, ylabel);
      last = p;
      el('text', { x: 150, y: 15, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': 600 }, p.svg, title);
      for (const [label, y, color, dash] of series) {
        p.line(c.x, y, { color, dash });
        for (let i = 0; i < c.x.length; i += 10) p.dot(c.x[i], y[i], { r: 5, cls: 'hit', color: 'transparent', tip: `${label}\n${a.xname} ${show(c.x[i])}: ${show(y[i])}` });
      }
      if (withData) for (let i = 0; i < a.x.length; i++)
        p.dot(a.x[i], a.y[i], { r: 4.5, color: '#1b1f24', tip: `${a.xname} ${show(a.x[i])}, ${a.yname} ${show(a.y[i])}\npredicted ${show(a.preds[k][i])}` });
    };
    panel(`1. ${act} of each unit`, c.act.map((y, j) => [`unit ${j + 1}: ${act}(w${j + 1} x + b${j + 1})`, y, colors[j]]), false, 'output');
    panel('2. scaled by w3 and w4', c.scaled.map((y, j) => [`unit ${j + 1} × w${j + 3}`, y, colors[j]]), false, 'scaled');
    panel('3. added together', [['the sum', c.sum, '#009e73']], false, 'sum');
    const out = a.spec.endsWith('relu') ? 'relu(sum + b3)' : 'sum + b3';
    panel(`4. ${out}: the fit`, [[out, c.final, '#cc79a7']], true, a.yname);
    if (onB3 && k === 0 && last) {
      const i = c.x.length >> 1, b3 = toNum(param(pl, 'b3', 0));
      draggable(last, c.x[i], c.final[i], { vertical: true, label: 'starting b3 (moves the curve up or down)', valuetext: show(param(pl, 'b3', 0)),
        tip: `start: b3 ${param(pl, 'b3', 0)}\n(drag up or down, or arrow keys)` },
        (nx, ny) => onB3(roundStart(b3 + (ny - c.final[i]))));
    }
  }

  function paramsText(pl, k) {
    return pl.ans.cols.slice(0, 7).map((n) => `${n} ${show(param(pl, n, k))}`).join(', ');
  }
  function initFor(name, changes) {
    const d = demo(name);
    if (!changes || Object.keys(changes).every((n) => changes[n] === d.values[d.names.indexOf(n)])) return 'demo';
    return d.names.map((n, i) => (n in changes ? changes[n] : d.values[i])).join(',');
  }
  function explainBlock(at, name) {
    if (!at.explain || at.explain.error) return at.explain ? at.explain.error : '';
    const b = at.explain.blocks.find((x) => x.param === name);
    return b ? b.text : '';
  }
  function fillParams(sel, names, initial) {
    if (sel.options.length) return;
    for (const n of names) html('option', { value: n }, sel, n);
    sel.value = initial;
  }

  /* A network section's starting values: the demo's, but for those the
   * learner dragged or typed. The section's `param` menu picks the
   * parameter whose start the number field and the slice show. */
  function netStarts(pl, initial) {
    const sel = pl.ctl('param'), field = pl.ctl('start'), changes = {};
    fillParams(sel, demo('softplus').names, initial);
    const st = {
      changes,
      name: () => sel.value,
      set(name, v) { changes[name] = v; pl.run(); },
      clear() { for (const n in changes) delete changes[n]; },
      /* After each render: the field shows the chosen parameter's start. */
      sync() {
        const n = sel.value;
        pl.setOut('startname', `start of ${n}`);
        field.value = n in changes ? changes[n] : (pl.ans && !pl.ans.error ? String(Number(pl.col(n, 0))) : '');
      },
    };
    field.addEventListener('change', () => {
      if (field.value === '' || !isFinite(Number(field.value))) { st.sync(); return; }
      st.set(sel.value, String(Number(field.value)));
    });
    sel.addEventListener('change', () => pl.render());
    return st;
  }

  /* The SSR against one parameter, the others at step k's values (the
   * engine's slice; when that parameter alone trains, the run's fixed
   * curve with every step on it), this step's point, and the start: a
   * hollow point to drag along the parameter's axis. */
  function drawSlice(pl, k, name, starts) {
    const a = pl.ans, fixed = a.sweep && a.sweep.param === name;
    const at = fixed ? null : pl.at(k, ' slice=' + name), sl = fixed ? a.sweep : at.slice;
    const shownAt = fixed ? k : at.shownAt;
    const p = new Plot(pl.plot('slice'), { label: `SSR against ${name}${fixed ? '' : `, the others at step ${shownAt}`}` });
    if (!sl) { pl.plot('slice').textContent = at && at.error ? at.error : ''; return; }
    const pi = a.cols.indexOf(name), li = a.cols.length - 1, from = fixed ? 0 : k, xs = [], ls = [];
    for (let j = from; j <= k; j++) { xs.push(toNum(a.rows[j][pi])); ls.push(toNum(a.rows[j][li])); }
    p.fit(sl.values, sl.ssr.concat([0]), 0.03).axes(name, 'SSR');
    p.line(sl.values, sl.ssr, { color: '#cc79a7', width: 2.5 });
    for (let i = 0; i < sl.values.length; i += 5)
      p.dot(sl.values[i], sl.ssr[i], { r: 6, cls: 'hit', color: 'transparent', tip: `${name} ${show(sl.values[i])}\nSSR ${show(sl.ssr[i])}` });
    if (shownAt === k) {
      p.path(xs, ls, { color: '#0072b2' });
      for (let j = fixed ? 1 : 0; j < xs.length; j++) p.dot(xs[j], ls[j], { r: j === xs.length - 1 ? 5.5 : 3.5, color: '#0072b2',
        tip: `step ${from + j}: ${name} ${a.rows[from + j][pi]}\nSSR ${a.rows[from + j][li]}` });
    }
    draggable(p, toNum(a.rows[0][pi]), toNum(a.rows[0][li]), { horizontal: true, label: `starting ${name}`, valuetext: show(a.rows[0][pi]),
      tip: `start: ${name} ${a.rows[0][pi]}\nSSR ${a.rows[0][li]}\n(drag along, or arrow keys)` },
      (nx) => starts.set(name, roundStart(nx)));
    p.legend([[fixed ? `SSR (only ${name} trains)` : `SSR against ${name} at step ${shownAt}`, '#cc79a7'], [fixed ? 'steps' : 'this step', '#0072b2']]);
  }

  function setupSquiggle() {
    const pl = new Player('squiggle', () => netReq({ demo: 'softplus', init: initFor('softplus', starts.changes), only: 'demo', lr: lr(), opt: optSel.value,
      tol: '0.001', max_iter: '1000', loss_tol: demo('softplus').loss_tol, relu0: '0', seed: '42' }), render);
    const lr = slider(pl, 'lr', ['0.01', '0.05', '0.1', '0.2'], demo('softplus').lr, () => pl.run());
    const optSel = pl.ctl('opt');
    optSel.addEventListener('change', () => pl.run());
    const starts = netStarts(pl, 'b3');
    function render(pl, k, last) {
      pl.setOut('stop', stopText(pl, last));
      pl.setOut('iter', `${k} of ${pl.rows - 1}`);
      pl.setOut('loss', show(pl.col('loss')));
      pl.setOut('params', paramsText(pl, k));
      drawNetwork(pl, k, 'softplus');
      const at = pl.at(k);
      drawUnits(pl, k, at, 'softplus', (v) => starts.set('b3', v));
      drawSlice(pl, k, starts.name(), starts);
      starts.sync();
      /* The explainer's text: its opening, the loss and units (as the op
       * table writes them), the forward pass; the forward pass first. */
      const blocks = at.explain && at.explain.blocks ? at.explain.blocks.filter((b) => !b.param).map((b) => b.text) : [];
      formula(pl.out('formula'), blocks.slice(0, 3).join('\n\n'), { main: 2, more: 'The loss and the units, as the op table writes them',
        note: at.error || (at.explain && at.explain.error) || recordedNote(at, k) });
    }
    return pl;
  }

  function setupBackprop() {
    const which = () => pl.ctl('which').value;
    const pl = new Player('backprop', () => {
      const d = which();
      return netReq({ demo: d, init: initFor(d, starts.changes), only: 'demo', lr: lr(), opt: 'gd', tol: '0.001', max_iter: '1000',
        loss_tol: demo(d).loss_tol, relu0: '0', seed: '42' });
    }, render);
    const lr = slider(pl, 'lr', ['0.01', '0.05', '0.1', '0.2', '0.3'], '0.1', () => pl.run());
    const starts = netStarts(pl, 'b3');
    /* The two runs start from different values: a start dragged in one is
     * not the other's. */
    pl.ctl('which').addEventListener('change', () => { starts.clear(); pl.run(); });
    function render(pl, k, last) {
      const a = pl.ans, name = starts.name();
      pl.setOut('stop', stopText(pl, last));
      pl.setOut('iter', `${k} of ${pl.rows - 1}`);
      pl.setOut('loss', show(pl.col('loss')));
      pl.setOut('pname', name);
      pl.setOut('pvalue', show(param(pl, name, k)));
      pl.setOut('dname', `dSSR/d${name}`);
      pl.setOut('dvalue', show(param(pl, 'd_' + name, k)));
      const at = pl.at(k);
      drawSlice(pl, k, name, starts);
      starts.sync();
      const f = new Plot(pl.plot('fit'), { label: 'the data and the curve' });
      if (at.curves) {
        f.fit(at.curves.x, at.curves.final.concat(a.y), 0.06).axes(a.xname, a.yname);
        f.line(at.curves.x, at.curves.final, { color: '#cc79a7' });
        for (let i = 0; i < a.x.length; i++) {
          el('line', { x1: f.sx(a.x[i]), x2: f.sx(a.x[i]), y1: f.sy(a.y[i]), y2: f.sy(a.preds[k][i]), stroke: '#8c959f', 'stroke-dasharray': '3,3' }, f.layer);
          f.dot(a.x[i], a.y[i], { r: 5, focus: true, tip: `${a.xname} ${show(a.x[i])}: observed ${show(a.y[i])}, predicted ${show(a.preds[k][i])}` });
        }
      }
      formula(pl.out('formula'), explainBlock(at, name), { note: at.error || recordedNote(at, k), main: 0 });
      const blocks = at.explain && at.explain.blocks ? at.explain.blocks.filter((b) => !b.param).slice(1, 3).map((b) => b.text) : [];
      if (blocks.length) {
        const d = html('details', {}, pl.out('formula'));
        html('summary', {}, d, 'The forward pass these numbers come from');
        html('pre', {}, d, blocks.join('\n\n'));
      }
    }
    return pl;
  }

  function setupRelu() {
    const rule = () => pl.sec.querySelector('[data-ctl="relu0"]:checked').value;
    const pl = new Player('relu', () => netReq({ demo: 'relu', init: initFor('relu', starts.changes), only: 'all', lr: lr(), opt: 'gd', tol: '0.001',
      max_iter: '1000', loss_tol: '0', relu0: rule(), seed: '42' }), render);
    const lr = slider(pl, 'lr', ['0.001', '0.01', '0.05', '0.1'], demo('relu').lr, () => pl.run());
    pl.sec.querySelectorAll('[data-ctl="relu0"]').forEach((r) => r.addEventListener('change', () => pl.run()));
    const starts = netStarts(pl, 'w1');
    function render(pl, k, last) {
      pl.setOut('stop', k === 0 ? "Step 0: the seed's weights, as the seed draws them." : stopText(pl, last));
      pl.setOut('iter', `${k} of ${pl.rows - 1}`);
      pl.setOut('loss', show(pl.col('loss')));
      pl.setOut('grads', pl.ans.cols.slice(0, 7).map((n) => `dSSR/d${n} ${show(param(pl, 'd_' + n, k))}`).join(', '));
      drawNetwork(pl, k, 'relu');
      const at = pl.at(k);
      drawUnits(pl, k, at, 'relu', (v) => starts.set('b3', v));
      drawSlice(pl, k, starts.name(), starts);
      starts.sync();
      formula(pl.out('formula'), explainBlock(at, starts.name()), { note: at.error || recordedNote(at, k), main: 0 });
    }
    return pl;
  }

  /* ------------------------------------------------------------------ */
  /* Your own data                                                       */
  /* ------------------------------------------------------------------ */

  function setupData(group, seedName, seedLabel, sections) {
    const err = document.getElementById(`${group}-data-error`), status = document.getElementById(`${group}-data-status`);
    const use = (name, text) => {
      err.textContent = '';
      if (!Engine.live) { err.textContent = RECORDED_NOTE; return; }
      if (text.length > 4e6) { err.textContent = `descent: error: ${name}: the page takes small files (at most 200 rows)`; return; }
      if (!Engine.putFile(name, text)) { err.textContent = `descent: error: cannot write ${name} for the engine`; return; }
      const before = data[group];
      data[group] = name;
      /* The first section's run checks the file; the message is the
       * command line's. */
      const first = sections[0]();
      first.run();
      if (first.ans.error) {
        err.textContent = first.ans.error;
        data[group] = before;
        first.run();
        return;
      }
      sections.slice(1).forEach((s) => s().run());
      status.textContent = `Using ${name}: ${first.ans.x.length} rows, ${first.ans.xname} and ${first.ans.yname}.`;
    };
    document.getElementById(`${group}-file`).addEventListener('change', async (e) => {
      const f = e.target.files[0];
      if (f) use(f.name, await f.text());
    });
    document.getElementById(`${group}-use-paste`).addEventListener('click', () => {
      use('pasted.csv', document.getElementById(`${group}-paste`).value);
    });
    document.getElementById(`${group}-use-seed`).addEventListener('click', () => {
      err.textContent = '';
      data[group] = seedName;
      sections.forEach((s) => s().run());
      status.textContent = seedLabel;
    });
  }

  /* ------------------------------------------------------------------ */
  /* Start                                                               */
  /* ------------------------------------------------------------------ */

  async function start() {
    const st = document.getElementById('engine-status');
    try {
      await Engine.init();
    } catch (e) {
      st.textContent = `descent's engine did not start: ${e}`;
      throw e;
    }
    st.classList.add(Engine.live ? 'live' : 'recorded');
    st.textContent = Engine.live
      ? "Live: descent's library compiled to WebAssembly runs in this page. Change anything; every number is computed now."
      : RECORDED_NOTE;
    document.body.dataset.engine = Engine.live ? 'live' : 'recorded';
    const d = Engine.call('demos');
    demos = d.demos;
    const S = {};
    S.intercept = setupIntercept();
    S.both = setupBoth();
    S.stopping = setupStopping();
    S.sgd = setupSgd();
    S.squiggle = setupSquiggle();
    S.backprop = setupBackprop();
    S.relu = setupRelu();
    for (const p of players) p.run();
    setupData('line', 'seed', "Using the seed's three points.", [() => S.intercept, () => S.both, () => S.stopping, () => S.sgd]);
    setupData('net', 'dosage', "Using the seed's dosage data.", [() => S.squiggle, () => S.backprop]);
    document.body.dataset.ready = 'true';
  }
  window.addEventListener('DOMContentLoaded', () => { start(); });
})();
