"""Writes patches/immersions.pd, the Pure Data client.

The patch is ordinary Pd (open it, edit it, save it); it is written by this script so that its
~400 boxes and connections are named instead of numbered, and a test
(tests/test_clients_static.py) checks that the committed patch is what this script writes.
Run it after editing:  python patches/make_pd_patch.py

What the patch does (the user's view is in patches/README.md):

* one UDP socket, ``[netsend -u -b]`` connected to the service *and bound to the listen port*
  (``connect HOST PORT LISTEN``): the subscription names that port, so every reply, ack and
  stream message arrives exactly once, on netsend's right outlet;
* the subscription is renewed every 5 s (the service forgets subscribers that stop renewing)
  (Pd 0.53 has no [closebang] to unsubscribe on close: the subscription simply expires);
* every control has a slider, toggle or bang (click it, or move a MIDI control), a ``learn``
  bang next to it, and the map CC -> control is a table that learn mode rewrites, as in the
  SuperCollider patch (``~imm.learnCC``);
* the play and run toggles and the volume slider follow ``/immersions/status`` (``set``: no
  message goes back to the service);
* ``[adc~ 1]``: the loop, from JACK or from a loopback device, through a monitor volume and filter
  to ``[dac~]``, with its level.
"""
from __future__ import annotations

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = ("127.0.0.1", 57130)
LISTEN = 57132
RENEW_MS = 5000  # subscription renewal period (the service drops subscribers silent for longer than its TTL)
WATCHDOG_MS = 3000  # no status for this long: "no status" once, and the toggles stop following

# The service's controls, their ranges, curves and default CCs: the table the service generates
# (immersions-osc osc-table --json), read here so that this patch cannot drift from it.
TABLE = os.path.join(os.path.dirname(HERE), "immersions_osc", "osc", "controls.json")


def num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def mapping(curve: str, lo: float, hi: float) -> str:
    """The [expr] of $f1 = CC 0..127 -> lo..hi along the table's curve (as SuperCollider's ControlSpec)."""
    span, x = hi - lo, "$f1/127"
    if curve == "log":
        return f"{num(lo)}*pow({num(hi / lo)}, {x})"
    shape = {"lin": x, "amp": "$f1*$f1/16129", "curve": "(1-exp(4*$f1/127))/(1-exp(4))"}[curve]
    scaled = shape if span == 1 else f"{num(span)}*{shape}"
    return scaled if lo == 0 else f"{scaled}{'+' if lo > 0 else '-'}{num(abs(lo))}"


def service_controls() -> list[tuple]:
    with open(TABLE, encoding="utf-8") as f:
        table = json.load(f)
    by_name = {c["name"]: c for c in table["controls"]}
    rows = []
    for name in table["midi"]:
        c = by_name[name]
        if c["type"] == "f":
            lo, hi = c["fader"]
            rows.append((name, c["cc"], "f", c["address"], c["label"], lo, hi, mapping(c["curve"], lo, hi),
                         int(c["curve"] == "log")))
        elif c["type"] == "i" and (c["lo"], c["hi"]) == (0, 1):
            rows.append((name, c["cc"], "t", c["address"], c["label"], 0, 1, None, 0))
        else:  # a button: no argument, or a preset's fixed one
            rows.append((name, c["cc"], "b", c["address"], c["label"], 0, 0, c["value"], 0))
    return rows


# this patch's own monitor, on the encoders after the service's (slot name, CC, kind, key, label, range,
# mapping, hsl log); kind l = local
LOCAL = [
    ("monitor", 5, "l", "monitor", "monitor volume", 0, 1, mapping("amp", 0, 1), 0),
    ("filter", 6, "l", "filter", "monitor filter Hz", 60, 18000, mapping("log", 60, 18000), 1),
]

# (slot name, default CC, kind, OSC address or local key, label, range low, high, mapping of x = CC/127, hsl log)
#   kind: f = float control (slider), t = toggle (0/1), b = trigger (bang), l = local (this patch's monitor);
#   in the controller's order (a BCF2000 in preset 1: faders CC 81-88, encoders CC 1-8, buttons CC 65-80)
CONTROLS = sorted(service_controls() + LOCAL, key=lambda c: (c[1] < 81, c[1] >= 65, c[1]))
SLOT = {c[0]: k + 1 for k, c in enumerate(CONTROLS)}  # slot numbers start at 1 (0 = CC unmapped)
STATUS = "f f f s f f f f f"  # /immersions/status: fps steps xruns target loops playing volume subscribers seconds


