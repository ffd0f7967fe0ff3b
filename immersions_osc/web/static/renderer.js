// WebGL point sprites: one point per neuron at its layout position (interpolated between two
// snapshots when the layout animates), coloured by its layer, lit by its activation (0..1).
// WebGL 1 so that it also runs on software rasterizers; one draw call for all points.

const VERTEX = `
attribute vec2 a_pos0;
attribute vec2 a_pos1;
attribute vec3 a_colour;
attribute float a_act;
attribute float a_sel;
uniform float u_mix;
uniform vec2 u_center;
uniform vec2 u_scale;
uniform float u_size;
varying vec3 v_colour;
varying float v_sel;
varying float v_act;
void main() {
  vec2 p = mix(a_pos0, a_pos1, u_mix);
  gl_Position = vec4((p - u_center) * u_scale, 0.0, 1.0);
  float a = clamp(a_act, 0.0, 1.0);
  v_colour = a_colour * (0.13 + 0.87 * a) + vec3(0.35 * a * a * a);
  v_sel = a_sel;
  v_act = a;
  gl_PointSize = u_size * (0.75 + 0.6 * a) + 2.0 * a_sel;
}`;

const FRAGMENT = `
precision mediump float;
varying vec3 v_colour;
varying float v_sel;
varying float v_act;
void main() {
  float d = length(gl_PointCoord - vec2(0.5)) * 2.0;
  if (d > 1.0) discard;
  vec3 c = v_colour;
  if (v_sel > 0.5 && d > 0.62) c = vec3(1.0);
  float alpha = (0.55 + 0.45 * v_act) * (1.0 - smoothstep(0.8, 1.0, d));
  gl_FragColor = vec4(c * alpha, alpha);
}`;

function compile(gl, type, source) {
  const s = gl.createShader(type);
  gl.shaderSource(s, source);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
  return s;
}

export class PointRenderer {
  constructor(canvas) {
    this.canvas = canvas;
    const opts = { antialias: false, alpha: false, preserveDrawingBuffer: true, powerPreference: "high-performance" };
    const gl = canvas.getContext("webgl", opts) || canvas.getContext("experimental-webgl", opts);
    if (!gl) throw new Error("WebGL is not available in this browser");
    this.gl = gl;
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
    this.prog = prog;
    this.loc = {};
    for (const a of ["a_pos0", "a_pos1", "a_colour", "a_act", "a_sel"]) this.loc[a] = gl.getAttribLocation(prog, a);
    for (const u of ["u_mix", "u_center", "u_scale", "u_size"]) this.loc[u] = gl.getUniformLocation(prog, u);
    this.buffers = {};
    for (const a of ["a_pos0", "a_pos1", "a_colour", "a_act", "a_sel"]) this.buffers[a] = gl.createBuffer();
    this.n = 0;
    this.mix = 0;
    this.zoom = 1;
    this.pan = [0, 0];
    this.bounds = [0, 0, 1, 1];
    this.sizeRange = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE);
  }

  _upload(name, data, usage) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers[name]);
    gl.bufferData(gl.ARRAY_BUFFER, data, usage);
  }

  // positions: Float32Array [2N]; colours: Uint8Array [3N]
  setPoints(positions, colours) {
    const gl = this.gl;
    this.n = positions.length / 2;
    this._upload("a_pos0", positions, gl.DYNAMIC_DRAW);
    this._upload("a_pos1", positions, gl.DYNAMIC_DRAW);
    this._upload("a_colour", colours, gl.STATIC_DRAW);
    this._upload("a_act", new Float32Array(this.n), gl.DYNAMIC_DRAW);
    this._upload("a_sel", new Float32Array(this.n), gl.DYNAMIC_DRAW);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < positions.length; i += 2) {
      const x = positions[i], y = positions[i + 1];
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    this.bounds = [x0, y0, x1, y1];
  }

  // the two snapshots drawn, and how far between them (0..1)
  setSnapshots(a, b, mix) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.a_pos0);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, a);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.a_pos1);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, b);
    this.mix = mix;
  }

  setActivations(act) {  // Float32Array [N], 0..1
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.a_act);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, act);
  }

  setSelection(sel) {  // Float32Array [N], 1 = selected
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.a_sel);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, sel);
  }

  // layout units -> clip space: fit the bounds into the canvas (aspect kept), then zoom and pan
  transform() {
    const [x0, y0, x1, y1] = this.bounds;
    const w = this.canvas.width, h = this.canvas.height;
    const span = Math.max(x1 - x0, y1 - y0, 1e-9);
    const fit = 0.92 * Math.min(w, h) / span;  // pixels per layout unit
    const px = fit * this.zoom;
    return { center: [(x0 + x1) / 2 - this.pan[0], (y0 + y1) / 2 - this.pan[1]], scale: [2 * px / w, 2 * px / h], px };
  }

  pointSize() {
    const w = Math.min(this.canvas.width, this.canvas.height);
    const s = Math.max(2, Math.min(14, 1.1 * w / Math.sqrt(Math.max(this.n, 1)))) * Math.sqrt(this.zoom);
    return Math.min(s, this.sizeRange[1]);
  }

  draw() {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0.03, 0.03, 0.04, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.n) return;
    gl.useProgram(this.prog);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    const t = this.transform();
    gl.uniform1f(this.loc.u_mix, this.mix);
    gl.uniform2f(this.loc.u_center, t.center[0], t.center[1]);
    gl.uniform2f(this.loc.u_scale, t.scale[0], t.scale[1]);
    gl.uniform1f(this.loc.u_size, this.pointSize());
    const attrib = (name, size, type, normalized) => {
      const l = this.loc[name];
      if (l < 0) return;
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers[name]);
      gl.enableVertexAttribArray(l);
      gl.vertexAttribPointer(l, size, type, normalized, 0, 0);
    };
    attrib("a_pos0", 2, gl.FLOAT, false);
    attrib("a_pos1", 2, gl.FLOAT, false);
    attrib("a_colour", 3, gl.UNSIGNED_BYTE, true);
    attrib("a_act", 1, gl.FLOAT, false);
    attrib("a_sel", 1, gl.FLOAT, false);
    gl.drawArrays(gl.POINTS, 0, this.n);
  }

  // wait until the GPU has drawn (for timing): read one pixel back
  sync() {
    const px = new Uint8Array(4);
    this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, px);
  }
}
