// The Immersions viewer: connects to the service's WebSocket (/ws), which carries exactly the OSC
// datagrams of the UDP stream (docs/osc.md), draws every neuron lit by its activation, and sends
// controls back as OSC datagrams.  window.viewer exposes state and timings (used by the tests).

import { decodePacket, encodeMessage, parseChunk, FrameAssembler } from "./osc.js";
import { PointRenderer } from "./renderer.js";
import { ControlSurface } from "./controls.js";
import { GalleryPanel } from "./gallery.js";

const P = "/immersions";
const $ = (id) => document.getElementById(id);

const stats = {
  firstFrameAt: null,     // performance.now() (ms since navigation start) when the first frame was drawn
  marks: { start: performance.now() },  // ms since navigation start: start, tables, open, layout, firstFrame
  frames: 0, frameIds: [], decodeMs: [], drawMs: [], frameMs: [], badDatagrams: 0, connects: 0,
};
const viewer = window.viewer = {
  stats, acks: [], errors: [], status: null, connected: false, layoutReady: false, info: null,
  selection: [], lastClose: null, send, selectRect, selectLasso, measureDraw, screenPoints,
  sendRaw: (bytes) => ws.send(bytes),  // any bytes as one message (tests: malformed OSC)
  animationState: () => ({ frames: animation ? info.animation_frames : 0, animate, snapshot: shownSnap, mix: renderer.mix }),
};

let ws = null;
let info = null, renderer = null, controls = null;
let n = 0, positions = null, colours = null, layerOf = null;
let animation = null, animate = false, animStart = 0, shownSnap = -1;
let posAssembler = new FrameAssembler(), actAssembler = new FrameAssembler();
let pendingFrame = null, decodeAcc = 0, act = null, hi = null, lo = null;
let selected = null;
let loopInfo = null, loopImage = null, loopVersion = -2;
let gallery = null;

