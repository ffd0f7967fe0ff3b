"""Writes the Max package immersions_osc/clients/max/Immersions/ (patchers/, help/, docs/, examples/,
devices/, package-info.json, README.md, LICENSE).

The patchers are ordinary Max JSON (open them, edit them in Max, save); they are written by this
script so that boxes and patch cords are named instead of numbered, and
tests/test_clients_static.py checks that the committed files are what this script writes and
that every OSC address and type they send is in docs/osc.md.  Run it after editing:

    python immersions_osc/clients/max/make_max_package.py

The package (install: `immersions-osc clients export DIR --host max`, then copy DIR/max/Immersions into
Documents/Max 8/Packages or Max 9/Packages):

* patchers/immersions.maxpat  -- the [immersions] abstraction: talks to the service, MIDI (learn
  mode, as in the SuperCollider and Pd patches), status out, the loop in as audio;
* help/immersions.maxhelp     -- its help patch, tabs in the style of the nn~ and FluCoMa help files;
* docs/refpages/immersions.maxref.xml -- its reference page (inlets, outlets, messages, attributes).
"""
from __future__ import annotations

import json
import math
import os
from xml.sax.saxutils import escape

from immersions_osc.clients.table import midi_controls

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "Immersions")
VERSION = "0.2.0"
LISTEN = 57133  # the abstraction's default listen port
HELP_LISTEN = 57134  # the help patch's instance: opening the help beside your patch binds no port twice
RENEW_MS = 5000  # subscription renewal (the service drops subscribers that stop renewing)

E = "2.718281828"
# The MIDI maps are named colls, and a named coll is shared by every coll of that name in Max.  '#0' in an
# abstraction is replaced by a number unique to each instance (Max's abstraction arguments); '---' is
# replaced only inside a Max for Live device, so in plain Max '---ccmap' is one map for every
# [immersions] -- the help patch's and yours included.  '#0' gives one map per instance in both.
MAP = "#0_"
IN_NAME = "immersions_in"  # the [udpreceive] the abstraction scripts once it knows its listen port
ROUTE_NAME = "immersions_incoming"  # the [route] of the service's messages, what the script connects it to  # Max's [expr] and this package's tests both know pow()


def num(v: float) -> str:
    """A float for [scale]/[expr] (a trailing dot: Max's float arithmetic)."""
    return f"{int(v)}." if float(v).is_integer() else f"{v:g}"


def mapping(curve: str, lo: float, hi: float) -> list[str]:
    """CC 0..127 -> lo..hi along the table's curve (as SuperCollider's ControlSpec): a modern-mode
    [scale], and an [expr] where the curve needs one."""
    if curve == "lin":
        return [f"scale 0 127 {num(lo)} {num(hi)}"]
    if curve == "amp":
        return [f"scale 0 127 {num(lo)} {num(hi)} 2."]
    if curve == "log":
        return [f"scale 0 127 {num(math.log10(lo))} {num(math.log10(hi))}", "expr pow(10.\\, $f1)"]
    warp = f"(1.-pow({E}\\, $f1))/(1.-pow({E}\\, 4.))"  # SuperCollider's curve 4
    scaled = warp if hi - lo == 1 else f"{num(hi - lo)}*{warp}"
    return ["scale 0 127 0. 4.", "expr " + (scaled if lo == 0 else f"{num(lo)}+{scaled}")]


CURVE_NOTE = {"lin": "", "amp": " (CC: squared, like SuperCollider's amp warp)", "log": " (CC: exponential)",
              "curve": " (CC: fine near the low end, SuperCollider's curve 4)"}


def service_controls() -> list[tuple]:
    rows = []
    for c in midi_controls():
        if c.kind == "f":
            rows.append((c.name, c.cc, "f", c.address, mapping(c.curve, c.lo, c.hi),
                         f"{c.doc}: {num(c.lo).rstrip('.')}..{num(c.hi).rstrip('.')}{CURVE_NOTE[c.curve]}"))
        elif c.kind == "t":
            rows.append((c.name, c.cc, "t", c.address, None, f"{c.doc}; a CC press toggles"))
        else:  # a button: no argument, or a preset's fixed one
            rows.append((c.name, c.cc, "b", c.address + (f" {c.value}" if c.value else ""), None, c.doc))
    return rows


# (name, default CC, kind, OSC address, CC mapping (a [scale]/[expr] chain), what it does)
#   kind f: float control, t: toggle (0/1, follows the status), b: trigger; in the controller's order
#   (a BCF2000 in preset 1: faders CC 81-88, encoders CC 1-8, buttons CC 65-80)
CONTROLS = service_controls()
STATUS = [("fps", "0."), ("steps", "0."), ("xruns", "0"), ("target", "s"), ("loops", "0"), ("playing", "0"),
          ("volume", "0."), ("subscribers", "0"), ("seconds", "0.")]  # /immersions/status f f i s i i f i f
SETTINGS = [("host", "127.0.0.1", "the service's computer"), ("port", "57130", "the service's OSC port"),
            ("listen", str(LISTEN), "UDP port this object listens on (one per [immersions] in use)"),
            ("myhost", "127.0.0.1", "this computer's address as the service sees it"),
            ("token", "none", "the shared token of a service on another machine (started with --allow-remote)")]
INLETS = ["messages: controls by name (volume 0.8, play 1, learn volume, ...), settings, raw /immersions/... OSC",
          "MIDI CC pairs: cc-number value (the object also listens to every [ctlin] unless 'midi 0')"]
OUTLETS = ["signal: the loop, from audio input 1 (see the audio tab: JACK, BlackHole, VB-Cable)",
           "status: fps, steps, xruns, target, loops, playing, volume, subscribers, seconds, running, connected",
           "per-layer energy (a list, shallow to deep) for a multislider",
           "events: ack <address>, error <address> <why>, loop <version> <step> <seconds> <target>, learned <cc> <name>"]


# --- a patcher, boxes named, cords by name ------------------------------------------------------------------------