def esc(text: str) -> str:
    """Pd's file escaping for box text: $ -> \\$, ; -> \\;, , -> \\, (spaces stay separators)."""
    text = text.replace("$", "\\$")
    return re.sub(r" ?([;,])", r" \\\1", text)


def label(text: str) -> str:
    """An iemgui/atom label: spaces escaped; none is 'empty'."""
    return text.replace(" ", "\\ ") if text else "empty"


class Canvas:
    """One Pd canvas: boxes are numbered in creation order; connect() takes those numbers."""

    def __init__(self, header: str):
        self.header = header
        self.records: list[str] = []
        self.n = 0
        self.connects: list[tuple[int, int, int, int]] = []

    def _box(self, record: str) -> int:
        self.records.append(record)
        self.n += 1
        return self.n - 1

    def obj(self, x, y, text):
        return self._box(f"#X obj {x} {y} {esc(text)}")

    def msg(self, x, y, text):
        return self._box(f"#X msg {x} {y} {esc(text)}")

    def text(self, x, y, text, width=None):
        return self._box(f"#X text {x} {y} {esc(text)}" + (f", f {width}" if width else ""))

    def floatatom(self, x, y, width, name="-", receive="-"):
        return self._box(f"#X floatatom {x} {y} {width} 0 0 2 {label(name)} {esc(receive)} - 0")

    def symbolatom(self, x, y, width, name="-", receive="-"):
        return self._box(f"#X symbolatom {x} {y} {width} 0 0 2 {label(name)} {esc(receive)} - 0")

    def hsl(self, x, y, low, high, log, send, receive, name):
        return self._box(f"#X obj {x} {y} hsl 160 15 {low} {high} {log} 0 {esc(send)} {esc(receive)} "
                         f"{label(name)} 166 8 0 10 #fcfcfc #000000 #000000 0 1")

    def tgl(self, x, y, send, receive, name, init=0):
        return self._box(f"#X obj {x} {y} tgl 15 0 {esc(send)} {esc(receive)} {label(name)} 21 8 0 10 "
                         f"#fcfcfc #000000 #000000 {init} 1")

    def bng(self, x, y, send, receive, name, size=15):
        return self._box(f"#X obj {x} {y} bng {size} 250 50 0 {esc(send)} {esc(receive)} {label(name)} "
                         f"{size + 6} 8 0 10 #fcfcfc #000000 #000000")

    def sub(self, x, y, name, canvas: "Canvas"):
        """A subpatch [pd name]: its canvas, then #X restore (one box of this canvas)."""
        return self._box("\n".join(r + ";" for r in canvas.lines()) + f"\n#X restore {x} {y} {name}")

    def graph(self, x, y, array, size, w, h, top):
        return self._box(f"#N canvas 0 0 450 300 (subpatch) 0;\n#X array {array} {size} float 2;\n"
                         f"#X coords 0 {top} {size} 0 {w} {h} 1 0 0;\n#X restore {x} {y} graph")

    def connect(self, a, outlet, b, inlet=0):
        self.connects.append((a, outlet, b, inlet))

    def chain(self, *boxes):
        for a, b in zip(boxes, boxes[1:]):
            self.connect(a, 0, b, 0)
        return boxes[-1]

    def lines(self) -> list[str]:
        return [self.header] + self.records + [f"#X connect {a} {o} {b} {i}" for a, o, b, i in self.connects]


def osc_words(address: str) -> str:
    return " ".join(address.strip("/").split("/"))


NAMES = "list store " + " ".join(name for name, *_ in CONTROLS)  # [get N 1( on it: the name of slot N + 1


def verbose_print(c: Canvas, source, outlet, x, y, printer):
    """source's outlet -> [spigot] at x, y, open while $0-verbose is 1 -> [print printer]."""
    gate = c.obj(x, y, "spigot")
    c.connect(source, outlet, gate)
    c.connect(c.obj(x + 60, y - 25, "r $0-verbose"), 0, gate, 1)
    c.connect(gate, 0, c.obj(x, y + 25, f"print {printer}"))


def slot_name(c: Canvas, source, outlet, x, y):
    """A control slot from source's outlet -> [- 1] -> [get $1 1( -> [list store NAMES]: its name (returned)."""
    minus = c.obj(x, y, "- 1")
    get = c.msg(x, y + 25, "get $1 1")
    names = c.obj(x, y + 50, NAMES)
    c.connect(source, outlet, minus)
    c.chain(minus, get, names)
    return names