// the neuron drawn nearest to (x, y) (CSS pixels of the layout canvas) within `radius`, else -1
function nearest(x, y, radius = 12) {
  if (!viewer.layoutReady) return -1;
  const pts = screenPoints();
  let best = -1, bestD = radius * radius;
  for (let i = 0; i < n; i++) {
    const dx = pts[2 * i] - x, dy = pts[2 * i + 1] - y, d = dx * dx + dy * dy;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}

function log(text, kind = "info") {
  const list = $("log");
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  list.prepend(li);
  while (list.children.length > 8) list.lastChild.remove();
}

// --- the connection ---------------------------------------------------------------------------------
function send(address, tags = "", args = []) {
  if (!ws || ws.readyState !== WebSocket.OPEN) { log(`not connected: ${address} not sent`, "error"); return false; }
  ws.send(encodeMessage(address, tags, args));
  return true;
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { stats.marks.open ??= performance.now(); viewer.connected = true; stats.connects++; setConn("connected"); };
  ws.onclose = (e) => {
    viewer.connected = false;
    viewer.lastClose = { code: e.code, reason: e.reason };
    setConn(`disconnected (${e.code}${e.reason ? " " + e.reason : ""}); reconnecting …`);
    posAssembler = new FrameAssembler(); actAssembler = new FrameAssembler();
    setTimeout(connect, 1000);
  };
  ws.onmessage = (e) => receive(e.data);
}

function setConn(text) { $("conn").textContent = text; $("conn").className = viewer.connected ? "ok" : "bad"; }

let early = [];  // datagrams that arrive before info.json
function receive(data) {
  if (early) { early.push(data); return; }
  if (typeof data === "string") { stats.badDatagrams++; return; }
  const t0 = performance.now();
  let messages;
  try { messages = decodePacket(data); } catch (e) { stats.badDatagrams++; log(`bad datagram: ${e.message}`, "error"); return; }
  for (const { address, tags, args } of messages) {
    try {
      switch (address) {
        case `${P}/activations`: {
          if (!viewer.layoutReady) break;
          const c = parseChunk(tags, args);
          if (c.total !== n) break;
          const done = actAssembler.add(c);
          decodeAcc += performance.now() - t0;
          if (done) { pendingFrame = { ...done, decodeMs: decodeAcc }; decodeAcc = 0; }
          break;
        }
        case `${P}/layout/positions`: {
          const done = posAssembler.add(parseChunk(tags, args));
          if (done) setPositions(done.values);
          break;
        }
        case `${P}/status`: showStatus(args); break;
        case `${P}/loop/new`: refreshLoop(); break;
        case `${P}/ack`: viewer.acks.push({ address: args[0], at: performance.now() }); log(`ok ${args[0]}`); break;
        case `${P}/error`: viewer.errors.push({ address: args[0], why: args[1] }); log(`rejected ${args[0]}: ${args[1]}`, "error"); break;
        default: break;  // layout/layer (info.json has the same), summaries
      }
    } catch (e) { stats.badDatagrams++; log(`bad ${address}: ${e.message}`, "error"); }
  }
}

// --- layout, activations ------------------------------------------------------------------------
function setPositions(values) {
  if (values.length !== 2 * info.neurons) { log(`layout of ${values.length / 2} neurons, expected ${info.neurons}`, "error"); return; }
  const first = !viewer.layoutReady;
  positions = values;
  if (first) {
    n = info.neurons;
    renderer.setPoints(positions, colours);
    act = new Float32Array(n);
    selected = new Float32Array(n);
    viewer.layoutReady = true;
    stats.marks.layout = performance.now();
  } else {
    renderer.setSnapshots(positions, positions, 0);
    shownSnap = -1;
  }
}

function normalize(values) {
  // per layer: 0..1 between the frame's minimum and a slowly decaying running maximum
  const L = info.layers.length;
  const fmin = new Float32Array(L).fill(Infinity), fmax = new Float32Array(L).fill(-Infinity);
  let i = 0;
  for (const [layer, count] of info.layer_runs) {
    let a = fmin[layer], b = fmax[layer];
    for (const end = i + count; i < end; i++) { const v = values[i]; if (v < a) a = v; if (v > b) b = v; }
    fmin[layer] = a; fmax[layer] = b;
  }
  for (let l = 0; l < L; l++) {
    if (fmax[l] === -Infinity) continue;
    lo[l] = fmin[l];
    hi[l] = Math.max(fmax[l], lo[l] + 0.97 * (hi[l] - lo[l]), lo[l] + 1e-6);
  }
  i = 0;
  for (const [layer, count] of info.layer_runs) {
    const a = lo[layer], s = 1 / (hi[layer] - a);
    for (const end = i + count; i < end; i++) act[i] = (values[i] - a) * s;
  }
}

function snapshotsAt(now) {
  if (!animation || !animate) return;
  const T = info.animation_frames, per = Math.max(4000 / T, 120), hold = 2500;
  const t = (now - animStart) % (T * per + hold);
  const f = Math.min(t / per, T - 1);
  const k = Math.min(Math.floor(f), T - 2), mix = T > 1 ? f - k : 0;
  if (k !== shownSnap) {
    const size = 2 * n;
    renderer.setSnapshots(animation.subarray(k * size, (k + 1) * size), animation.subarray((k + 1) * size, (k + 2) * size), mix);
    shownSnap = k;
  }
  renderer.mix = mix;
}

function frame(now) {
  requestAnimationFrame(frame);
  resize();
  if (viewer.layoutReady) {
    snapshotsAt(now);
    const f = pendingFrame;
    if (f) {
      pendingFrame = null;
      const t0 = performance.now();
      normalize(f.values);
      renderer.setActivations(act);
      renderer.draw();
      const t1 = performance.now();
      record(f, t1 - t0);
    } else {
      renderer.draw();
    }
  }
  drawLoop();
}

function record(f, drawMs) {
  stats.frames++;
  if (stats.firstFrameAt === null) { stats.firstFrameAt = stats.marks.firstFrame = performance.now(); $("placeholder").hidden = true; }
  const keep = (a, v) => { a.push(v); if (a.length > 600) a.shift(); };
  keep(stats.frameIds, f.frame); keep(stats.decodeMs, f.decodeMs); keep(stats.drawMs, drawMs); keep(stats.frameMs, f.decodeMs + drawMs);
  if (stats.frames % 15 === 0) {
    const med = (a) => [...a.slice(-60)].sort((x, y) => x - y)[Math.floor(Math.min(a.length, 60) / 2)];
    $("timing").textContent = `${n} neurons · decode ${med(stats.decodeMs).toFixed(2)} ms · draw ${med(stats.drawMs).toFixed(2)} ms`;
  }
}

// time ``count`` draws including the GPU's work (each waits for its pixels)
function measureDraw(count = 30) {
  const times = [];
  for (let k = 0; k < count; k++) {
    const t0 = performance.now();
    renderer.setActivations(act);
    renderer.draw();
    renderer.sync();
    times.push(performance.now() - t0);
  }
  return times;
}

function resize() {
  const dpr = window.devicePixelRatio || 1;
  for (const c of [$("layout"), $("overlay")]) {
    const w = Math.round(c.clientWidth * dpr), h = Math.round(c.clientHeight * dpr);
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
  }
  const s = $("scaleogram");
  if (s.width !== s.clientWidth * dpr || s.height !== s.clientHeight * dpr) { s.width = s.clientWidth * dpr; s.height = s.clientHeight * dpr; }
}

// --- selection -------------------------------------------------------------------------------------
// every neuron's position on screen (CSS pixels of the layout canvas), as drawn now
function screenPoints() {
  const c = $("layout"), t = renderer.transform();
  const w = c.clientWidth, h = c.clientHeight, out = new Float32Array(2 * n);
  let cur = positions;
  if (animation && animate && shownSnap >= 0) {
    const size = 2 * n, a = animation.subarray(shownSnap * size), b = animation.subarray((shownSnap + 1) * size);
    cur = new Float32Array(size);
    for (let i = 0; i < size; i++) cur[i] = a[i] + (b[i] - a[i]) * renderer.mix;
  }
  for (let i = 0; i < n; i++) {
    out[2 * i] = ((cur[2 * i] - t.center[0]) * t.scale[0] + 1) / 2 * w;
    out[2 * i + 1] = (1 - (cur[2 * i + 1] - t.center[1]) * t.scale[1]) / 2 * h;
  }
  return out;
}

function inside(poly, x, y) {
  let hit = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function selectLasso(poly, add = false) {
  if (!viewer.layoutReady || poly.length < 3) return [];
  const xs = poly.map((p) => p[0]), ys = poly.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const pts = screenPoints(), found = [];
  for (let i = 0; i < n; i++) {
    const x = pts[2 * i], y = pts[2 * i + 1];
    if (x >= x0 && x <= x1 && y >= y0 && y <= y1 && inside(poly, x, y)) found.push(i);
  }
  return target(found, add);
}

function selectRect(x0, y0, x1, y1, add = false) {
  return selectLasso([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], add);
}

function target(indices, add) {
  if (!indices.length) { log("nothing selected"); return indices; }
  if (!add) selected.fill(0);
  for (const i of indices) selected[i] = 1;
  renderer.setSelection(selected);
  viewer.selection = add ? [...new Set([...viewer.selection, ...indices])] : indices;
  send(`${P}/target/${add ? "add_neurons" : "neurons"}`, "i".repeat(indices.length), indices);
  $("selection").textContent = `${viewer.selection.length} neurons selected`;
  return indices;
}

function setupSelection() {
  const ov = $("overlay"), ctx = ov.getContext("2d");
  let path = null, mode = "rect", add = false;
  for (const b of document.querySelectorAll("[data-mode]")) {
    b.addEventListener("click", () => {
      mode = b.dataset.mode;
      for (const o of document.querySelectorAll("[data-mode]")) o.classList.toggle("active", o === b);
    });
  }
  const at = (e) => { const r = ov.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  const paint = () => {
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, ov.width, ov.height);
    if (!path) return;
    ctx.strokeStyle = "#fff"; ctx.setLineDash([5, 4]); ctx.lineWidth = 1.2; ctx.fillStyle = "rgba(255,255,255,0.06)";
    ctx.beginPath();
    const shape = mode === "rect" ? rect(path) : path;
    shape.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath(); ctx.fill(); ctx.stroke();
  };
  const rect = (p) => { const [a, b] = [p[0], p[p.length - 1]]; return [[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]]]; };
  ov.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    ov.setPointerCapture(e.pointerId);
    path = [at(e)]; add = e.shiftKey; paint();
  });
  ov.addEventListener("pointermove", (e) => {
    if (!path) {
      if (gallery && e.buttons === 0) { const [x, y] = at(e); gallery.hover(nearest(x, y), x, y); }
      return;
    }
    const p = at(e), q = path[path.length - 1];
    if (mode === "rect") path = [path[0], p];
    else if (Math.hypot(p[0] - q[0], p[1] - q[1]) > 2) path.push(p);
    paint();
  });
  ov.addEventListener("pointerup", (e) => {
    if (!path) return;
    const p = path; path = null; paint();
    if (p.length < 2) {  // a click: that neuron's channel in the gallery
      const i = nearest(p[0][0], p[0][1]);
      if (i >= 0 && gallery) viewer.galleryPick = gallery.select(i);
      return;
    }
    if (mode === "rect") { const [a, b] = [p[0], p[p.length - 1]]; if (Math.abs(a[0] - b[0]) > 2 && Math.abs(a[1] - b[1]) > 2) selectRect(a[0], a[1], b[0], b[1], add); }
    else selectLasso(p, add);
  });
  ov.addEventListener("wheel", (e) => {
    e.preventDefault();
    const t = renderer.transform(), r = ov.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    const f = Math.exp(-e.deltaY * 0.0015);
    // keep the layout point under the cursor in place
    const ux = ((e.clientX - r.left) * dpr - ov.width / 2) / t.px, uy = -((e.clientY - r.top) * dpr - ov.height / 2) / t.px;
    renderer.zoom = Math.min(50, Math.max(0.5, renderer.zoom * f));
    const g = renderer.transform().px;
    renderer.pan[0] += ux * (t.px / g - 1); renderer.pan[1] += uy * (t.px / g - 1);
  }, { passive: false });
  ov.addEventListener("dblclick", () => { renderer.zoom = 1; renderer.pan = [0, 0]; });
  window.addEventListener("keydown", (e) => { if (e.key === "Escape") { path = null; paint(); } });
}