def ports(text: str) -> tuple[int, int, list[str]]:
    """(inlets, outlets, outlet types) of the Max objects these patchers use."""
    words = text.split()
    name = words[0]
    args = words[1:]
    if "@" in " ".join(args):
        args = args[:next(i for i, w in enumerate(args) if w.startswith("@"))]
    fixed = {
        "loadbang": (1, 1, ["bang"]), "closebang": (1, 1, ["bang"]), "patcherargs": (1, 2, ["", ""]),
        "udpsend": (1, 0, []), "udpreceive": (1, 1, [""]), "metro": (2, 1, ["bang"]), "delay": (2, 1, ["bang"]),
        "prepend": (2, 1, [""]), "append": (2, 1, [""]), "zl": (2, 2, ["", ""]),
        "coll": (1, 4, ["", "", "", "bang"]), "ctlin": (1, 3, ["int", "int", "int"]),
        "notein": (1, 3, ["int", "int", "int"]), "stripnote": (2, 2, ["int", "int"]),
        "scale": (6, 1, [""]), "f": (2, 1, ["float"]), "i": (2, 1, ["int"]), "tosymbol": (1, 1, [""]),
        "print": (1, 0, []), "==": (2, 1, ["int"]), ">": (2, 1, ["int"]), "-": (2, 1, ["int"]),
        "clip": (3, 1, [""]), "maximum": (2, 1, ["float"]), "s": (1, 0, []), "r": (1, 1, [""]),
        "inlet": (0, 1, [""]), "outlet": (1, 0, []), "*~": (2, 1, ["signal"]), "ezdac~": (2, 0, []),
        "mc.adc~": (1, 1, ["multichannelsignal"]), "thispatcher": (1, 2, ["", ""]),
        "fromsymbol": (1, 1, [""]), "plugin~": (2, 2, ["signal", "signal"]), "plugout~": (2, 0, []),
        "+~": (2, 1, ["signal"]), "live.dial": (1, 2, ["", "float"]), "live.toggle": (1, 1, [""]),
    }
    if name in fixed:
        return fixed[name]
    if name in ("route", "routepass", "sel"):
        return (2 if len(args) == 1 else 1), len(args) + 1, ([""] * (len(args) + 1) if name != "sel"
                                                              else ["bang"] * len(args) + [""])
    if name in ("pak", "pack"):
        return len(args), 1, [""]
    if name == "unpack":
        return 1, len(args), ["float" if "." in a else "" if a in ("s", "sym") else "int" for a in args]
    if name == "t":
        return 1, len(args), [{"b": "bang", "i": "int", "f": "float"}.get(a, "") for a in args]
    if name == "gate":
        return 2, int(args[0]), [""] * int(args[0])
    if name == "expr":
        import re
        n = max([int(k) for k in re.findall(r"\$[fis](\d)", text)] or [1])
        return n, 1, [""]
    if name == "adc~":
        return 1, len(args), ["signal"] * len(args)
    if name == "immersions":
        return len(INLETS), len(OUTLETS), ["signal", "", "", ""]
    raise KeyError(f"no port table entry for [{text}]")


