"""Writes the Pure Data library folder immersions_osc/clients/pd/immersions/: the abstraction
immersions.pd, immersions-help.pd, immersions-meta.pd, README.txt and LICENSE.txt (a deken layout).

The patches are ordinary Pd (open them, edit them, save them); they are written by this script so that
the abstraction's ~400 boxes and connections are named instead of numbered, and a test
(tests/test_clients_static.py) checks that the committed files are what this script writes.
Run it after editing:  python immersions_osc/clients/pd/make_pd_patch.py

What [immersions HOST PORT LISTEN] does (the user's view is in docs/clients.md, "Pure Data"):

* its creation arguments are read with [pdcontrol] once it has loaded (missing ones take the
  defaults), and only then does its one UDP socket, ``[netsend -u -b]``, connect to the service *and
  bind the listen port* (``connect HOST PORT LISTEN``): nothing binds a default port first.  The
  subscription names that port, so every reply, ack and stream message arrives exactly once, on
  netsend's right outlet;
* every name inside is ``$0``-local (the CC map, the GUI's send/receive names, the packets), so any
  number of instances run side by side; messages come in through its inlet (connect, myhost, token,
  verbose, learn, map, cc, midi), the service's replies go out of its right outlet;
* the subscription is renewed every 5 s (the service forgets subscribers that stop renewing)
  (Pd 0.53 has no [closebang] to unsubscribe on close: the subscription simply expires);
* every control has a slider, toggle or bang (click it, or move a MIDI control), a ``learn``
  bang next to it, and the map CC -> control is a table that learn mode rewrites, as in the
  SuperCollider client;
* the play and run toggles and the volume slider follow ``/immersions/status`` (``set``: no
  message goes back to the service);
* ``[adc~ 1]``: the loop, from JACK or from a loopback device, through a monitor volume and filter
  to the left outlet, with its level.
"""
from __future__ import annotations

import os
import re