// --- loop + scaleogram ------------------------------------------------------------------------------
async function refreshLoop() {
  try {
    const r = await fetch("loop.json");
    const li = await r.json();
    li.fetchedAt = performance.now();
    loopInfo = li;
    if (li.version !== loopVersion) {
      loopVersion = li.version;
      const img = new Image();
      img.onload = () => { loopImage = img; };
      img.src = `scaleogram.png?v=${li.version}`;
    }
    $("loopinfo").textContent = li.version >= 0 ? `loop v${li.version} · ${li.seconds.toFixed(1)} s · step ${li.steps}` : "no loop yet";
  } catch (e) { /* the next status refreshes it */ }
}

function drawLoop() {
  const c = $("scaleogram"), ctx = c.getContext("2d");
  const W = c.width, H = c.height;
  ctx.fillStyle = "#09090b"; ctx.fillRect(0, 0, W, H);
  if (!loopImage || !loopInfo || !(loopInfo.seconds > 0)) return;
  const pos = ((loopInfo.position + (performance.now() - loopInfo.fetchedAt) / 1000) % loopInfo.seconds) / loopInfo.seconds;
  const x = W / 2 - pos * W;  // the playhead stays in the middle, the loop scrolls past it
  ctx.imageSmoothingEnabled = true;
  for (const dx of [-W, 0, W]) ctx.drawImage(loopImage, x + dx, 0, W, H);
  ctx.fillStyle = "rgba(255,255,255,0.9)"; ctx.fillRect(W / 2 - 1, 0, 2, H);
}