class Patcher:
    def __init__(self, rect, **attrs):
        self.rect, self.attrs = rect, attrs
        self.boxes, self.lines = [], []

    def _add(self, box) -> str:
        box["id"] = f"obj-{len(self.boxes) + 1}"
        self.boxes.append({"box": box})
        return box["id"]

    def obj(self, x, y, text, w=None, **extra):
        n_in, n_out, types = ports(text)
        box = {"maxclass": "newobj", "text": text, "numinlets": n_in, "numoutlets": n_out,
               "patching_rect": [x, y, w or max(40, 7 * len(text) + 10), 22]}
        if n_out:
            box["outlettype"] = types
        box.update(extra)
        return self._add(box)

    def io(self, kind, x, y, index, comment):
        box = {"maxclass": kind, "comment": comment, "index": index, "patching_rect": [x, y, 30, 30]}
        box.update({"numinlets": 0, "numoutlets": 1, "outlettype": [""]} if kind == "inlet"
                   else {"numinlets": 1, "numoutlets": 0})
        return self._add(box)

    def msg(self, x, y, text, w=None):
        return self._add({"maxclass": "message", "text": text, "numinlets": 2, "numoutlets": 1, "outlettype": [""],
                          "patching_rect": [x, y, w or max(30, 7 * len(text) + 10), 22]})

    def comment(self, x, y, text, w=300, size=None):
        box = {"maxclass": "comment", "text": text, "numinlets": 1, "numoutlets": 0,
               "patching_rect": [x, y, w, 20 * (1 + len(text) * 7 // max(w, 1))]}
        if size:
            box["fontsize"] = size
            box["patching_rect"][3] = size * 2
        return self._add(box)

    def ui(self, kind, x, y, w=20, h=20, **extra):
        outs = {"toggle": (1, ["int"]), "button": (1, ["bang"]), "flonum": (2, ["", "bang"]),
                "number": (2, ["", "bang"]), "multislider": (2, ["", ""]), "slider": (1, [""])}[kind]
        box = {"maxclass": kind, "numinlets": 1, "numoutlets": outs[0], "outlettype": outs[1],
               "patching_rect": [x, y, w, h], "parameter_enable": 0}
        box.update(extra)
        return self._add(box)

    def sub(self, x, y, name, patcher: "Patcher", tab=False):
        inner = patcher.to_dict()
        if tab:
            inner["showontab"] = 1
        return self._add({"maxclass": "newobj", "text": f"p {name}", "numinlets": 0, "numoutlets": 0,
                          "patching_rect": [x, y, 60 + 7 * len(name), 22], "patcher": inner})

    def connect(self, a, outlet, b, inlet=0):
        self.lines.append({"patchline": {"source": [a, outlet], "destination": [b, inlet]}})

    def via(self, src, outlet, middle, dst, inlet=0):
        """src's outlet -> middle (a box just made) -> dst's inlet."""
        self.connect(src, outlet, middle)
        self.connect(middle, 0, dst, inlet)
        return middle

    def chain(self, *ids):
        for a, b in zip(ids, ids[1:]):
            self.connect(a, 0, b, 0)
        return ids[-1]

    def to_dict(self):
        d = {"fileversion": 1,
             "appversion": {"major": 8, "minor": 5, "revision": 0, "architecture": "x64", "modernui": 1},
             "classnamespace": "box", "rect": self.rect, "openinpresentation": 0, "default_fontsize": 12.0,
             "gridsize": [15.0, 15.0]}
        d.update(self.attrs)
        d["boxes"], d["lines"] = self.boxes, self.lines
        return d


def dump(patcher: Patcher) -> str:
    return json.dumps({"patcher": patcher.to_dict()}, indent="\t") + "\n"


def free(p: Patcher, src, outlet, x, y, lookup: str, other: str):
    """src's key -> [coll #0_lookup] -> [prepend remove] -> [coll #0_other] (returned): what the key
    maps to is freed in the other map (a control's old CC, a CC's old control)."""
    found = p.obj(x, y, f"coll {MAP}{lookup}")
    p.connect(src, outlet, found)
    freed = p.obj(x, y + 60, f"coll {MAP}{other}")
    p.via(found, 0, p.obj(x, y + 30, "prepend remove"), freed)
    return freed


# --- the abstraction ----------------------------------------------------------------------------------------------

def abstraction() -> Patcher:
    p = Patcher([60.0, 80.0, 1500.0, 960.0], description="Immersions: play the service from Max",
                digest="Talk to the Immersions service", tags="immersions osc midi")
    p.comment(15, 10, "[immersions] -- the Immersions service from Max. Open its help (alt-click) for how to "
                      "use it. Left inlet: messages; right inlet: CC pairs. Outlets: the loop (signal), status, "
                      "per-layer energy, events.", w=900)
    in_msg = p.io("inlet", 15, 60, 1, INLETS[0])
    in_cc = p.io("inlet", 700, 60, 2, INLETS[1])
    out_sig = p.io("outlet", 15, 900, 1, OUTLETS[0])
    out_status = p.io("outlet", 300, 900, 2, OUTLETS[1])
    out_energy = p.io("outlet", 600, 900, 3, OUTLETS[2])
    out_events = p.io("outlet", 900, 900, 4, OUTLETS[3])

    # settings: @attributes (patcherargs) and the same words as messages
    args = p.obj(160, 100, "patcherargs " + " ".join(f"@{k} {v}" for k, v, _ in SETTINGS))
    load = p.obj(160, 60, "loadbang")
    t_load = p.obj(160, 80, "t b b b")
    p.connect(load, 0, t_load)
    p.connect(t_load, 2, args)  # attributes out first ...
    settings = p.obj(160, 140, "route " + " ".join(k for k, _, _ in SETTINGS))
    p.connect(args, 1, settings)
    udpsend = p.obj(15, 820, "udpsend 127.0.0.1 57130")
    # the listen socket: no [udpreceive] exists until the listen port is known (patcherargs' @listen or a
    # 'listen N' message): the first one creates it bound to that port (thispatcher scripting), later
    # ones move it.  An object box [udpreceive 57133] would bind 57133 as the patcher loads, before the
    # arguments are read (and fail beside another instance).
    scripting = p.obj(1000, 60, "thispatcher")
    p.via(settings, 0, p.obj(160, 170, "prepend host"), udpsend)
    port = p.obj(260, 170, "prepend port")
    p.connect(settings, 1, port)
    p.connect(port, 0, udpsend)
    t_listen = p.obj(360, 170, "t i i")
    p.connect(settings, 2, t_listen)
    bind = p.obj(1000, 10, "t b i")
    p.connect(t_listen, 1, bind)
    first_or_later = p.obj(1000, 35, "gate 2 1")  # the first port creates the socket, later ones move it
    p.connect(bind, 1, first_or_later, 1)
    p.via(bind, 0, p.msg(1100, 10, "2"), first_or_later)
    create = p.msg(1000, 60, f"script newdefault {IN_NAME} 1000 100 udpreceive $1, "
                             f"script connect {IN_NAME} 0 {ROUTE_NAME} 0", w=420)
    move = p.msg(1250, 60, f"script send {IN_NAME} port $1")
    p.connect(first_or_later, 0, create)
    p.connect(first_or_later, 1, move)
    p.connect(create, 0, scripting)
    p.connect(move, 0, scripting)
    who = p.obj(460, 200, f"pak sym {LISTEN}")  # myhost, listen: who we are, for (un)subscribing
    p.via(settings, 3, p.obj(460, 170, "tosymbol"), who)
    p.connect(t_listen, 0, who, 1)
    me = p.obj(460, 230, "zl reg")
    p.connect(who, 0, me, 1)
    # subscription: now, then every RENEW_MS (renewal); unsubscribe when closed
    p.comment(560, 230, f"subscribe on load and every {RENEW_MS // 1000} s (renewal: the service forgets "
                        "silent subscribers)", w=330)
    metro = p.obj(460, 260, f"metro {RENEW_MS}")
    p.via(t_load, 0, p.msg(460, 60, "1"), metro)
    renew = p.obj(380, 275, "t b b")  # auth (when a token is set), then subscribe
    p.connect(metro, 0, renew)
    p.connect(renew, 0, me)
    token_gate = p.obj(620, 290, "gate 1 0")
    p.connect(renew, 1, token_gate, 1)
    token = p.obj(620, 320, "zl reg")
    p.connect(token_gate, 0, token)
    auth = p.msg(620, 350, "/immersions/auth $1")
    p.connect(token, 0, auth)
    p.connect(auth, 0, udpsend)
    some_token = p.obj(560, 170, "sel none")
    p.connect(settings, 4, some_token)
    token_symbol = p.obj(560, 200, "tosymbol")
    p.connect(some_token, 1, token_symbol)
    p.connect(token_symbol, 0, token, 1)
    token_on = p.msg(700, 230, "1")
    p.via(token_symbol, 0, p.obj(700, 200, "t b"), token_on)
    p.connect(token_on, 0, token_gate)
    subscribe = p.msg(460, 290, "/immersions/stream/subscribe $1 $2 summary")
    p.connect(me, 0, subscribe)
    p.connect(subscribe, 0, udpsend)
    close = p.obj(800, 260, "closebang")
    me2 = p.obj(800, 290, "zl reg")
    p.connect(who, 0, me2, 1)
    p.connect(close, 0, me2)
    unsubscribe = p.msg(800, 320, "/immersions/stream/unsubscribe $1 $2")
    p.connect(me2, 0, unsubscribe)
    p.connect(unsubscribe, 0, udpsend)

    # messages: learn / map / subscribe / midi / input, then settings, then controls, then raw OSC
    first = p.obj(15, 360, "route learn map subscribe midi input cc")
    p.connect(in_msg, 0, first)
    p.connect(first, 2, renew)
    p.connect(first, 6, settings)
    p.connect(settings, len(SETTINGS), ctl_route := p.obj(15, 400, "route " + " ".join(c[0] for c in CONTROLS) + " layer"))
    p.connect(ctl_route, len(CONTROLS) + 1, udpsend)  # anything else: raw OSC (/immersions/...) as it is
    layer = p.obj(1250, 440, "tosymbol")
    p.connect(ctl_route, len(CONTROLS), layer)
    p.via(layer, 0, p.obj(1250, 470, "prepend /immersions/target/layer"), udpsend)

    # MIDI: [ctlin] (switchable) and the right inlet -> learn gate -> the map -> the controls
    ctlin = p.obj(700, 100, "ctlin")
    pack_cc = p.obj(700, 130, "pack 0 0")
    p.connect(ctlin, 0, pack_cc)
    p.connect(ctlin, 1, pack_cc, 1)
    swap = p.msg(700, 160, "$2 $1")
    p.connect(pack_cc, 0, swap)
    midi_gate = p.obj(700, 190, "gate 1 1")
    p.connect(swap, 0, midi_gate, 1)
    p.connect(first, 3, midi_gate)
    learn_gate = p.obj(700, 230, "gate 2 1")
    p.connect(midi_gate, 0, learn_gate, 1)
    p.connect(in_cc, 0, learn_gate, 1)
    p.connect(first, 5, learn_gate, 1)  # 'cc 81 100' from the left inlet too
    # playing: cc -> name (coll) -> "name value" -> the CC route -> mapping -> the control
    n_unpack = p.obj(700, 270, "unpack 0 0")
    p.connect(learn_gate, 0, n_unpack)
    lookup = p.obj(700, 300, f"coll {MAP}ccmap")
    with_value = p.obj(700, 330, "append")
    p.connect(n_unpack, 1, with_value, 1)
    p.connect(n_unpack, 0, lookup)
    p.connect(lookup, 0, with_value)
    cc_route = p.obj(700, 360, "route " + " ".join(c[0] for c in CONTROLS))
    p.connect(with_value, 0, cc_route)
    # learning: "learn name" -> gate to 2, next CC -> both maps rewritten
    known = p.obj(1000, 370, "routepass " + " ".join(c[0] for c in CONTROLS))
    p.connect(first, 0, known)
    t_learn = p.obj(1000, 400, "t s s s b")
    for k in range(len(CONTROLS)):
        p.connect(known, k, t_learn)
    unknown = p.obj(1300, 560, "prepend learn: no control called")
    p.connect(known, len(CONTROLS), unknown)
    p.connect(unknown, 0, p.obj(1300, 590, "print immersions"))
    two = p.msg(1000, 430, "2")
    p.connect(t_learn, 3, two)
    p.connect(two, 0, learn_gate)
    ccmap_w = free(p, t_learn, 2, 1060, 460, "names", "ccmap")  # the control's old CC is freed
    learned = p.obj(1120, 560, "pack 0 s")
    p.connect(t_learn, 1, learned, 1)
    tell = p.obj(1000, 560, "prepend learn: move a MIDI control for")
    p.connect(t_learn, 0, tell)
    p.connect(tell, 0, p.obj(1000, 590, "print immersions"))
    l_unpack = p.obj(860, 430, "unpack 0 0")
    p.connect(learn_gate, 1, l_unpack)
    t_cc = p.obj(860, 460, "t b i i")
    p.connect(l_unpack, 0, t_cc)
    names_w = free(p, t_cc, 2, 920, 490, "ccmap", "names")  # the CC's old control is freed
    p.connect(t_cc, 1, learned)
    t_store = p.obj(1120, 590, "t l l l")
    p.connect(learned, 0, t_store)
    p.connect(t_store, 2, ccmap_w)
    p.via(t_store, 1, p.msg(1120, 620, "store $2 $1"), names_w)
    p.via(t_store, 0, p.obj(1250, 620, "prepend learned"), out_events)
    p.via(t_store, 0, p.msg(1250, 650, "CC $1 now controls $2"), p.obj(1250, 680, "print immersions"))
    one = p.msg(860, 490, "1")
    p.connect(t_cc, 0, one)
    p.connect(one, 0, learn_gate)
    # the default map, and "map" prints it
    defaults = p.msg(15, 60 + 700, "clear, " + ", ".join(f"{cc} {name}" for name, cc, *_ in CONTROLS), w=600)
    names_default = p.msg(15, 790, "clear, " + ", ".join(f"store {name} {cc}" for name, cc, *_ in CONTROLS), w=600)
    p.connect(t_load, 1, defaults)
    p.connect(t_load, 1, names_default)
    p.connect(defaults, 0, ccmap_w)
    p.connect(names_default, 0, names_w)
    dump = p.msg(1300, 400, "dump")
    p.connect(first, 1, dump)
    dump_coll = p.obj(1300, 430, f"coll {MAP}ccmap")
    p.connect(dump, 0, dump_coll)
    with_cc = p.obj(1300, 460, "prepend")
    p.connect(dump_coll, 1, with_cc, 1)
    p.connect(dump_coll, 0, with_cc)
    p.via(with_cc, 0, p.obj(1300, 490, "prepend CC"), p.obj(1300, 520, "print immersions-map"))

    # the controls: one column each
    state = {}
    for k, (name, cc, kind, address, mapping, _what) in enumerate(CONTROLS):
        x = 15 + 62 * k
        y = 480 + 30 * (k % 3)
        if kind == "f":
            typed = p.obj(x, y + 120, "f")
            p.connect(ctl_route, k, typed)
            prev = None
            for j, step in enumerate(mapping):
                o = p.obj(x, y + 30 + 30 * j, step)
                if prev is None:
                    p.connect(cc_route, k, o)
                else:
                    p.connect(prev, 0, o)
                prev = o
            p.connect(prev, 0, typed)
            p.via(typed, 0, p.obj(x, y + 150, f"prepend {address}"), udpsend)
        elif kind == "t":
            typed = p.obj(x, y + 120, "i")
            p.connect(ctl_route, k, typed)
            current = p.obj(x + 30, y + 60, "i")  # what the service does now (status, or what we sent)
            press = p.obj(x, y + 30, "sel 0")
            p.connect(cc_route, k, press)
            p.via(press, 1, p.obj(x, y + 60, "t b"), current)
            flip = p.obj(x, y + 90, "== 0")
            p.connect(current, 0, flip)
            p.connect(flip, 0, typed)
            p.connect(typed, 0, current, 1)
            p.via(typed, 0, p.obj(x, y + 150, f"prepend {address}"), udpsend)
            state[name] = current
        else:
            press = p.obj(x, y + 30, "sel 0")
            p.connect(cc_route, k, press)
            m = p.msg(x, y + 120, address)
            p.connect(press, 1, m)
            p.connect(ctl_route, k, m)
            p.connect(m, 0, udpsend)

    # notes: C2 and up excite one channel of a mid layer (as before)
    notein = p.obj(1250, 700, "notein")
    strip = p.obj(1250, 730, "stripnote")
    p.connect(notein, 0, strip)
    p.connect(notein, 1, strip, 1)
    minus = p.obj(1250, 760, "- 36")
    p.connect(strip, 0, minus)
    clip = p.obj(1250, 790, "clip 0 63")
    p.connect(minus, 0, clip)
    # the channel is in the service's current target layer (the status's target, or a 'layer' sent from
    # here): notes wait until one is known rather than name a layer a --model network may not have
    known_layer = p.obj(1250, 790, "gate 1 0")
    p.connect(clip, 0, known_layer, 1)
    note = p.obj(1250, 820, "pack 0 sym")
    p.connect(known_layer, 0, note)
    p.via(note, 0, p.msg(1250, 850, "/immersions/target/channel $2 $1"), udpsend)
    current_layer = p.obj(1400, 730, "t b s")
    p.connect(current_layer, 1, note, 1)
    p.via(current_layer, 0, p.msg(1400, 760, "1"), known_layer)
    target_words = p.obj(1400, 670, "fromsymbol")  # 'encoder.blocks.3.relu2 all' -> its words
    first_word = p.obj(1400, 700, "zl slice 1")
    p.chain(target_words, first_word, current_layer)
    p.connect(layer, 0, current_layer)  # 'layer NAME' from here: that is the target now

    # from the service
    incoming = p.obj(1000, 130, "route /immersions/status /immersions/summary/energy /immersions/loop/new "
                                "/immersions/ack /immersions/error", varname=ROUTE_NAME)
    t_status = p.obj(1250, 160, "t b")
    p.connect(incoming, 0, t_status)
    unpack = p.obj(1000, 190, "unpack " + " ".join(t for _, t in STATUS))
    p.connect(incoming, 0, unpack)
    for k, (field, _) in enumerate(STATUS):
        pre = p.obj(1000 + 55 * k, 220 + 0 * k, f"prepend {field}")
        p.connect(unpack, k, pre)
        p.connect(pre, 0, out_status)
    p.connect(unpack, 5, state["play"], 1)  # the play toggle follows the status
    p.connect(unpack, 3, target_words)  # the notes follow the target layer
    running = p.obj(1100, 250, "> 0.")
    p.connect(unpack, 1, running)
    p.connect(running, 0, state["run"], 1)  # so does run (steps/s > 0)
    p.via(running, 0, p.obj(1100, 280, "prepend running"), out_status)
    # connected 1 with the first status, connected 0 after 3 s without one
    up = p.msg(1250, 190, "1")
    p.connect(t_status, 0, up)
    watchdog = p.obj(1300, 190, "delay 3000")
    p.connect(t_status, 0, watchdog)
    down = p.msg(1300, 220, "0")
    p.connect(watchdog, 0, down)
    changed = p.obj(1250, 250, "zl change")
    p.connect(up, 0, changed)
    p.connect(down, 0, changed)
    p.via(changed, 0, p.obj(1250, 280, "prepend connected"), out_status)
    p.connect(incoming, 1, out_energy)
    for k, word in ((2, "loop"), (3, "ack"), (4, "error")):
        pre = p.obj(1000 + 100 * (k - 2), 320, f"prepend {word}")
        p.connect(incoming, k, pre)
        p.connect(pre, 0, out_events)
    p.connect(incoming, 4, p.obj(1200, 350, "print immersions-error"))

    # audio: the loop from the audio input (channel: 'input N')
    adc = p.obj(15, 860, "adc~ 1")
    p.via(first, 4, p.obj(15, 830, "prepend set"), adc)
    p.connect(adc, 0, out_sig)
    return p


# --- the help patch -----------------------------------------------------------------------------------------------

def tab(title: str, w: int = 400) -> Patcher:
    """A tab of the help patch, titled."""
    t = Patcher([0.0, 26.0, 900.0, 654.0])
    t.comment(15, 10, title, w=w, size=18)
    return t


def help_patch() -> Patcher:
    top = Patcher([100.0, 100.0, 900.0, 680.0], showrootpatcherontab=0, showontab=0)

    basic = Patcher([0.0, 26.0, 900.0, 654.0])
    basic.comment(15, 10, "immersions", w=300, size=24)
    basic.comment(15, 55, "Play the Immersions service (immersions-osc serve) from Max: controls and MIDI in, "
                          "status, energy and the loop out.", w=800)
    inlet_msgs = basic.obj(15, 100, "r immersions-help-in")
    imm = basic.obj(15, 420, f"immersions @listen {HELP_LISTEN}", w=220)
    basic.comment(245, 420, f"@listen {HELP_LISTEN}: this help's own port, so it runs beside your patch "
                            f"(whose [immersions] listens on {LISTEN}). One port per [immersions].", w=600)
    basic.connect(inlet_msgs, 0, imm)
    # controls that follow the status
    basic.comment(15, 130, "play", w=60)
    play = basic.ui("toggle", 15, 150, 24, 24)
    basic.comment(75, 130, "run", w=60)
    run = basic.ui("toggle", 75, 150, 24, 24)
    basic.comment(135, 130, "volume", w=80)
    volume = basic.ui("flonum", 135, 150, 60, 22, minimum=0.0, maximum=1.5)
    basic.via(play, 0, basic.obj(15, 200, "prepend play"), imm)
    basic.via(run, 0, basic.obj(75, 230, "prepend run"), imm)
    basic.via(volume, 0, basic.obj(135, 260, "prepend volume"), imm)
    for k, text in enumerate(["random", "noise", "status", "learning_rate 0.01", "layer encoder.blocks.3.relu2"]):
        m = basic.msg(260 + 0 * k, 130 + 28 * k, text)
        basic.connect(m, 0, imm)
    basic.comment(520, 130, "the toggles and the number follow the service (set: nothing is sent back), so "
                            "the first click always changes something", w=360)
    # status out -> the UI
    status = basic.obj(150, 480, "route playing running volume connected target fps steps")
    basic.connect(imm, 1, status)
    for k, target in enumerate([play, run, volume]):
        s = basic.msg(150 + 60 * k, 510, "set $1")
        basic.connect(status, k, s)
        basic.connect(s, 0, target)
    basic.comment(330, 510, "connected", w=70)
    led = basic.ui("toggle", 400, 510, 20, 20)
    basic.via(status, 3, basic.msg(330, 540, "set $1"), led)
    target = basic.msg(430, 570, "", w=300)
    basic.via(status, 4, basic.obj(430, 540, "prepend set"), target)
    # energy: a multislider whose size and range follow the live energies
    energy = basic.ui("multislider", 15, 580, 300, 60, size=25, setminmax=[0.0, 1.0], setstyle=1)
    t_e = basic.obj(330, 600, "t l l l")
    basic.connect(imm, 2, t_e)
    basic.connect(t_e, 0, energy)
    size = basic.obj(330, 630, "zl len")
    basic.connect(t_e, 2, size)
    size_change = basic.obj(330, 655, "zl change")
    basic.connect(size, 0, size_change)
    basic.via(size_change, 0, basic.obj(330, 680, "prepend size"), energy)
    top_e = basic.obj(480, 630, "maximum 0.")
    basic.connect(t_e, 1, top_e)
    grow = basic.obj(480, 655, "expr ceil(max($f1\\, 0.25) * 4.) / 4.")
    basic.connect(top_e, 0, grow)
    peak = basic.obj(480, 680, "maximum 0.")  # the largest top so far (reset when the layer count changes)
    basic.connect(grow, 0, peak)
    t_peak = basic.obj(480, 705, "t f f")
    basic.connect(peak, 0, t_peak)
    basic.connect(t_peak, 1, peak, 1)  # remember it
    reset = basic.msg(600, 655, "0.")
    basic.connect(size_change, 0, reset)
    basic.connect(reset, 0, peak, 1)
    setminmax = basic.obj(480, 755, "prepend setminmax 0.")
    basic.via(t_peak, 0, basic.obj(480, 730, "zl change"), setminmax)
    basic.connect(setminmax, 0, energy)
    basic.comment(15, 645, "per-layer energy, shallow to deep: size and range follow the data (live energies "
                           "exceed 1)", w=300)
    # the loop
    dac = basic.obj(15, 470, "ezdac~")
    gain = basic.obj(15, 450, "*~ 0.8")
    basic.connect(imm, 0, gain)
    basic.connect(gain, 0, dac)
    basic.connect(gain, 0, dac, 1)
    not_errors = basic.obj(700, 480, "route error")  # errors: [immersions] prints them itself (once)
    basic.connect(imm, 3, not_errors)
    basic.connect(not_errors, 1, basic.obj(700, 510, "print immersions-events"))

    midi = tab("MIDI and learn mode")
    midi.comment(15, 50, "[immersions] listens to every MIDI input ([ctlin]); the default map is the Behringer "
                         "BCF2000's preset 1 (faders CC 81-88, encoders 1-4, buttons 65-72). Learn: send 'learn "
                         "<control>', then move a knob: it takes over that control (its old CC is freed), as "
                         "in the SuperCollider and Pd patches. 'map' prints the map in the Max window.", w=850)
    s_help = midi.obj(15, 300, "s immersions-help-in")
    for k, text in enumerate(["learn volume", "learn learning_rate", "learn play", "map", "cc 81 100", "midi 0",
                              "midi 1"]):
        m = midi.msg(15 + 120 * (k % 4), 150 + 40 * (k // 4), text)
        midi.connect(m, 0, s_help)
    midi.comment(15, 240, "cc 81 100: what fader 1 at 100 does (no controller needed). midi 0: ignore [ctlin] "
                          "(feed the right inlet yourself, e.g. from one device's [ctlin a]).", w=850)
    midi.comment(15, 340, "Controls by name, with the CC map: " + ", ".join(f"{n} ({cc})" for n, cc, *_ in CONTROLS),
                 w=850)

    audio = tab("audio: the loop into Max")
    audio.comment(15, 50, "The service plays the loop on its audio output; [immersions]'s left outlet is audio "
                          "input 1 ([adc~ 1] inside; 'input 3' picks another). Route the loop to an input Max "
                          "can see:", w=850)
    audio.comment(15, 100, "macOS: install BlackHole 2ch; run the service with its output on BlackHole "
                           "(immersions-osc serve --audio portaudio --output-device BlackHole, see docs/clients.md); "
                           "in Max, Options > Audio Status: Input Device BlackHole 2ch. With JackOSX: Max's device "
                           "JackRouter, then jack_connect immersions:out JackRouter:in_1.", w=850)
    audio.comment(15, 170, "Windows: VB-Audio Virtual Cable: the service's output on CABLE Input, Max's input "
                           "device CABLE Output (or JACK2 for Windows with the JACK ASIO driver, then "
                           "jack_connect immersions:out as above).", w=850)
    audio.comment(15, 230, "Linux: Max does not run; use the Pure Data or SuperCollider patch (JACK).", w=850)
    audio.obj(15, 290, "mc.adc~ 1 2")
    audio.comment(130, 290, "the multichannel way: both loopback channels as one cable (then mc.* objects)", w=500)
    s_help2 = audio.obj(15, 400, "s immersions-help-in")
    for k, text in enumerate(["input 1", "input 2"]):
        m = audio.msg(15 + 90 * k, 360, text)
        audio.connect(m, 0, s_help2)

    osc = tab("any OSC control")
    osc.comment(15, 50, "Messages that start with /immersions/ go to the service as they are (docs/osc.md lists "
                        "every address). Acks and errors come out of the events outlet.", w=850)
    s_help3 = osc.obj(15, 320, "s immersions-help-in")
    for k, text in enumerate(["/immersions/target/layer encoder.blocks.3.relu2",
                              "/immersions/target/channel encoder.blocks.6.relu2 12 2.",
                              "/immersions/optimize/start noise", "/immersions/player/volume 0.5",
                              "/immersions/status/request"]):
        m = osc.msg(15, 100 + 40 * k, text)
        osc.connect(m, 0, s_help3)

    info = tab("?", w=100)
    info.comment(15, 50, "Arguments (attributes): " + "; ".join(f"@{k} ({what}, default {v})"
                                                             for k, v, what in SETTINGS), w=850)
    info.comment(15, 110, "Inlets: " + " | ".join(INLETS), w=850)
    info.comment(15, 170, "Outlets: " + " | ".join(OUTLETS), w=850)
    info.comment(15, 250, f"The subscription is renewed every {RENEW_MS // 1000} s and dropped when the patcher "
                          "closes. Reference: docs/refpages/immersions.maxref.xml in this package.", w=850)

    top.sub(15, 15, "basic", basic, tab=True)
    top.sub(120, 15, "midi", midi, tab=True)
    top.sub(200, 15, "audio", audio, tab=True)
    top.sub(280, 15, "osc", osc, tab=True)
    top.sub(360, 15, "?", info, tab=True)
    return top


# --- the reference page -------------------------------------------------------------------------------------------

def refpage() -> str:
    def tag(element, text, **attrs):
        a = "".join(f' {k}="{escape(str(v))}"' for k, v in attrs.items())
        return f"<{element}{a}>{escape(text)}</{element}>"

    lines = ['<?xml version="1.0" encoding="utf-8" standalone="yes"?>',
             '<?xml-stylesheet href="./_c74_ref.xsl" type="text/xsl"?>',
             '<c74object name="immersions" module="Immersions" category="Immersions">',
             "  " + tag("digest", "Play the Immersions service: controls, MIDI learn, status, energy, the loop"),
             "  <description>" + escape(
                 "Sends controls to the Immersions service (immersions-osc serve) over OSC, subscribes to its "
                 f"status and per-layer energy (renewed every {RENEW_MS // 1000} s), maps MIDI CCs to controls "
                 "with a learn mode (one map per instance), and brings the loop in from an audio input. MIDI notes "
                 "(C2 and up) excite a channel of the service's current target layer. Nothing is bound until "
                 "the attributes are read: the listen socket is made from @listen.") + "</description>",
             "  <metadatalist>", "    " + tag("metadata", "Immersions", name="author"),
             "    " + tag("metadata", "OSC", name="tag"), "    " + tag("metadata", "MIDI", name="tag"),
             "  </metadatalist>", "  <inletlist>"]
    for k, text in enumerate(INLETS):
        lines.append(f'    <inlet id="{k}" type="{"anything" if k == 0 else "list"}">{tag("digest", text)}</inlet>')
    lines += ["  </inletlist>", "  <outletlist>"]
    for k, text in enumerate(OUTLETS):
        lines.append(f'    <outlet id="{k}" type="{"signal" if k == 0 else "anything"}">{tag("digest", text)}</outlet>')
    lines += ["  </outletlist>", "  <objarglist />", "  <methodlist>"]
    methods = [(n, what) for n, _cc, _k, _a, _m, what in CONTROLS] + [
        ("layer", "excite a whole layer (its name)"), ("learn", "learn mode: the next CC moved takes over this control"),
        ("map", "print the MIDI map"), ("subscribe", "subscribe now"),
        ("midi", "1: listen to every MIDI input ([ctlin]), 0: only the right inlet"),
        ("input", "which audio input carries the loop (default 1)"), ("cc", "right inlet: a CC number and value")]
    for name, what in methods:
        lines.append(f'    <method name="{name}">{tag("digest", what)}</method>')
    lines += ["  </methodlist>", "  <attributelist>"]
    for name, default, what in SETTINGS:
        lines.append(f'    <attribute name="{name}" get="0" set="1" type="{"int" if default.isdigit() else "symbol"}" '
                     f'size="1">{tag("digest", f"{what} (default {default})")}</attribute>')
    lines += ["  </attributelist>", "  <seealsolist>", '    <seealso name="udpsend" />', '    <seealso name="udpreceive" />',
              '    <seealso name="ctlin" />', '    <seealso name="adc~" />', "  </seealsolist>", "</c74object>", ""]
    return "\n".join(lines)


def package_info() -> str:
    return json.dumps({
        "name": "Immersions", "version": VERSION, "author": "Immersions",
        "description": "The [immersions] object: play the Immersions service (a neural network listening to "
                       "sound, optimizing loops) from Max.",
        "homepatcher": "", "max_version_min": "8.0", "max_version_max": "none",
        "os": {"macintosh": {"platform": ["x64", "arm64"], "min_version": "none"},
               "windows": {"platform": ["x64"], "min_version": "none"}},
        "tags": ["osc", "midi", "neural network", "sonification"], "website": "",
        "filelist": {"patchers": ["immersions.maxpat"], "help": ["immersions.maxhelp"],
                     "docs": ["refpages/immersions.maxref.xml"], "examples": ["immersions-two-services.maxpat"],
                     "devices": ["Immersions.amxd"]},
    }, indent="\t") + "\n"


# --- examples/, the Max for Live device, README, licence -------------------------------------------------------

def example_two_instances() -> Patcher:
    """examples/immersions-two-services.maxpat: two [immersions] side by side, each its own service and port."""
    p = Patcher([80.0, 80.0, 760.0, 420.0])
    p.comment(15, 10, "Two [immersions], two services (e.g. immersions-osc serve --port 57130 and --port 57140): "
                      "each instance needs its own @listen port and has its own MIDI map (#0 inside).", w=700)
    for k, (port, listen) in enumerate(((57130, 57133), (57140, 57135))):
        x = 15 + 360 * k
        imm = p.obj(x, 150, f"immersions @port {port} @listen {listen}", w=260)
        for j, text in enumerate(["learn volume", "map", "play 1"]):
            p.connect(p.msg(x + 110 * j, 100, text), 0, imm)
        p.connect(imm, 3, p.obj(x, 200, f"print immersions-{port}"))
        gain = p.obj(x, 240, "*~ 0.5")
        p.connect(imm, 0, gain)
        dac = p.obj(x, 280, "ezdac~")
        p.connect(gain, 0, dac)
        p.connect(gain, 0, dac, 1)
    return p


DEVICE_LISTEN = 57135  # the device's own port: beside the help (57134) and a patch's default (57133)


def device_patcher() -> Patcher:
    """The Max for Live audio effect: the track's audio passes through, the loop from [immersions] is mixed
    in at the Loop dial, and the Volume dial and Play toggle are the service's (Live-automatable)."""
    p = Patcher([100.0, 100.0, 900.0, 560.0], openinpresentation=1, devicewidth=240.0)
    p.comment(15, 10, "Immersions (Max for Live audio effect): the track's audio plus the service's loop; the "
                      "dials play the service. Uses the [immersions] abstraction of the Immersions package.", w=700)
    plugin = p.obj(15, 60, "plugin~")
    imm = p.obj(300, 200, f"immersions @listen {DEVICE_LISTEN}", w=200)
    params = {}
    for k, (name, kind, lo, hi, initial) in enumerate((("Volume", "live.dial", 0.0, 1.5, 0.8),
                                                       ("Loop", "live.dial", 0.0, 1.0, 0.7),
                                                       ("Play", "live.toggle", 0, 1, 1))):
        box = {"maxclass": kind, "numinlets": 1, "numoutlets": 2 if kind == "live.dial" else 1,
               "outlettype": ["", "float"] if kind == "live.dial" else [""], "parameter_enable": 1,
               "patching_rect": [300 + 90 * k, 60, 44, 48], "presentation": 1,
               "presentation_rect": [10 + 60 * k, 10, 44, 48], "varname": name.lower(),
               "saved_attribute_attributes": {"valueof": {
                   "parameter_longname": f"Immersions {name}", "parameter_shortname": name,
                   "parameter_type": 0 if kind == "live.dial" else 2, "parameter_mmin": lo, "parameter_mmax": hi,
                   "parameter_initial": [initial], "parameter_initial_enable": 1}}}
        params[name] = p._add(box)
    p.via(params["Volume"], 0, p.obj(300, 130, "prepend volume"), imm)
    p.via(params["Play"], 0, p.obj(480, 130, "prepend play"), imm)
    loop = p.obj(300, 260, "*~ 0.7")
    p.connect(imm, 0, loop)
    p.connect(params["Loop"], 0, loop, 1)
    out = p.obj(15, 320, "plugout~")
    for channel in (0, 1):
        mix = p.obj(15 + 120 * channel, 280, "+~")
        p.connect(plugin, channel, mix)
        p.connect(loop, 0, mix, 1)
        p.connect(mix, 0, out, channel)
    p.connect(imm, 3, p.obj(520, 260, "print immersions-device"))
    return p


# The .amxd container as Max for Live writes it (no official specification is published; this is the
# layout documented by the community's readers and writers of .amxd files, several of which were
# compared): the chunk 'ampf' (a 4-byte little-endian length, then the device type: 'aaaa' audio
# effect, 'mmmm' MIDI effect, 'iiii' instrument), a 'meta' chunk (length 4, four bytes), then 'ptch' and
# its length, holding the patcher JSON (text, newline, NUL).
AMXD_TYPES = {"audio": b"aaaa", "midi": b"mmmm", "instrument": b"iiii"}


def amxd(patcher: Patcher, kind: str = "audio") -> bytes:
    import struct

    payload = (json.dumps({"patcher": patcher.to_dict()}, indent="\t") + "\n").encode("utf-8") + b"\0"
    return (b"ampf" + struct.pack("<I", 4) + AMXD_TYPES[kind] + b"meta" + struct.pack("<I", 4) + struct.pack("<I", 0)
            + b"ptch" + struct.pack("<I", len(payload)) + payload)


README = """# Immersions -- a Max package

Play the Immersions service (`immersions-osc serve`) from Max and from Max for Live.

| file | what it is |
|---|---|
| `patchers/immersions.maxpat` | the `[immersions]` abstraction: controls and MIDI in (with learn mode), status, energy and the loop out |
| `help/immersions.maxhelp` | its help patch, in tabs: basic, midi, audio, osc, ? |
| `docs/refpages/immersions.maxref.xml` | its reference page (inlets, outlets, messages, attributes) |
| `examples/immersions-two-services.maxpat` | two instances, two services, two maps |
| `devices/Immersions.amxd` | a Max for Live audio effect built on the abstraction: the track plus the loop, Volume / Loop / Play as Live parameters |
| `package-info.json`, `LICENSE` | the package's description and licence (MIT) |

All of it is written by `make_max_package.py` (in the Python package, beside this folder) from the
service's controls table.

## Install

`immersions-osc clients export DIR --host max` writes this folder as `DIR/max/Immersions`. Copy it into
your Max packages folder -- `~/Documents/Max 8/Packages/` (or `Max 9/Packages`) on macOS,
`Documents\\Max 8\\Packages\\` on Windows -- and restart Max. Type `immersions` in an object box; alt-click
it for the help patch. The Max for Live device: drag `devices/Immersions.amxd` onto an audio track in
Live (it uses the abstraction, so install the package first -- or freeze the device in Max for Live).

## First sound

1. Start the service (`immersions-osc serve`; on a Mac or PC with a loopback device for the sound:
   BlackHole 2ch / VB-Cable, see the help's audio tab and docs/clients.md).
2. Open the help patch. Its `[immersions @listen 57134]` subscribes (renewed every 5 s); the toggles and
   the volume follow the service's status. Turn audio on: the loop comes out of the left outlet.

## The object

`[immersions @host 127.0.0.1 @port 57130 @listen 57133 @myhost 127.0.0.1 @token none]`

- One `@listen` port per instance. Nothing is bound until the arguments are read: the object scripts its
  `[udpreceive]` with the port it was given (`listen N` moves it), so a help patch or a second instance
  beside yours never fails on the default port.
- Each instance has its own MIDI map (`[coll #0_ccmap]`: `#0` is unique per abstraction instance; a `---`
  name would be one map for every instance outside Max for Live).
- Notes (C2 and up) excite channel note - 36 of the service's current target layer (from its status, or
  `layer NAME`), whatever network it runs.
- Left inlet: `volume 0.8`, `learning_rate 0.01`, ..., `play 1`, `random`, `layer NAME`, `learn NAME`,
  `map`, `cc N V`, `midi 0/1`, `input N`, `host`, `port`, `listen`, `myhost`, `token`, any `/immersions/...`
  OSC message. Right inlet: CC pairs. Outlets: the loop (signal), status, per-layer energy, events.

**Learn**: `learn learning_rate`, then move a knob: that CC now drives the control and its old CC is freed;
`map` prints the map.

## What is verified, and what is not

Max does not run on the machines that test this package. The tests check the files (JSON structure,
every OSC address and type against the service's contract, the refpage against the abstraction, the
device's container and patcher) and *run* the abstraction in a small interpreter of the Max objects it
uses (tests/max_sim.py, which follows Max's documented message order and naming rules: two instances
keep two maps, nothing binds before the arguments are read). It is not Max: the patches and the device
have not been opened in Max or Live here.
"""


def files() -> dict[str, str | bytes]:
    """Every file of the package, by path inside it (text, or bytes for the device)."""
    repo_licence = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "LICENSE")
    # the repository's LICENSE; run from an installed package (no repository around), the copy already here
    with open(repo_licence if os.path.exists(repo_licence) else os.path.join(PACKAGE, "LICENSE"),
              encoding="utf-8") as f:
        licence = f.read()
    return {"package-info.json": package_info(),
            "patchers/immersions.maxpat": dump(abstraction()),
            "help/immersions.maxhelp": dump(help_patch()),
            "docs/refpages/immersions.maxref.xml": refpage(),
            "examples/immersions-two-services.maxpat": dump(example_two_instances()),
            "devices/Immersions.amxd": amxd(device_patcher()),
            "README.md": README, "LICENSE": licence}


def main():
    for rel, content in files().items():
        path = os.path.join(PACKAGE, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, bytes):
            with open(path, "wb") as f:
                f.write(content)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)


if __name__ == "__main__":
    main()