from immersions_osc.clients.table import midi_controls

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = ("127.0.0.1", 57130)
LISTEN = 57132
VERSION = "0.2.0"  # the library's version (deken's metadata)
RENEW_MS = 5000  # subscription renewal period (the service drops subscribers silent for longer than its TTL)
WATCHDOG_MS = 3000  # no status for this long: "no status" once, and the toggles stop following



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
    rows = []
    for c in midi_controls():
        if c.kind == "f":
            rows.append((c.name, c.cc, "f", c.address, c.label, c.lo, c.hi, mapping(c.curve, c.lo, c.hi),
                         int(c.curve == "log")))
        elif c.kind == "t":
            rows.append((c.name, c.cc, "t", c.address, c.label, 0, 1, None, 0))
        else:  # a button: no argument, or a preset's fixed one
            rows.append((c.name, c.cc, "b", c.address, c.label, 0, 0, c.value, 0))
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
    # The creation arguments (host, port, listen port; any left out take the defaults), read with
    # [pdcontrol] once the abstraction has loaded, are what the socket binds: nothing binds before
    # them.  A 'connect host port [listen]' message into the inlet goes through the same filler.
    load = c.obj(10, 60, "loadbang")
    t_load = c.obj(10, 85, "t b b")
    args = c.msg(10, 110, "args")
    pdcontrol = c.obj(10, 135, "pdcontrol")
    r_connect = c.obj(150, 110, "r $0-connect")
    given = c.obj(10, 160, "list")  # a bang (no arguments) or 'symbol h' -> a list
    t_fill = c.obj(10, 185, "t b a a")
    count = c.obj(250, 210, "list length")
    at_most = c.obj(250, 235, "clip 0 3")
    defaults = c.msg(10, 210, f"list {SERVICE[0]} {SERVICE[1]} {LISTEN}")
    rest = c.obj(10, 260, "list split 0")  # middle outlet: the defaults after the given arguments
    filled = c.obj(130, 285, "list prepend")
    t_args = c.obj(130, 310, "t b a")
    unpack_args = c.obj(130, 335, "unpack s f f")
    host_port_pack = c.obj(150, 360, "pack s f")
    c.chain(load, t_load)
    c.chain(args, pdcontrol, given, t_fill)
    c.connect(t_load, 0, args)
    c.connect(r_connect, 0, given)
    c.connect(t_fill, 2, count)
    c.chain(count, at_most)
    c.connect(at_most, 0, rest, 1)
    c.connect(t_fill, 1, filled, 1)
    c.connect(t_fill, 0, defaults)
    c.connect(defaults, 0, rest)
    c.connect(rest, 1, filled)
    c.connect(filled, 0, t_args)
    c.connect(t_args, 1, unpack_args)
    r_myhost = c.obj(500, 60, "r $0-myhost")
    myhost_default = c.msg(680, 110, "127.0.0.1")
    v_listen = c.obj(400, 385, "v $0-listen")
    host_port = c.obj(150, 410, "list prepend")  # right inlet: host port; left: listen -> host port listen
    do_connect = c.obj(10, 410, "t b b b")
    disconnect = c.msg(200, 435, "disconnect")
    v_listen2 = c.obj(150, 435, "v $0-listen")
    p_connect = c.obj(150, 460, "list prepend connect")
    trim = c.obj(150, 485, "list trim")
    netsend = c.obj(10, 620, "netsend -u -b")
    r_packet = c.obj(330, 530, "r $0-packet")
    p_send = c.obj(330, 555, "list prepend send")
    trim2 = c.obj(330, 580, "list trim")
    c.connect(t_load, 1, myhost_default)
    c.connect(myhost_default, 0, r_myhost_store := c.obj(680, 200, "list prepend"), 1)
    c.connect(unpack_args, 2, v_listen)
    c.connect(unpack_args, 1, host_port_pack, 1)
    c.connect(unpack_args, 0, host_port_pack)
    c.connect(host_port_pack, 0, host_port, 1)
    c.connect(t_args, 0, do_connect)
    c.connect(r_myhost, 0, r_myhost_store, 1)
    # (re)connect: disconnect, connect host port listen, subscribe now, restart the renewal clock
    c.connect(do_connect, 2, disconnect)
    c.connect(disconnect, 0, netsend)
    c.connect(do_connect, 1, v_listen2)
    c.chain(v_listen2, host_port, p_connect, trim, netsend)
    c.chain(r_packet, p_send, trim2, netsend)
    # subscription, renewed every RENEW_MS
    c.text(500, 230, f"subscribe now and every {RENEW_MS // 1000} s (the service drops subscribers that stop renewing)",
           width=40)
    metro = c.obj(500, 290, f"metro {RENEW_MS}")
    t_sub = c.obj(500, 315, "t b b")
    v_listen3 = c.obj(500, 340, "v $0-listen")
    c.connect(do_connect, 0, metro)  # a [metro] bangs as it starts: the first subscribe is now, once
    c.connect(metro, 0, t_sub)
    c.connect(t_sub, 0, v_listen3)
    c.connect(v_listen3, 0, r_myhost_store)
    # a service on another machine (--allow-remote) wants /immersions/auth <token> first
    c.text(20, 760, "'token TOKEN' into the inlet: a service on another machine (started with --allow-remote) "
                    "gets /immersions/auth TOKEN before each subscribe (and a subscribe at once)", width=60)
    r_token = c.obj(20, 800, "r $0-token")
    as_list = c.obj(20, 625, "list")  # 'TOKEN' arrives as a selector: now 'list TOKEN'
    t_token = c.obj(20, 850, "t b a b")
    c.chain(r_token, as_list, t_token)
    c.connect(t_token, 0, t_sub)  # the token is set: auth + subscribe now, not at the next renewal
    has_token = c.msg(100, 675, "1")
    c.connect(t_token, 2, has_token)
    token_gate = c.obj(200, 650, "spigot")
    c.connect(has_token, 0, token_gate, 1)
    c.connect(t_sub, 1, token_gate)  # before the subscribe
    token = c.obj(200, 675, "list")  # keeps the token (right inlet), a bang sends it on
    c.connect(t_token, 1, token, 1)
    c.connect(token_gate, 0, token)
    c.chain(token, c.obj(200, 700, "oscformat -f s immersions auth"), c.obj(200, 725, "s $0-packet"))
    sub_args = c.obj(680, 365, "list append summary")
    subscribe = c.obj(680, 390, "oscformat -f sis immersions stream subscribe")
    s_packet = c.obj(680, 415, "s $0-packet")
    c.chain(r_myhost_store, sub_args, subscribe, s_packet)
    # replies
    parse = c.obj(10, 660, "oscparse")
    trim3 = c.obj(10, 685, "list trim")
    route = c.obj(10, 710, "route immersions")
    out = c.obj(10, 735, "s $0-in")
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
    r_verbose = c.obj(700, 10, "r $0-verbose-in")
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
    c.obj(10, 60, "table $0-ccmap 128")
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
    midi_on = c.obj(10, 225, "spigot 1")  # 'midi 0': this instance ignores [ctlin] (feed it 'cc N V' instead)
    c.connect(c.obj(80, 200, "r $0-midi"), 0, midi_on, 1)
    c.chain(pack_cc, swap, midi_on, c.obj(10, 250, "s $0-cc"))
    r_cc = c.obj(10, 260, "r $0-cc")
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
    # learn requests: by name ('learn volume' into the inlet) or from the learn bangs
    r_learn = c.obj(300, 150, "r $0-learnname")
    by_name = c.obj(300, 175, "route " + " ".join(name for name, *_ in CONTROLS))
    c.connect(r_learn, 0, by_name)
    request = c.obj(700, 200, "s $0-learn")
    for k, (name, *_rest) in enumerate(CONTROLS):
        m = c.msg(300 + 30 * k, 230, str(SLOT[name]))
        c.connect(by_name, k, m)
        c.connect(m, 0, request)
        r_bang = c.obj(10 + 45 * k, 700, f"r $0-learn-{name}")
        c.connect(r_bang, 0, m)
    unknown = c.msg(900, 225, "learn: no control called $1 ('map' lists them)")
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
    # the map, printed on 'map' into the inlet
    r_map = c.obj(800, 420, "r $0-map")
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
        c.connect(fmt, 0, c.obj(x + 100, y + 110, "s $0-packet"))
    return c