def each_cc(c: Canvas, count, reset, x, y):
    """[count( (128) bangs [until] -> [f] counting from what [reset( sets -> [t f f] (returned): every CC number."""
    until = c.obj(x, y, "until")
    counter = c.obj(x, y + 25, "f")
    inc = c.obj(x + 40, y + 50, "+ 1")
    c.chain(count, until, counter, inc)
    c.connect(inc, 0, counter, 1)
    c.connect(reset, 0, counter, 1)
    each = c.obj(x, y + 50, "t f f")
    c.connect(counter, 0, each)
    return each


# --- [pd connection]: the socket, the subscription, the parsed replies ------------------------------------------

def connection() -> Canvas:
    c = Canvas("#N canvas 60 60 900 640 connection 0")
    c.text(10, 10, "One UDP socket: netsend sends to the service and is bound to the listen port "
                   "(connect HOST PORT LISTEN) , so replies and streams come back on its right outlet , once.",
           width=110)
    load = c.obj(10, 60, "loadbang")
    t_load = c.obj(10, 85, "t b b b")
    defaults = c.msg(150, 110, f"{SERVICE[0]} {SERVICE[1]}")
    r_service = c.obj(150, 60, "r immersions-service")
    r_listen = c.obj(330, 60, "r immersions-listen")
    r_myhost = c.obj(500, 60, "r immersions-myhost")
    myhost_default = c.msg(680, 110, "127.0.0.1")
    t_service = c.obj(150, 140, "t b a")
    t_listen = c.obj(330, 140, "t b f")
    v_listen = c.obj(400, 170, "v $0-listen")
    listen_init = c.msg(330, 110, str(LISTEN))
    host_port = c.obj(150, 230, "list prepend")  # right inlet: host port; left: listen -> host port listen
    do_connect = c.obj(10, 170, "t b b b b")
    disconnect = c.msg(200, 200, "disconnect")
    v_listen2 = c.obj(150, 200, "v $0-listen")
    p_connect = c.obj(150, 255, "list prepend connect")
    trim = c.obj(150, 280, "list trim")
    netsend = c.obj(10, 420, "netsend -u -b")
    r_packet = c.obj(330, 330, "r immersions-packet")
    p_send = c.obj(330, 355, "list prepend send")
    trim2 = c.obj(330, 380, "list trim")
    c.connect(load, 0, t_load)
    c.connect(t_load, 2, myhost_default)
    c.connect(myhost_default, 0, r_myhost_store := c.obj(680, 200, "list prepend"), 1)
    c.connect(t_load, 1, listen_init)
    c.connect(listen_init, 0, v_listen)
    c.connect(t_load, 0, defaults)
    c.connect(defaults, 0, t_service)
    c.connect(r_service, 0, t_service)
    c.connect(t_service, 1, host_port, 1)
    c.connect(t_service, 0, do_connect)
    c.connect(r_listen, 0, t_listen)
    c.connect(t_listen, 1, v_listen)
    c.connect(t_listen, 0, do_connect)
    c.connect(r_myhost, 0, r_myhost_store, 1)
    # (re)connect: disconnect, connect host port listen, subscribe now, restart the renewal clock
    c.connect(do_connect, 3, disconnect)
    c.connect(disconnect, 0, netsend)
    c.connect(do_connect, 2, v_listen2)
    c.chain(v_listen2, host_port, p_connect, trim, netsend)
    c.chain(r_packet, p_send, trim2, netsend)
    # subscription, renewed every RENEW_MS
    c.text(500, 230, f"subscribe now and every {RENEW_MS // 1000} s (the service drops subscribers that stop renewing)",
           width=40)
    metro = c.obj(500, 290, f"metro {RENEW_MS}")
    t_sub = c.obj(500, 315, "t b b")
    v_listen3 = c.obj(500, 340, "v $0-listen")
    c.connect(do_connect, 0, metro)
    c.connect(do_connect, 1, t_sub)
    c.connect(metro, 0, t_sub)
    c.connect(t_sub, 0, v_listen3)
    c.connect(v_listen3, 0, r_myhost_store)
    # a service on another machine (--allow-remote) wants /immersions/auth <token> first
    c.text(20, 560, "[; immersions-token TOKEN( : a service on another machine (started with --allow-remote) "
                    "gets /immersions/auth TOKEN before each subscribe", width=60)
    r_token = c.obj(20, 600, "r immersions-token")
    as_list = c.obj(20, 625, "list")  # 'TOKEN' arrives as a selector: now 'list TOKEN'
    t_token = c.obj(20, 650, "t a b")
    c.chain(r_token, as_list, t_token)
    has_token = c.msg(100, 675, "1")
    c.connect(t_token, 1, has_token)
    token_gate = c.obj(200, 650, "spigot")
    c.connect(has_token, 0, token_gate, 1)
    c.connect(t_sub, 1, token_gate)  # before the subscribe
    token = c.obj(200, 675, "list")  # keeps the token (right inlet), a bang sends it on
    c.connect(t_token, 0, token, 1)
    c.connect(token_gate, 0, token)
    c.chain(token, c.obj(200, 700, "oscformat -f s immersions auth"), c.obj(200, 725, "s immersions-packet"))
    sub_args = c.obj(680, 365, "list append summary")
    subscribe = c.obj(680, 390, "oscformat -f sis immersions stream subscribe")
    s_packet = c.obj(680, 415, "s immersions-packet")
    c.chain(r_myhost_store, sub_args, subscribe, s_packet)
    # replies
    parse = c.obj(10, 460, "oscparse")
    trim3 = c.obj(10, 485, "list trim")
    route = c.obj(10, 510, "route immersions")
    out = c.obj(10, 535, "s $0-in")
    c.connect(netsend, 1, parse)
    c.chain(parse, trim3, route, out)
    return c