// --- status, legend, side panel ----------------------------------------------------------------
function showStatus(a) {
  const [fps, steps, xruns, targetText, loops, playing, volume, subscribers, up] = a;
  viewer.status = { fps, steps, xruns, target: targetText, loops, playing, volume, subscribers, up };
  $("status").textContent = `${fps.toFixed(0)} frames/s · ${steps.toFixed(1)} steps/s · ${loops} loops · ${xruns} xruns · ${subscribers} listening`;
  $("target-now").textContent = targetText;
  if (!loopInfo || performance.now() - loopInfo.fetchedAt > 2000) refreshLoop();
}

function buildLegend() {
  const box = $("legend");
  for (const l of info.layers) {
    const row = document.createElement("div");
    row.className = "layer";
    row.title = `${l.name}: ${l.channels} channels × ${l.frequencies} frequencies — click to excite the whole layer`;
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = `rgb(${l.colour.join(",")})`;
    row.append(sw, l.name.replace(/^encoder\.blocks\./, "enc ").replace(/^ar\./, "ar "));
    row.addEventListener("click", () => send(`${P}/target/layer`, "s", [l.name]));
    box.append(row);
  }
}

function buildSide(table) {
  const start = $("start-clip");
  for (const s of info.start_clips) start.append(new Option(s, s));
  start.append(new Option("audio file (path on the service's machine) …", "file"));
  start.addEventListener("change", () => { $("start-path").hidden = start.value !== "file"; });
  $("start-go").addEventListener("click", () => {
    const v = start.value === "file" ? $("start-path").value.trim() : start.value;
    if (v) send(`${P}/optimize/start`, "s", [v]);
  });
  $("random").addEventListener("click", () => send(`${P}/target/random`));
  $("clear").addEventListener("click", () => { selected.fill(0); renderer.setSelection(selected); viewer.selection = []; $("selection").textContent = ""; });
  if (info.animation_frames > 1) {
    const box = $("animate");
    box.parentElement.hidden = false;
    box.checked = true;
    box.addEventListener("change", () => {
      animate = box.checked; animStart = performance.now(); shownSnap = -1;
      if (!animate) renderer.setSnapshots(positions, positions, 0);
    });
  }
  controls = new ControlSurface($("controls"), table, send);
  viewer.controls = controls;
}

