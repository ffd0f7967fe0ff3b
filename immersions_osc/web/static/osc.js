// OSC 1.0 messages and the service's chunked vector blobs, in plain JS: the browser side of
// immersions_osc/osc/protocol.py (same rules; see its docstring and docs/osc.md).

export class OSCError extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8enc = new TextEncoder();

function readString(bytes, pos) {
  let end = pos;
  while (end < bytes.length && bytes[end] !== 0) end++;
  if (end >= bytes.length) throw new OSCError("unterminated OSC string");
  let text;
  try { text = utf8.decode(bytes.subarray(pos, end)); } catch (e) { throw new OSCError("OSC string is not UTF-8"); }
  const next = end + 1;
  return [text, next + ((4 - ((next - pos) % 4)) % 4)];
}

// (address, tags, args) of one message; blobs are Uint8Array views into the datagram (no copy).
export function decodeMessage(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let [address, pos] = readString(bytes, 0);
  if (!address.startsWith("/")) throw new OSCError("OSC address must start with '/'");
  if (pos >= bytes.length) return { address, tags: "", args: [] };
  let tags;
  [tags, pos] = readString(bytes, pos);
  if (!tags.startsWith(",")) throw new OSCError("OSC type tags must start with ','");
  tags = tags.slice(1);
  const args = [];
  const need = (n) => { if (pos + n > bytes.length) throw new OSCError("OSC message is truncated"); };
  for (const tag of tags) {
    switch (tag) {
      case "i": need(4); args.push(view.getInt32(pos)); pos += 4; break;
      case "f": need(4); args.push(view.getFloat32(pos)); pos += 4; break;
      case "h": need(8); args.push(Number(view.getBigInt64(pos))); pos += 8; break;
      case "d": need(8); args.push(view.getFloat64(pos)); pos += 8; break;
      case "s": { let s; [s, pos] = readString(bytes, pos); args.push(s); break; }
      case "b": {
        need(4);
        const n = view.getInt32(pos); pos += 4;
        if (n < 0 || pos + n > bytes.length) throw new OSCError("OSC blob runs past the end of the datagram");
        args.push(bytes.subarray(pos, pos + n));
        pos += n + ((4 - (n % 4)) % 4);
        break;
      }
      case "T": args.push(true); break;
      case "F": args.push(false); break;
      case "N": args.push(null); break;
      default: throw new OSCError(`unsupported OSC type tag '${tag}'`);
    }
  }
  if (pos > bytes.length) throw new OSCError("OSC message is truncated");
  return { address, tags, args };
}

// Every message of a datagram (bundles flattened).  ``data``: ArrayBuffer or Uint8Array.
export function decodePacket(data, depth = 0) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length === 0 || bytes.length % 4) throw new OSCError("an OSC packet is a non-empty multiple of 4 bytes");
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(0, 8)) === "#bundle\0") {
    if (depth > 8) throw new OSCError("OSC bundles nested too deeply");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = [];
    let pos = 16;
    while (pos < bytes.length) {
      if (pos + 4 > bytes.length) throw new OSCError("OSC bundle element is truncated");
      const n = view.getInt32(pos); pos += 4;
      if (n <= 0 || pos + n > bytes.length) throw new OSCError("OSC bundle element size is wrong");
      out.push(...decodePacket(bytes.subarray(pos, pos + n), depth + 1));
      pos += n;
    }
    return out;
  }
  return [decodeMessage(bytes)];
}

const pad4 = (n) => n + ((4 - (n % 4)) % 4);