# --- [pd replies]: status, acks, errors, loops, energy -> displays, toggles, the Pd window -------------------

def replies() -> Canvas:
    c = Canvas("#N canvas 80 80 1000 700 replies 0")
    r_in = c.obj(10, 10, "r $0-in")
    route = c.obj(10, 35, "route status ack error loop summary")
    c.connect(r_in, 0, route)
    # verbose switch: status lines and acks in the Pd window
    r_verbose = c.obj(700, 10, "r immersions-verbose")
    s_verbose = c.obj(700, 35, "s $0-verbose-set")
    c.connect(r_verbose, 0, s_verbose)
    # status
    t_status = c.obj(10, 70, "t a a b")
    unpack = c.obj(10, 130, "unpack " + STATUS)
    c.connect(route, 0, t_status)
    c.connect(t_status, 0, unpack)
    for k, name in enumerate(["fps", "steps", "xruns", "target", "loops", "playing", "volume", "subscribers",
                              "seconds"]):
        s = c.obj(10 + 95 * k, 250, f"s $0-st-{name}")
        c.connect(unpack, k, s)
    # the toggles and the volume slider follow the status (set: nothing is sent back)
    set_play = c.msg(480, 180, "set $1")
    set_volume = c.msg(575, 180, "set $1")
    run_on = c.obj(100, 180, "> 0")
    set_run = c.msg(100, 205, "set $1")
    c.connect(unpack, 5, set_play)
    c.connect(unpack, 6, set_volume)
    c.connect(unpack, 1, run_on)
    c.connect(run_on, 0, set_run)
    c.connect(set_play, 0, c.obj(480, 205, "s $0-play-in"))
    c.connect(set_volume, 0, c.obj(575, 205, "s $0-volume-in"))
    c.connect(set_run, 0, c.obj(100, 230, "s $0-run-in"))
    verbose_print(c, t_status, 1, 200, 100, "immersions-status")
    # watchdog: the first status after silence says "connected", silence says "no status" once
    t_watch = c.obj(420, 70, "t b b b")
    c.connect(t_status, 2, t_watch)
    watchdog = c.obj(560, 100, f"delay {WATCHDOG_MS}")
    connected = c.obj(420, 100, "f 0")
    one = c.msg(500, 100, "1")
    c.connect(t_watch, 2, watchdog)
    c.connect(t_watch, 1, connected)
    c.connect(t_watch, 0, one)
    c.connect(one, 0, connected, 1)
    was = c.obj(420, 125, "sel 0")
    hello = c.msg(420, 150, "connected, status every second")
    c.chain(connected, was, hello, c.obj(420, 175, "print immersions"))
    zero = c.msg(700, 125, "0")
    lost = c.msg(750, 125, f"no status for {WATCHDOG_MS // 1000} s -- is the service running? (retrying)")
    c.connect(watchdog, 0, zero)
    c.connect(watchdog, 0, lost)
    c.connect(zero, 0, connected, 1)
    c.connect(lost, 0, c.obj(750, 150, "print immersions"))
    # acks (verbose), errors (always), new loops (verbose)
    verbose_print(c, route, 1, 10, 300, "immersions-ack")
    c.connect(route, 2, c.obj(200, 300, "print immersions-error"))
    loop = c.obj(400, 300, "route new")
    c.connect(route, 3, loop)
    verbose_print(c, loop, 0, 400, 325, "immersions-loop")
    # energy: one value per layer -> the array on the main canvas (resized to the layer count,
    # its top following the largest energy seen, decaying slowly)
    energy = c.obj(10, 400, "route energy")
    c.connect(route, 4, energy)
    t_energy = c.obj(10, 425, "t b a a")
    c.connect(energy, 0, t_energy)
    length = c.obj(300, 450, "list length")
    n_change = c.obj(300, 475, "change")
    resize = c.msg(300, 525, "resize $1")
    c.connect(t_energy, 2, length)
    t_n = c.obj(300, 500, "t b f f")
    c.chain(length, n_change, t_n)
    c.connect(t_n, 2, resize)
    c.connect(resize, 0, c.obj(300, 550, "s $0-energy"))
    c.connect(length, 0, c.obj(420, 475, "s $0-st-layers"))
    put = c.obj(10, 450, "list prepend 0")
    c.connect(t_energy, 1, put)
    c.connect(put, 0, c.obj(10, 475, "s $0-energy"))
    amax = c.obj(120, 500, "array max $0-energy")
    c.connect(t_energy, 0, amax)
    decay = c.obj(120, 525, "expr max($f1, $f2*0.999)")
    c.connect(amax, 0, decay)
    t_decay = c.obj(120, 550, "t f f")
    c.connect(decay, 0, t_decay)
    c.connect(t_decay, 1, decay, 1)
    top = c.obj(120, 575, "expr ceil(max($f1, 0.25)*4)/4")
    c.connect(t_decay, 0, top)
    top_change = c.obj(120, 600, "change")
    last_top = c.obj(200, 625, "f 1")
    pack = c.obj(120, 650, "pack 1 25")
    c.connect(top, 0, top_change)
    c.connect(top_change, 0, last_top, 1)
    c.connect(top_change, 0, pack)
    c.connect(t_n, 1, pack, 1)  # a new layer count: the same top, the new width
    c.connect(t_n, 0, last_top)
    c.connect(last_top, 0, pack)
    bounds = c.msg(120, 675, "bounds 0 $1 $2 0")
    c.chain(pack, bounds, c.obj(120, 700, "s $0-energy"))
    return c


