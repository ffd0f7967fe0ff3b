// The gallery in the viewer: hover a neuron for its layer, channel and percentile now; click it to
// see its channel's best excerpts of your music (from `immersions-osc gallery`, loaded with
// `serve --gallery DIR`) and hear them; "layer gallery" shows every channel of a layer side by side.
// Everything comes from the viewer's own server (gallery/*.json, gallery/*.wav): examples are named
// by layer, channel and rank, never by a path.

const q = encodeURIComponent;

export class GalleryPanel {
  constructor({ info, $, send, log }) {
    this.info = info; this.$ = $; this.send = send; this.log = log;
    this.audio = $("gallery-audio");
    this.current = null;   // {index, layer, channel, frequency, data}
    this.hovered = -1;
    this.hoverAt = 0;
    this.played = [];      // urls handed to the audio element (tests)
    $("gallery-layer").addEventListener("click", () => this.current && this.showLayer(this.current.layer));
    $("gallery-close").addEventListener("click", () => { $("gallery-view").hidden = true; });
  }

  // stream index -> {layer, channel, frequency}: layers in stream order, channel-major
  neuron(index) {
    for (const l of this.info.layers) {
      const size = l.channels * l.frequencies;
      if (index >= l.offset && index < l.offset + size) {
        const local = index - l.offset;
        return { index, layer: l.name, channel: Math.floor(local / l.frequencies), frequency: local % l.frequencies };
      }
    }
    return null;
  }

  async channel(layer, channel) {
    const r = await fetch(`gallery/channel.json?layer=${q(layer)}&channel=${channel}`);
    return r.json();
  }

  describe(nrn, data) {
    const pct = data && data.percentile != null ? `${data.percentile.toFixed(0)}th percentile now` :
      (data && data.loaded === false ? "no gallery loaded" : "percentile –");
    const act = data && data.activation != null ? `, activation ${data.activation.toFixed(3)}` : "";
    return `${nrn.layer} · channel ${nrn.channel} · row ${nrn.frequency}${act} · ${pct}`;
  }

  // hover: one request per hovered channel, at most 8 per second
  async hover(index, x, y) {
    const tip = this.$("tooltip");
    if (index < 0) { tip.hidden = true; this.hovered = -1; return; }
    tip.style.left = `${x + 14}px`; tip.style.top = `${y + 10}px`; tip.hidden = false;
    const nrn = this.neuron(index);
    if (!nrn || index === this.hovered || performance.now() - this.hoverAt < 125) return;
    this.hovered = index; this.hoverAt = performance.now();
    tip.textContent = this.describe(nrn, null);
    try {
      const data = await this.channel(nrn.layer, nrn.channel);
      if (this.hovered === index) tip.textContent = this.describe(nrn, data);
    } catch (e) { /* the next hover tries again */ }
  }

  // click: the channel's examples; the best one plays at once
  async select(index, play = true) {
    const nrn = this.neuron(index);
    if (!nrn) return null;
    const data = await this.channel(nrn.layer, nrn.channel);
    this.current = { ...nrn, data };
    const $ = this.$;
    $("gallery-neuron").textContent = this.describe(nrn, data);
    $("gallery-layer").disabled = !data.loaded;
    const list = $("gallery-examples");
    list.replaceChildren();
    if (!data.loaded) {
      list.append(item("no gallery loaded: run `immersions-osc gallery MUSIC --out DIR`, then serve --gallery DIR"));
      return this.current;
    }
    for (const e of data.examples) {
      const li = item(`#${e.rank} ${e.name} @ ${fmt(e.start)} (${e.activation.toFixed(3)})`);
      const b = button("play", () => this.play(e.url));
      const t = button("loop it", () => { this.send("/immersions/gallery/audition", "sii", [nrn.layer, nrn.channel, e.rank]); });
      t.title = "play it through the service as the loop (the optimizer pauses)";
      li.prepend(b, t);
      list.append(li);
    }
    const loop = button(data.loop ? "its loop" : "optimize its loop", () =>
      data.loop ? this.play(data.loop) : this.send("/immersions/gallery/audition", "sii", [nrn.layer, nrn.channel, -1]));
    list.append(wrap(loop));
    if (play && data.examples.length) await this.play(data.examples[0].url);
    return this.current;
  }

  async play(url) {
    this.audio.src = url;
    this.played.push(url);
    try { await this.audio.play(); } catch (e) { this.log(`cannot play ${url}: ${e.message}`, "error"); }
  }

  async showLayer(layer) {
    const $ = this.$;
    const r = await fetch(`gallery/layer.json?layer=${q(layer)}`).then((x) => x.json());
    $("gallery-title").textContent = `${layer}: every channel's best excerpts`;
    const grid = $("gallery-grid");
    grid.replaceChildren();
    for (const ch of r.channels || []) {
      const cell = document.createElement("div");
      cell.className = "cell";
      const head = document.createElement("div");
      head.textContent = `ch ${ch.channel}` + (ch.percentile != null ? ` · ${ch.percentile.toFixed(0)} %ile` : "");
      cell.append(head);
      if (ch.loop_image) {
        const img = document.createElement("img");
        img.src = ch.loop_image; img.alt = `loop of channel ${ch.channel}`; img.title = "its optimized loop: click to hear it";
        img.addEventListener("click", () => this.play(ch.loop));
        cell.append(img);
      }
      if (ch.loop) cell.append(button("loop", () => this.play(ch.loop)));
      for (const e of ch.examples) {
        const b = button(`#${e.rank}`, () => this.play(e.url));
        b.title = `${e.name} @ ${fmt(e.start)} (${e.activation.toFixed(3)})`;
        cell.append(b);
      }
      grid.append(cell);
    }
    $("gallery-view").hidden = false;
    return r;
  }
}

function fmt(s) { const m = Math.floor(s / 60); return `${m}:${(s - 60 * m).toFixed(1).padStart(4, "0")}`; }
function item(text) { const li = document.createElement("li"); li.append(document.createTextNode(" " + text)); return li; }
function wrap(el) { const li = document.createElement("li"); li.append(el); return li; }
function button(text, onclick) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; b.addEventListener("click", onclick);
  return b;
}