// One OSC message as a Uint8Array.  ``tags`` without the comma; ints, floats, strings, blobs.
export function encodeMessage(address, tags, args) {
  if (tags.length !== args.length) throw new Error(`${tags.length} type tags for ${args.length} arguments`);
  const strings = [utf8enc.encode(address), utf8enc.encode("," + tags)];
  let size = pad4(strings[0].length + 1) + pad4(strings[1].length + 1);
  const encoded = [];
  for (let k = 0; k < tags.length; k++) {
    const t = tags[k];
    if (t === "i" || t === "f") size += 4;
    else if (t === "s") { const e = utf8enc.encode(String(args[k])); encoded[k] = e; size += pad4(e.length + 1); }
    else if (t === "b") { size += 4 + pad4(args[k].length); }
    else throw new Error(`cannot encode OSC type '${t}'`);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  const putString = (e) => { out.set(e, pos); pos += pad4(e.length + 1); };
  putString(strings[0]); putString(strings[1]);
  for (let k = 0; k < tags.length; k++) {
    const t = tags[k], v = args[k];
    if (t === "i") { view.setInt32(pos, v | 0); pos += 4; }
    else if (t === "f") { view.setFloat32(pos, +v); pos += 4; }
    else if (t === "s") putString(encoded[k]);
    else { view.setInt32(pos, v.length); pos += 4; out.set(v, pos); pos += pad4(v.length); }
  }
  return out;
}

// --- chunked vectors --------------------------------------------------------------------------------
export const CHUNK_TAGS = "iiiiisffb";
const ITEMSIZE = { uint8: 1, float16: 2, float32: 4 };

export function parseChunk(tags, args) {
  if (tags !== CHUNK_TAGS) throw new OSCError(`a vector chunk has type tags ${CHUNK_TAGS}, got ${tags}`);
  const [frame, chunk, count, offset, total, fmt, scale, bias, payload] = args;
  const size = ITEMSIZE[fmt];
  if (!size) throw new OSCError(`unknown vector format ${fmt}`);
  const n = payload.length / size;
  if (payload.length % size || !(chunk >= 0 && chunk < count) || total < 0 || offset < 0 || offset + n > total
      || count > Math.max(1, total)) throw new OSCError("vector chunk fields are inconsistent");
  return { frame, chunk, count, offset, total, fmt, scale, bias, payload, n };
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

// Write a chunk's values (bias + scale * stored) into ``out`` at its offset.
export function decodeInto(c, out) {
  const { payload, n, offset, scale, bias } = c;
  if (c.fmt === "uint8") {
    for (let i = 0; i < n; i++) out[offset + i] = bias + scale * payload[i];
  } else if (c.fmt === "float32") {
    const src = (payload.byteOffset % 4 === 0)
      ? new Float32Array(payload.buffer, payload.byteOffset, n)
      : new Float32Array(payload.slice().buffer);
    out.set(src, offset);  // little-endian, like every machine that runs a browser
  } else {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    for (let i = 0; i < n; i++) out[offset + i] = halfToFloat(view.getUint16(2 * i, true));
  }
}

// Puts frames back together from chunks in any order (protocol.FrameAssembler's rules): add()
// returns {frame, values} when a chunk completes a frame, else null.
export class FrameAssembler {
  constructor(keep = 4) { this.keep = keep; this.partial = new Map(); this.lastComplete = -1; this.completed = 0; this.dropped = 0; }

  add(c) {
    if (c.frame <= this.lastComplete) return null;
    let e = this.partial.get(c.frame);
    if (!e || e.total !== c.total || e.count !== c.count) {
      e = { values: new Float32Array(c.total), seen: new Set(), total: c.total, count: c.count, filled: 0 };
      this.partial.set(c.frame, e);
    }
    if (e.seen.has(c.chunk)) return null;
    decodeInto(c, e.values);
    e.seen.add(c.chunk);
    e.filled += c.n;
    if (e.seen.size === c.count) {
      this.partial.delete(c.frame);
      if (e.filled !== c.total) { this.dropped++; return null; }
      for (const f of [...this.partial.keys()]) if (f < c.frame) { this.partial.delete(f); this.dropped++; }
      this.lastComplete = c.frame;
      this.completed++;
      return { frame: c.frame, values: e.values };
    }
    while (this.partial.size > this.keep) {
      this.partial.delete(Math.min(...this.partial.keys()));
      this.dropped++;
    }
    return null;
  }
}
