// The control surface, built from /controls.json (the service's control table): a slider for every
// control with one number in a range, a switch for every 0/1 control, choices as menus; and a
// MIDI-learn mode (Web MIDI API): arm a slider, move a knob or fader, and that CC drives it.
// Every change is sent as the same OSC message a UDP client would send.

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};

const STEPS = 1000;
const SLIDER_GROUPS = ["optimize", "player", "target", "stream"];

function fmt(v, type) {
  if (type === "i") return String(Math.round(v));
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1000) ? v.toExponential(2) : v.toPrecision(3).replace(/\.?0+$/, "");
}

// one slider: position 0..STEPS <-> value lo..hi (logarithmic where the table's curve says so)
class Slider {
  constructor(control, send) {
    const arg = control.args[0];
    Object.assign(this, { control, arg, send, address: control.address });
    this.log = arg.curve === "log" && arg.lo > 0;
    this.name = control.address.split("/").slice(3).join(" ").replace(/_/g, " ");
    this.input = el("input", { type: "range", min: 0, max: STEPS, step: 1 });
    this.output = el("output");
    this.row = el("div", { class: "slider", title: `${control.address} ${control.pattern} — ${control.doc}` },
      el("label", {}, this.name), this.input, this.output);
    this.row.dataset.address = control.address;
    this.lastSent = 0;
    this.timer = null;
    this.input.addEventListener("input", () => this.changed());
    this.setValue(control.value ?? arg.default ?? arg.lo);
  }
  toValue(pos) {
    const { lo, hi } = this.arg, t = pos / STEPS;
    let v = this.log ? lo * Math.pow(hi / lo, t) : lo + (hi - lo) * t;
    if (this.arg.type === "i") v = Math.round(v);
    return Math.min(hi, Math.max(lo, v));
  }
  toPosition(v) {
    const { lo, hi } = this.arg;
    const t = this.log ? Math.log(v / lo) / Math.log(hi / lo) : (v - lo) / (hi - lo);
    return Math.round(STEPS * Math.min(1, Math.max(0, t)));
  }
  setValue(v) { this.value = v; this.input.value = this.toPosition(v); this.output.textContent = fmt(v, this.arg.type); }
  setFraction(t) { this.input.value = Math.round(t * STEPS); this.changed(); }  // MIDI: 0..1
  changed() {
    this.value = this.toValue(+this.input.value);
    this.output.textContent = fmt(this.value, this.arg.type);
    // at most one message per 40 ms while dragging; the last position is always sent
    const now = performance.now();
    clearTimeout(this.timer);
    if (now - this.lastSent >= 40) { this.lastSent = now; this.flush(); }
    else this.timer = setTimeout(() => { this.lastSent = performance.now(); this.flush(); }, 40);
  }
  flush() { this.send(this.address, this.arg.type === "i" ? "i" : "f", [this.value]); }
}

export class ControlSurface {
  // root: element to fill; send(address, tags, args)
  constructor(root, table, send) {
    this.root = root; this.send = send; this.sliders = new Map(); this.switches = new Map();
    this.learning = false; this.armed = null;
    this.mappings = JSON.parse(localStorage.getItem("immersions-midi") || "{}");  // "ch:cc" -> address
    this.midiState = "off";
    const byGroup = {};
    for (const c of table.controls) {
      const group = c.address.split("/")[2];
      (byGroup[group] ||= []).push(c);
    }
    for (const group of SLIDER_GROUPS) {
      const box = el("details", group === "stream" ? {} : { open: "" }, el("summary", {}, group));
      for (const c of byGroup[group] || []) {
        const a = c.args[0];
        if (c.args.length !== 1 || a.type === "s" || a.repeat || a.lo == null || a.hi == null) {
          if (c.args.length === 1 && a.type === "s" && a.choices) box.append(this.menu(c, a.choices));
          continue;
        }
        if (a.type === "i" && a.lo === 0 && a.hi === 1) { box.append(this.toggle(c)); continue; }
        const s = new Slider(c, send);
        s.row.addEventListener("pointerdown", () => { if (this.learning) this.arm(s); }, true);
        this.sliders.set(c.address, s);
        box.append(s.row);
      }
      root.append(box);
    }
    this.midiButton = el("button", { type: "button", id: "midi-learn", onclick: () => this.toggleLearn() }, "MIDI learn");
    this.midiStatus = el("span", { class: "midi-status" });
    root.append(el("div", { class: "midi" }, this.midiButton, this.midiStatus));
    this.showMidi();
    if (Object.keys(this.mappings).length) this.enableMidi();
  }