# --- [pd midi]: CC -> map table -> control slot; learn mode rewrites the table ---------------------------------

def midi() -> Canvas:
    c = Canvas("#N canvas 100 100 1100 720 midi 0")
    c.text(10, 10, "CC -> $0-ccmap[cc] = control slot (0: unmapped) -> that control. Learn: the next CC is "
                   "written into the table for the control being learned (and any other CC that had it is "
                   "cleared: one CC per control , one control per CC).", width=120)
    table = c.obj(10, 60, "table $0-ccmap 128")
    load = c.obj(200, 60, "loadbang")
    defaults = {}
    for name, cc, *_ in CONTROLS:
        defaults[cc] = SLOT[name]
    runs, prev = [], None
    for cc in sorted(defaults):
        if prev is not None and cc == prev + 1:
            runs[-1].append(defaults[cc])
        else:
            runs.append([cc, defaults[cc]])
        prev = cc
    init = c.msg(200, 85, "const 0, " + ", ".join(" ".join(map(str, r)) for r in runs))
    c.chain(load, init, c.obj(200, 110, "s $0-ccmap"))
    # MIDI in (any channel) and the test/automation entry point
    ctlin = c.obj(10, 150, "ctlin")
    pack_cc = c.obj(10, 175, "pack f f")
    swap = c.msg(10, 200, "$2 $1")
    c.connect(ctlin, 0, pack_cc, 1)
    c.connect(ctlin, 1, pack_cc, 0)
    c.chain(pack_cc, swap, c.obj(10, 225, "s immersions-cc"))
    r_cc = c.obj(10, 260, "r immersions-cc")
    split = c.obj(10, 285, "t l l")
    c.connect(r_cc, 0, split)
    normal = c.obj(10, 320, "spigot 1")
    learn = c.obj(300, 320, "spigot 0")
    c.connect(split, 1, normal)  # right outlet first: the normal path sees the CC before learn flips it
    c.connect(split, 0, learn)
    unpack = c.obj(10, 345, "unpack f f")
    lookup = c.obj(10, 370, "tabread $0-ccmap")
    pair = c.obj(10, 395, "pack f f")
    c.connect(normal, 0, unpack)
    c.connect(unpack, 1, pair, 1)
    c.chain(unpack, lookup, pair)
    slots = c.obj(10, 420, "route " + " ".join(str(SLOT[name]) for name, *_ in CONTROLS))
    c.connect(pair, 0, slots)
    for k, (name, cc, kind, *_rest) in enumerate(CONTROLS):
        x, y = 10 + 130 * (k % 8), 470 + 75 * (k // 8)
        s = c.obj(x, y + 25, f"s $0-cc-{name}")
        c.connect(slots, k, s)
    # learn requests: by name ([; immersions-learn volume() or from the learn bangs
    r_learn = c.obj(300, 150, "r immersions-learn")
    by_name = c.obj(300, 175, "route " + " ".join(name for name, *_ in CONTROLS))
    c.connect(r_learn, 0, by_name)
    request = c.obj(700, 200, "s $0-learn")
    for k, (name, *_rest) in enumerate(CONTROLS):
        m = c.msg(300 + 30 * k, 230, str(SLOT[name]))
        c.connect(by_name, k, m)
        c.connect(m, 0, request)
        r_bang = c.obj(10 + 45 * k, 700, f"r $0-learn-{name}")
        c.connect(r_bang, 0, m)
    unknown = c.msg(900, 225, "learn: no control called $1 (immersions-map bang lists them)")
    as_list = c.obj(900, 200, "list")  # 'nope' (a selector) -> 'list nope', so $1 is the name
    c.connect(by_name, len(CONTROLS), as_list)
    c.connect(as_list, 0, unknown)
    c.connect(unknown, 0, c.obj(900, 250, "print immersions"))
    r_request = c.obj(700, 260, "r $0-learn")
    t_req = c.obj(700, 285, "t f f b")
    c.connect(r_request, 0, t_req)
    v_learning = c.obj(800, 310, "v $0-learning")
    c.connect(t_req, 1, v_learning)
    names_a = slot_name(c, t_req, 0, 640, 310)
    tell = c.msg(640, 385, "learn: move the MIDI control for $1 now")
    c.chain(names_a, tell, c.obj(640, 410, "print immersions"))
    one = c.msg(900, 310, "1")
    zero = c.msg(950, 310, "0")
    c.connect(t_req, 2, one)
    c.connect(t_req, 2, zero)
    c.connect(one, 0, learn, 1)
    c.connect(zero, 0, normal, 1)
    # the CC that arrives while learning
    l_unpack = c.obj(300, 345, "unpack f f")
    c.connect(learn, 0, l_unpack)
    t_cc = c.obj(300, 370, "t b f f b")
    c.connect(l_unpack, 0, t_cc)
    # (1) clear every CC that had this control
    t_clear = c.obj(560, 420, "t b b b")
    c.connect(t_cc, 3, t_clear)
    v_l2 = c.obj(640, 445, "v $0-learning")
    c.connect(t_clear, 2, v_l2)
    reset = c.msg(600, 470, "0")
    c.connect(t_clear, 1, reset)
    count = c.msg(560, 445, "128")
    c.connect(t_clear, 0, count)
    t_i = each_cc(c, count, reset, 560, 470)
    read = c.obj(560, 545, "tabread $0-ccmap")
    keep = c.obj(560, 570, "expr if($f1 == $f2, 0, $f1)")
    write = c.obj(560, 595, "tabwrite $0-ccmap")
    c.connect(v_l2, 0, keep, 1)
    c.connect(t_i, 1, write, 1)
    c.chain(t_i, read, keep, write)
    # (2) this CC -> the control
    t_w = c.obj(420, 420, "t b f")
    c.connect(t_cc, 2, t_w)
    write2 = c.obj(420, 470, "tabwrite $0-ccmap")
    v_l3 = c.obj(420, 445, "v $0-learning")
    c.connect(t_w, 1, write2, 1)
    c.chain(t_w, v_l3, write2)
    # (3) say so
    t_say = c.obj(300, 420, "t f b")
    c.connect(t_cc, 1, t_say)
    v_l4 = c.obj(330, 445, "v $0-learning")
    c.connect(t_say, 1, v_l4)
    names_b = slot_name(c, v_l4, 0, 330, 470)
    say = c.obj(300, 545, "list append")
    c.connect(names_b, 0, say, 1)
    c.connect(t_say, 0, say)
    said = c.msg(300, 570, "CC $1 now controls $2")
    c.chain(say, said, c.obj(300, 595, "print immersions"))
    # (4) back to playing
    back_learn = c.msg(200, 420, "0")
    back_normal = c.msg(240, 420, "1")
    c.connect(t_cc, 0, back_learn)
    c.connect(t_cc, 0, back_normal)
    c.connect(back_learn, 0, learn, 1)
    c.connect(back_normal, 0, normal, 1)
    # the map, printed on [; immersions-map bang(
    r_map = c.obj(800, 420, "r immersions-map")
    t_map = c.obj(800, 445, "t b b")
    c.connect(r_map, 0, t_map)
    m_count = c.msg(800, 470, "128")
    m_reset = c.msg(850, 470, "0")
    c.connect(t_map, 1, m_reset)
    c.connect(t_map, 0, m_count)
    m_t = each_cc(c, m_count, m_reset, 800, 495)
    m_read = c.obj(800, 570, "tabread $0-ccmap")
    m_moses = c.obj(800, 595, "moses 1")
    c.chain(m_t, m_read, m_moses)
    m_names = slot_name(c, m_moses, 1, 860, 620)
    m_prepend = c.obj(860, 695, "list prepend")
    c.connect(m_t, 1, m_prepend, 1)
    c.connect(m_names, 0, m_prepend)
    m_say = c.msg(860, 720, "CC $1 -> $2")
    c.chain(m_prepend, m_say, c.obj(860, 745, "print immersions-map"))
    return c


# --- [pd controls]: each control's value -> OSC (or the local monitor) ----------------------------------------

def controls() -> Canvas:
    c = Canvas("#N canvas 120 120 1200 560 controls 0")
    c.text(10, 10, "CC 0..127 -> the control's range (as in the SuperCollider patch) -> its slider/toggle/bang "
                   "on the main canvas , which sends -> oscformat -> the service.", width=120)
    for k, (name, cc, kind, address, _lbl, low, high, mapping, log) in enumerate(CONTROLS):
        x, y = 10 + 190 * (k % 6), 60 + 120 * (k // 6)
        r_cc = c.obj(x, y, f"r $0-cc-{name}")
        if kind in "fl":
            scale = c.obj(x, y + 22, f"expr {mapping}")
            c.chain(r_cc, scale, c.obj(x, y + 44, f"s $0-{name}-in"))
        elif kind == "t":
            press = c.obj(x, y + 22, "sel 0")
            flip = c.msg(x + 50, y + 44, "bang")
            c.connect(r_cc, 0, press)
            c.connect(press, 1, flip)
            c.connect(flip, 0, c.obj(x, y + 66, f"s $0-{name}-in"))
        else:
            press = c.obj(x, y + 22, "sel 0")
            c.connect(r_cc, 0, press)
            c.connect(press, 1, c.obj(x, y + 44, f"s $0-{name}-in"))
        if kind == "l":
            continue  # the monitor in [pd audio] listens to $0-monitor / $0-filter itself
        r_gui = c.obj(x + 100, y, f"r $0-{name}")
        # a slider's float, a toggle's int; a bang sends its start clip (a string) or no argument
        if kind in "ft":
            arg, types = None, {"f": "-f f ", "t": "-f i "}[kind]
        elif mapping:
            arg, types = c.msg(x + 100, y + 66, f"list {mapping}"), "-f s "
        else:
            arg, types = c.msg(x + 100, y + 66, "list"), ""
        fmt = c.obj(x + 100, y + 88, f"oscformat {types}{osc_words(address)}")
        if arg is None:
            c.connect(r_gui, 0, fmt)
        else:
            c.chain(r_gui, arg, fmt)
        c.connect(fmt, 0, c.obj(x + 100, y + 110, "s immersions-packet"))
    return c


# --- [pd audio]: adc~ -> monitor -> dac~ ---------------------------------------------------------------------

def audio() -> Canvas:
    c = Canvas("#N canvas 140 140 640 420 audio 0")
    c.text(10, 10, "The loop comes in on input 1 (JACK: immersions:out -> pure_data:input_1 ; macOS/Windows: "
                   "the loopback device the service plays to , chosen as Pd's input device). Monitor: filter , "
                   "volume , both outputs. Use [r~ immersions-loop] anywhere for the loop itself.", width=90)
    adc = c.obj(10, 80, "adc~ 1")
    c.connect(adc, 0, c.obj(200, 110, "s~ immersions-loop"))
    lop = c.obj(10, 110, "lop~ 18000")
    r_filter = c.obj(100, 80, "r $0-filter")
    c.connect(r_filter, 0, lop, 1)
    c.connect(adc, 0, lop)
    mul = c.obj(10, 160, "*~")
    r_mon = c.obj(100, 110, "r $0-monitor")
    line = c.obj(100, 135, "pack f 50")
    line2 = c.obj(100, 160, "line~")
    c.chain(r_mon, line, line2)
    c.connect(lop, 0, mul)
    c.connect(line2, 0, mul, 1)
    dac = c.obj(10, 200, "dac~ 1 2")
    c.connect(mul, 0, dac)
    c.connect(mul, 0, dac, 1)
    load = c.obj(450, 60, "loadbang")
    t_load = c.obj(450, 85, "t b b")
    monitor = c.msg(450, 110, "0.8")
    cutoff = c.msg(500, 110, "18000")
    c.connect(load, 0, t_load)
    c.connect(t_load, 1, monitor)
    c.connect(t_load, 0, cutoff)
    c.connect(monitor, 0, c.obj(450, 135, "s $0-monitor-in"))  # through the sliders: they show it
    c.connect(cutoff, 0, c.obj(500, 160, "s $0-filter-in"))
    env = c.obj(300, 110, "env~ 4096")
    minus = c.obj(300, 135, "- 100")
    c.connect(adc, 0, env)
    c.chain(env, minus, c.obj(300, 160, "s $0-st-level"))
    return c


def patch() -> str:
    main = Canvas("#N canvas 40 40 1060 850 12")
    main.text(20, 10, "Immersions -- Pure Data client. Sliders , toggles and bangs control the service "
                      "(immersions-osc serve , OSC on UDP 57130) ; any MIDI controller plays them (default: "
                      "Behringer BCF2000 preset 1 ; learn: click a control's L , move a knob). The play and run "
                      "toggles and the volume follow the service's status.", width=140)
    main.text(20, 75, "Another machine or port: [; immersions-service 192.168.1.20 57130( , "
                      "[; immersions-listen 57140( , [; immersions-myhost 192.168.1.30( (this computer as the "
                      "service sees it) , [; immersions-token TOKEN( (its --allow-remote token). Print status and "
                      "acks: [; immersions-verbose 1(. See README.md.", width=140)
    # controls: one row each, learn bang (L) on the left
    main.text(20, 135, "L = learn (click, then move a MIDI control) / control (default CC)", width=80)
    y0 = 160
    for k, (name, cc, kind, address, lbl, low, high, mapping, log) in enumerate(CONTROLS):
        col, row = k // 12, k % 12
        x, y = 20 + 360 * col, y0 + 24 * row
        main.bng(x, y, f"$0-learn-{name}", "empty", "", size=13)
        text = f"{lbl} ({cc})"
        if kind in "fl":
            main.hsl(x + 24, y, low, high, log, f"$0-{name}", f"$0-{name}-in", text)
        elif kind == "t":
            main.tgl(x + 24, y, f"$0-{name}", f"$0-{name}-in", text, init=0)
        else:
            main.bng(x + 24, y, f"$0-{name}", f"$0-{name}-in", text)
    # status
    sy = y0 + 24 * 12 + 20
    main.text(20, sy, "from the service: status once a second , per-layer energy per frame", width=80)
    fields = [("frames/s", "fps", 6), ("steps/s", "steps", 6), ("xruns", "xruns", 5), ("loops", "loops", 5),
              ("subscribers", "subscribers", 3), ("seconds up", "seconds", 7)]
    for k, (lbl, name, w) in enumerate(fields):
        main.floatatom(20 + 120 * k, sy + 45, w, lbl, f"$0-st-{name}")
    main.symbolatom(20, sy + 95, 40, "target", "$0-st-target")
    main.floatatom(420, sy + 95, 4, "layers", "$0-st-layers")
    main.text(500, sy + 80, "energy of each layer (shallow -> deep)", width=40)
    main.graph(500, sy + 100, "$0-energy", 25, 300, 100, 2)
    # audio
    ay = sy + 220
    main.text(20, ay, "audio in: [adc~ 1] -> monitor (filter , volume above) -> [dac~]. DSP:", width=70)
    main.msg(560, ay, "; pd dsp 1")
    main.msg(640, ay, "; pd dsp 0")
    main.floatatom(720, ay, 5, "input dB", "$0-st-level")
    main.sub(20, ay + 40, "pd audio", audio())
    main.sub(120, ay + 40, "pd connection", connection())
    main.sub(250, ay + 40, "pd replies", replies())
    main.sub(360, ay + 40, "pd midi", midi())
    main.sub(450, ay + 40, "pd controls", controls())
    main.tgl(580, ay + 40, "$0-verbose", "$0-verbose-set", "print status and acks")
    main.text(20, ay + 80, "Learn from a message: [; immersions-learn filter( then move a knob. The map: "
                           "[; immersions-map bang(. Without MIDI: [; immersions-cc 81 100( is fader 1 at 100.",
              width=140)
    return "\n".join(r + ";" for r in main.lines()) + "\n"


def main():
    with open(os.path.join(HERE, "immersions.pd"), "w") as f:
        f.write(patch())


if __name__ == "__main__":
    main()