# --- [pd audio]: adc~ -> monitor -> dac~ ---------------------------------------------------------------------

def audio() -> Canvas:
    c = Canvas("#N canvas 140 140 640 420 audio 0")
    c.text(10, 10, "The loop comes in on input 1 (JACK: immersions:out -> pure_data:input_1 ; macOS/Windows: "
                   "the loopback device the service plays to , chosen as Pd's input device). Monitor: filter , "
                   "volume -> the abstraction's left outlet (connect it to [dac~]).", width=90)
    adc = c.obj(10, 80, "adc~ 1")
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
    c.connect(mul, 0, c.obj(10, 200, "s~ $0-out"))  # -> [outlet~] on the main canvas
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


# messages into the inlet -> the $0- name that handles them inside (one set per instance: nothing global)
INLET = [("connect", "$0-connect"), ("myhost", "$0-myhost"), ("token", "$0-token"), ("verbose", "$0-verbose-in"),
         ("learn", "$0-learnname"), ("map", "$0-map"), ("cc", "$0-cc"), ("midi", "$0-midi")]
HELP_LISTEN = 57136  # the help patch's instance: opening it beside your patch binds no port of yours


def patch() -> str:
    main = Canvas("#N canvas 40 40 1060 850 12")
    main.text(20, 10, "[immersions HOST PORT LISTEN] -- the Immersions service from Pure Data. Sliders , toggles "
                      "and bangs control the service (immersions-osc serve , OSC on UDP 57130) ; any MIDI "
                      "controller plays them (default: Behringer BCF2000 preset 1 ; learn: click a control's L , "
                      "move a knob). The play and run toggles and the volume follow the service's status.", width=140)
    main.text(20, 75, f"Arguments: the service's host and port , this instance's UDP listen port (defaults "
                      f"{SERVICE[0]} {SERVICE[1]} {LISTEN} ; bound only once they are read). Every name inside is "
                      "local ($0): instances never share a map or a socket. Inlet: connect HOST PORT [LISTEN] , "
                      "myhost ADDRESS , token TOKEN , verbose 0/1 , learn NAME , map , cc NUMBER VALUE , midi 0/1. "
                      "Outlets: the loop (signal) , every reply of the service.", width=140)
    # the inlet: each message to its local receiver; the outlets: the monitored loop and the replies
    inlet = main.obj(900, 10, "inlet")
    words = main.obj(900, 35, "route " + " ".join(w for w, _ in INLET))
    main.connect(inlet, 0, words)
    for k, (_, name) in enumerate(INLET):
        main.connect(words, k, main.obj(900 + 0 * k, 60 + 22 * k, f"s {name}"))
    unknown = main.obj(1000, 60, "list prepend unknown message:")
    main.connect(words, len(INLET), unknown)
    main.connect(unknown, 0, main.obj(1000, 85, "print immersions"))
    main.connect(main.obj(20, 820, "r~ $0-out"), 0, main.obj(20, 845, "outlet~"))
    main.connect(main.obj(200, 820, "r $0-in"), 0, main.obj(200, 845, "outlet"))
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
    main.text(20, ay, "audio in: [adc~ 1] -> monitor (filter , volume above) -> the left outlet. DSP:", width=70)
    main.msg(560, ay, "; pd dsp 1")
    main.msg(640, ay, "; pd dsp 0")
    main.floatatom(720, ay, 5, "input dB", "$0-st-level")
    main.sub(20, ay + 40, "pd audio", audio())
    main.sub(120, ay + 40, "pd connection", connection())
    main.sub(250, ay + 40, "pd replies", replies())
    main.sub(360, ay + 40, "pd midi", midi())
    main.sub(450, ay + 40, "pd controls", controls())
    main.tgl(580, ay + 40, "$0-verbose", "$0-verbose-set", "print status and acks")
    return "\n".join(r + ";" for r in main.lines()) + "\n"