  toggle(c) {
    const box = el("input", { type: "checkbox" });
    box.checked = (c.value ?? 1) !== 0;
    box.addEventListener("change", () => this.send(c.address, "i", [box.checked ? 1 : 0]));
    this.switches.set(c.address, box);
    return el("label", { class: "switch", title: `${c.address} — ${c.doc}` }, box, " " + c.address.split("/").pop().replace(/_/g, " "));
  }

  menu(c, choices) {
    const sel = el("select", {}, ...choices.map((v) => el("option", { value: v }, v)));
    if (c.value != null) sel.value = c.value;
    sel.addEventListener("change", () => this.send(c.address, "s", [sel.value]));
    return el("label", { class: "menu", title: `${c.address} — ${c.doc}` }, c.address.split("/").pop().replace(/_/g, " ") + " ", sel);
  }

  // --- MIDI learn --------------------------------------------------------------------------------
  async enableMidi() {
    if (this.midiState === "on") return true;
    if (!navigator.requestMIDIAccess) { this.midiState = "unavailable"; this.showMidi(); return false; }
    try {
      const access = await navigator.requestMIDIAccess();
      const hook = () => { for (const input of access.inputs.values()) input.onmidimessage = (e) => this.handleMidi(e.data); };
      hook();
      access.onstatechange = hook;
      this.midiState = "on";
      this.inputs = access.inputs.size;
    } catch (e) {
      this.midiState = "denied";
    }
    this.showMidi();
    return this.midiState === "on";
  }

  toggleLearn() {
    this.learning = !this.learning;
    this.arm(null);
    this.midiButton.classList.toggle("active", this.learning);
    if (this.learning) this.enableMidi();
    this.showMidi();
  }

  arm(slider) {
    if (this.armed) this.armed.row.classList.remove("armed");
    this.armed = slider;
    if (slider) slider.row.classList.add("armed");
    this.showMidi();
  }

  // a raw MIDI message (Uint8Array or array): control change -> learn or drive its slider
  handleMidi(data) {
    if (data.length < 3 || (data[0] & 0xf0) !== 0xb0) return false;
    const key = `${data[0] & 0x0f}:${data[1]}`;
    if (this.learning && this.armed) {
      for (const [k, a] of Object.entries(this.mappings)) if (a === this.armed.address) delete this.mappings[k];
      this.mappings[key] = this.armed.address;
      localStorage.setItem("immersions-midi", JSON.stringify(this.mappings));
      this.arm(null);
    }
    const slider = this.sliders.get(this.mappings[key]);
    if (!slider) return false;
    slider.setFraction(data[2] / 127);
    return true;
  }

  showMidi() {
    const n = Object.keys(this.mappings).length;
    const state = { off: "", on: `MIDI on (${this.inputs ?? 0} inputs)`, unavailable: "Web MIDI unavailable in this browser", denied: "MIDI access denied" }[this.midiState];
    const learn = this.learning ? (this.armed ? ` — move a control for “${this.armed.name}”` : " — click a slider, then move a control") : "";
    this.midiStatus.textContent = [state, n ? `${n} mapped` : ""].filter(Boolean).join(", ") + learn;
    for (const s of this.sliders.values()) {
      const cc = Object.entries(this.mappings).find(([, a]) => a === s.address);
      s.row.classList.toggle("mapped", !!cc);
      s.row.querySelector("label").dataset.cc = cc ? `cc ${cc[0]}` : "";
    }
  }
}