async function main() {
  try {
    renderer = new PointRenderer($("layout"));
  } catch (e) {
    $("placeholder").textContent = `cannot draw: ${e.message}`;
    throw e;
  }
  viewer.renderer = renderer;
  connect();  // in parallel with the tables; datagrams wait for them
  const [i, table] = await Promise.all([fetch("info.json").then((r) => r.json()), fetch("controls.json").then((r) => r.json())]);
  info = viewer.info = i;
  stats.marks.tables = performance.now();
  colours = new Uint8Array(3 * info.neurons);
  let k = 0;
  for (const [layer, count] of info.layer_runs) for (let j = 0; j < count; j++, k++) colours.set(info.layers[layer].colour, 3 * k);
  hi = new Float32Array(info.layers.length).fill(1e-6); lo = new Float32Array(info.layers.length);
  const waiting = early;
  early = null;
  for (const d of waiting) receive(d);
  buildLegend();
  buildSide(table);
  gallery = viewer.gallery = new GalleryPanel({ info, $, send, log });
  viewer.nearest = nearest;
  setupSelection();
  refreshLoop();
  requestAnimationFrame(frame);
  if (info.animation_frames > 1) {
    const buf = await fetch("animation.bin").then((r) => r.arrayBuffer());
    if (buf.byteLength === 4 * info.animation_frames * 2 * info.neurons) {
      animation = new Float32Array(buf);
      animate = $("animate").checked; animStart = performance.now();
    }
  }
}

main();