def help_patch() -> str:
    """immersions-help.pd: what Pd opens on right-click > Help over [immersions]."""
    h = Canvas("#N canvas 60 60 900 640 12")
    h.text(20, 10, "[immersions] -- play the Immersions service (immersions-osc serve) from Pure Data: its "
                   "controls , MIDI with learn mode , its status and the loop.", width=110)
    h.text(20, 60, f"Arguments: HOST PORT LISTEN -- the service's address and port , and the UDP port this "
                   f"instance listens on (defaults {SERVICE[0]} {SERVICE[1]} {LISTEN}). One listen port per "
                   f"instance: this help listens on {HELP_LISTEN} , so it runs beside your patch. Click the "
                   "object to open its sliders.", width=110)
    imm = h.obj(20, 420, f"immersions {SERVICE[0]} {SERVICE[1]} {HELP_LISTEN}")
    for k, text in enumerate(["verbose 1", "learn volume", "learn learning_rate", "map", "cc 81 100",
                              "midi 0", "midi 1"]):
        h.connect(h.msg(20 + 130 * (k % 4), 150 + 35 * (k // 4), text), 0, imm)
    h.text(20, 230, "learn NAME: the next CC moved takes over that control (its old CC is freed). map: the map in "
                    "the Pd window. cc 81 100: what fader 1 at 100 does (no controller needed). midi 0: ignore "
                    "[ctlin] (feed 'cc' yourself).", width=110)
    for k, text in enumerate(["connect 127.0.0.1 57130 57140", "myhost 192.168.1.30", "token TOKEN"]):
        h.connect(h.msg(20 + 260 * k, 300, text), 0, imm)
    h.text(20, 330, "connect: another service (or listen port) ; myhost: this computer as the service sees it ; "
                    "token: a service started with --allow-remote (sent as /immersions/auth before each subscribe).",
           width=110)
    h.text(20, 380, "Controls by name , with their default CC: " + " , ".join(
        f"{name} ({cc})" for name, cc, *_ in CONTROLS), width=110)
    gain = h.obj(20, 470, "*~ 0.8")
    dac = h.obj(20, 500, "dac~ 1 2")
    h.connect(imm, 0, gain)
    h.connect(gain, 0, dac)
    h.connect(gain, 0, dac, 1)
    h.msg(120, 500, "; pd dsp 1")
    replies = h.obj(300, 470, "route status ack error")
    h.connect(imm, 1, replies)
    h.connect(replies, 1, h.obj(300, 500, "print immersions-help-ack"))
    h.text(20, 540, "Left outlet: the loop from audio input 1 (JACK: immersions:out -> pure_data:input_1 ; "
                    "macOS / Windows: the loopback device as Pd's input) through the monitor filter and volume. "
                    "Right outlet: every message from the service (status , ack , error , loop , summary).", width=110)
    return "\n".join(r + ";" for r in h.lines()) + "\n"


def meta_patch(version: str) -> str:
    """immersions-meta.pd: deken's metadata patch (name, version, licence) in the library folder."""
    m = Canvas("#N canvas 0 0 400 200 12")
    m.text(10, 10, "The metadata of the immersions library (deken).", width=50)
    m.records.append("#N canvas 10 40 300 150 META 0")
    meta = ["#X text 10 10 NAME immersions", f"#X text 10 30 VERSION {version}",
            "#X text 10 50 AUTHOR Immersions", "#X text 10 70 LICENSE MIT",
            "#X text 10 90 DESCRIPTION Play the Immersions service (OSC) from Pd"]
    m.records.extend(meta)
    m.records.append("#X restore 10 40 pd META")
    return "\n".join(r + ";" for r in m.lines()) + "\n"


README = """immersions -- a Pure Data abstraction for the Immersions service
================================================================

[immersions HOST PORT LISTEN] talks to the Immersions service (immersions-osc serve): its controls
as sliders, toggles and bangs, any MIDI controller with a learn mode, the service's status and
per-layer energy, and the loop (from an audio input) out of its left outlet. Every name inside is
local ($0), so any number of instances run side by side, each with its own listen port and map.

Install: add this folder to Pd's search path (Preferences > Path), or copy it into your externals
folder (~/Documents/Pd/externals) and add 'immersions' to the path. Right-click the object > Help.
Get this folder from the installed package:  immersions-osc clients export DIR --host pd

Requires Pd vanilla 0.51 or newer ([oscformat], [oscparse], [pdcontrol], [list split]).
Generated from the service's controls table (immersions_osc/clients/pd/make_pd_patch.py).
Licence: MIT (LICENSE.txt).
"""


def files() -> dict[str, str]:
    """Every file of the library folder immersions/, by name."""
    # the repository's LICENSE; run from an installed package (no repository around), the copy already here
    repo_licence = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "LICENSE")
    path = repo_licence if os.path.exists(repo_licence) else os.path.join(HERE, "immersions", "LICENSE.txt")
    with open(path, encoding="utf-8") as f:
        licence = f.read()
    return {"immersions.pd": patch(), "immersions-help.pd": help_patch(), "immersions-meta.pd": meta_patch(VERSION),
            "README.txt": README, "LICENSE.txt": licence}


def main():
    for name, text in files().items():
        with open(os.path.join(HERE, "immersions", name), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
