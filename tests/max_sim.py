"""A small interpreter for the Max objects the bundled [immersions] abstraction uses, so its logic
(MIDI learn, the CC mappings, toggles following the status, the subscription) runs in tests where
Max cannot.  It follows Max's documented message rules: outlets fire right to left, an outlet
feeding several cords delivers to the rightmost destination first, left inlets are hot and the
others cold.  It knows only these objects; anything else is an error, so the patch cannot quietly
use something the simulation does not model.

Names follow Max's rules for abstractions: ``#0`` in an object's arguments is replaced by a number unique to
the instance; ``---`` is replaced by a number unique to the device only inside a Max for Live device
(``Sim(..., m4l_device=True)``), and is otherwise an ordinary name.  Named colls are shared by every coll of
the same (resolved) name in a :class:`World` -- the Max application several instances run in -- so a map
named ``---ccmap`` in plain Max is one map for every instance.  A World also knows which UDP ports are
bound: binding one twice is recorded as Max would print it.

Messages are lists of atoms (int, float, str): ``["bang"]``, ``[3]``, ``[0.5]``, ``["volume", 0.8]``,
``["symbol", "foo"]``, ``["list", 1, 2]`` (a list starting with a number needs no ``"list"``).
"""
from __future__ import annotations

import json
import math
import re
from collections import defaultdict


def atom(word: str):
    try:
        return int(word)
    except ValueError:
        pass
    try:
        return float(word)
    except ValueError:
        return word


def parse(text: str) -> list:
    return [atom(w) for w in text.split()]


def body(msg: list) -> list:
    """The message without a leading 'list'/'symbol'/'int'/'float' selector."""
    return msg[1:] if msg and msg[0] in ("list", "symbol", "int", "float") else msg


def is_bang(msg):
    return msg == ["bang"] or msg == []


class World:
    """One Max: what its instances share (named colls) and the UDP ports bound in it."""

    def __init__(self):
        self.colls = defaultdict(dict)
        self.ports = {}  # port -> the Sim that bound it
        self.bind_errors = []  # (port, the Sim that failed), as Max prints "udpreceive: bind failed"
        self._ids = iter(range(1001, 100000))

    def next_id(self):
        return next(self._ids)


class Box:
    def __init__(self, sim, box):
        self.sim, self.box, self.id = sim, box, box["id"]
        self.text = box.get("text", "")
        words = self.text.split()
        self.name = words[0] if words and box["maxclass"] == "newobj" else box["maxclass"]
        self.args = [atom(sim.resolve(w)) for w in words[1:]] if box["maxclass"] == "newobj" else []
        self.x = box["patching_rect"][0]
        self.state = {}

    def out(self, outlet, msg):
        self.sim.emit(self, outlet, list(msg))


class Sim:
    def __init__(self, path: str, instance_args: str = "", subpatcher: str = "", world: World | None = None,
                 m4l_device: bool = False, text: str | None = None):
        self.world = world or World()
        self.instance = self.world.next_id()  # what #0 becomes in this instance
        self.device = self.world.next_id() if m4l_device else None  # what --- becomes in a Max for Live device
        if text is None:
            with open(path) as f:
                text = f.read()
        patcher = json.loads(text)["patcher"]
        if subpatcher:  # a [p name] inside (a help file's tab)
            patcher = next(b["box"]["patcher"] for b in patcher["boxes"] if b["box"].get("text") == f"p {subpatcher}")
        self.boxes = {b["box"]["id"]: Box(self, b["box"]) for b in patcher["boxes"]}
        self.cords = defaultdict(list)
        for ln in patcher["lines"]:
            (src, outlet), (dst, inlet) = ln["patchline"]["source"], ln["patchline"]["destination"]
            self.cords[(src, outlet)].append((dst, inlet))
        for key in self.cords:  # rightmost destination first
            self.cords[key].sort(key=lambda d: -self.boxes[d[0]].x)
        self.instance_args = parse(instance_args)
        self.colls = self.world.colls  # named colls share their contents (across instances: see World)
        self.sent, self.printed, self.outlets = [], [], defaultdict(list)
        self.udpsend = {}
        self.listen_port = None
        self.depth = 0
        self.into_objects = defaultdict(list)  # messages into abstractions ([immersions] in the help)

    def resolve(self, word: str) -> str:
        """An argument as Max reads it in this instance: #0 -> the instance's number; --- -> the device's
        number in a Max for Live device, else left as it is (a name shared by the whole application)."""
        word = word.replace("#0", str(self.instance))
        if self.device is not None:
            word = word.replace("---", str(self.device))
        return word

    # --- driving the patch ---------------------------------------------------------------------------------
    def of(self, name):
        return [b for b in self.boxes.values() if b.name == name]

    def load(self):
        for b in self.of("loadbang"):
            b.out(0, ["bang"])

    def close(self):
        for b in self.of("closebang"):
            b.out(0, ["bang"])

    def tick(self):
        """One period of every [metro] that runs (the renewal)."""
        for b in self.of("metro"):
            if b.state.get("on"):
                b.out(0, ["bang"])

    def send_inlet(self, index, text_or_msg):
        msg = parse(text_or_msg) if isinstance(text_or_msg, str) else text_or_msg
        inlet = next(b for b in self.of("inlet") if b.box["index"] == index)
        inlet.out(0, msg)

    def receive(self, address, *args):
        """A message from the service arriving at [udpreceive] (it outputs address + arguments)."""
        for b in self.of("udpreceive"):
            b.out(0, [address, *args])

    def fire_delays(self):
        for b in self.of("delay"):
            if b.state.pop("armed", False):
                b.out(0, ["bang"])

    # --- message passing -----------------------------------------------------------------------------------
    def emit(self, box, outlet, msg):
        self.depth += 1
        assert self.depth < 200, "stack overflow (a loop in the patch)"
        for dst, inlet in list(self.cords.get((box.id, outlet), [])):
            self.deliver(self.boxes[dst], inlet, msg)
        self.depth -= 1

    NAMES = {"==": "eq", ">": "gt", "-": "minus", "*~": "times_signal", "adc~": "adc", "ezdac~": "ezdac",
             "mc.adc~": "mc_adc"}

    def click(self, b):
        """A click on a toggle: it flips and outputs."""
        b.state["v"] = 0 if b.state.get("v", 0) else 1
        b.out(0, [b.state["v"]])

    def deliver(self, b, inlet, msg):
        handler = getattr(self, "obj_" + self.NAMES.get(b.name, b.name.replace(".", "_")), None)
        if b.box["maxclass"] == "message":
            handler = self.obj_message
        assert handler is not None, f"the simulation does not know [{b.text or b.name}]"
        handler(b, inlet, msg)

    # --- objects -------------------------------------------------------------------------------------------
    def obj_message(self, b, inlet, msg):
        if inlet == 1:
            b.text = " ".join(map(str, body(msg)))
            return
        if msg and msg[0] == "set":
            b.text = " ".join(map(str, msg[1:]))
            return
        args = [] if is_bang(msg) else body(msg)
        for part in b.text.split(","):
            words = []
            for w in part.split():
                m = re.fullmatch(r"\$(\d)", w)
                words.append(args[int(m.group(1)) - 1] if m else atom(w))
            if words:
                b.out(0, words)

    def obj_outlet(self, b, inlet, msg):
        self.outlets[b.box["index"]].append(msg)

    def obj_t(self, b, inlet, msg):
        for k in reversed(range(len(b.args))):
            kind = b.args[k]
            if kind == "b":
                b.out(k, ["bang"])
            elif kind == "i":
                b.out(k, [int(body(msg)[0])])
            elif kind == "f":
                b.out(k, [float(body(msg)[0])])
            elif kind == "s":
                b.out(k, ["symbol", body(msg)[0]])
            else:  # l, a
                b.out(k, msg)

    def _route(self, b, msg, keep):
        selector = msg[1] if msg and msg[0] == "symbol" else msg[0] if msg else "bang"
        rest = msg[2:] if msg and msg[0] == "symbol" else msg[1:]
        for k, arg in enumerate(b.args):
            if selector == arg:
                b.out(k, msg if keep else (rest if rest else ["bang"]))
                return
        b.out(len(b.args), msg)

    def obj_route(self, b, inlet, msg):
        self._route(b, msg, keep=False)

    def obj_routepass(self, b, inlet, msg):
        self._route(b, msg, keep=True)

    def obj_prepend(self, b, inlet, msg):
        if inlet == 1:
            b.state["words"] = body(msg)
            return
        words = b.state.get("words", b.args)
        b.out(0, list(words) + ([] if is_bang(msg) else body(msg)))

    def obj_append(self, b, inlet, msg):
        if inlet == 1:
            b.state["words"] = body(msg)
            return
        b.out(0, ([] if is_bang(msg) else body(msg)) + list(b.state.get("words", b.args)))

    def _store(self, b):
        if "values" not in b.state:
            b.state["values"] = ["" if a in ("s", "sym") else a for a in b.args]
        return b.state["values"]

    def obj_pak(self, b, inlet, msg):
        values = self._store(b)
        if inlet == 0 and len(body(msg)) > 1:
            values[:len(body(msg))] = body(msg)
        elif not is_bang(msg):
            values[inlet] = body(msg)[0]
        b.out(0, list(values))

    def obj_pack(self, b, inlet, msg):
        values = self._store(b)
        if inlet == 0 and len(body(msg)) > 1:
            values[:len(body(msg))] = body(msg)
        elif not is_bang(msg):
            values[inlet] = body(msg)[0]
        if inlet == 0:
            b.out(0, list(values))

    def obj_unpack(self, b, inlet, msg):
        values = body(msg)
        for k in reversed(range(min(len(values), len(b.args)))):
            b.out(k, [values[k]])

    def obj_zl(self, b, inlet, msg):
        mode = b.args[0]
        if mode == "reg":
            if inlet == 1:
                b.state["v"] = body(msg)
            elif is_bang(msg):
                if "v" in b.state:
                    b.out(0, b.state["v"])
            else:
                b.state["v"] = body(msg)
                b.out(0, body(msg))
        elif mode == "change":
            if b.state.get("v") != body(msg):
                b.state["v"] = body(msg)
                b.out(0, body(msg))
        elif mode == "len":
            b.out(0, [len(body(msg))])
        elif mode == "slice":
            values = body(msg)
            n = b.args[1] if len(b.args) > 1 else 0
            if values[n:]:
                b.out(1, values[n:])
            b.out(0, values[:n])
        else:
            raise AssertionError(f"zl {mode}")

    def obj_coll(self, b, inlet, msg):
        data = self.colls[b.args[0]]
        if msg[0] == "clear":
            data.clear()
        elif msg[0] == "remove":
            data.pop(msg[1], None)
        elif msg[0] == "store":
            data[msg[1]] = msg[2:]
        elif msg[0] == "dump":
            for key, value in list(data.items()):
                b.out(1, [key])
                b.out(0, value)
            b.out(3, ["bang"])
        elif msg[0] == "symbol" or (len(msg) == 1 and isinstance(msg[0], (int, float))):
            key = msg[1] if msg[0] == "symbol" else msg[0]
            if key in data:
                b.out(0, data[key])
        elif isinstance(msg[0], (int, float)):
            data[msg[0]] = msg[1:]
        else:
            raise AssertionError(f"coll: {msg}")

    def obj_gate(self, b, inlet, msg):
        if inlet == 0:
            b.state["open"] = int(body(msg)[0])
            return
        open_ = b.state.get("open", b.args[1] if len(b.args) > 1 else 0)
        if open_:
            b.out(open_ - 1, msg)

    def obj_scale(self, b, inlet, msg):
        lo_in, hi_in, lo, hi = b.args[:4]
        exp = b.args[4] if len(b.args) > 4 else 1.0
        x = (body(msg)[0] - lo_in) / (hi_in - lo_in)
        value = lo + (hi - lo) * (x ** exp if x >= 0 else -((-x) ** exp))
        b.out(0, [float(value) if any(isinstance(a, float) for a in b.args[:4]) else int(round(value))])

    def obj_expr(self, b, inlet, msg):
        b.state.setdefault("in", [0.0] * 9)
        b.state["in"][inlet] = body(msg)[0]
        if inlet == 0:
            formula = b.text[5:].replace("\\,", ",")
            formula = re.sub(r"\$[fi](\d)", lambda m: f"v[{int(m.group(1)) - 1}]", formula)
            value = eval(formula, {"__builtins__": {}, "pow": math.pow, "max": max, "ceil": math.ceil,
                                   "v": b.state["in"]})
            b.out(0, [value])

    def _number(self, b, inlet, msg, cast):
        if inlet == 1:
            b.state["v"] = cast(body(msg)[0])
            return
        if not is_bang(msg):
            b.state["v"] = cast(body(msg)[0])
        b.out(0, [b.state.get("v", cast(b.args[0]) if b.args else cast(0))])

    def obj_f(self, b, inlet, msg):
        self._number(b, inlet, msg, float)

    def obj_i(self, b, inlet, msg):
        self._number(b, inlet, msg, lambda v: int(v))

    def obj_eq(self, b, inlet, msg):  # [==]
        if inlet == 1:
            b.state["r"] = body(msg)[0]
            return
        b.out(0, [int(body(msg)[0] == b.state.get("r", b.args[0]))])

    def obj_gt(self, b, inlet, msg):  # [>] and [-]
        if inlet == 1:
            b.state["r"] = body(msg)[0]
            return
        r = b.state.get("r", b.args[0])
        x = body(msg)[0]
        b.out(0, [int(x > r)] if b.name == ">" else [x - r])

    def obj_clip(self, b, inlet, msg):
        b.out(0, [min(max(body(msg)[0], b.args[0]), b.args[1])])

    def obj_sel(self, b, inlet, msg):
        x = body(msg)[0]
        for k, arg in enumerate(b.args):
            if x == arg:
                b.out(k, ["bang"])
                return
        b.out(len(b.args), [x])

    def obj_tosymbol(self, b, inlet, msg):
        b.out(0, ["symbol", " ".join(map(str, body(msg)))])

    def obj_patcherargs(self, b, inlet, msg):
        attrs, key = {}, None
        for a in b.args + self.instance_args:
            if isinstance(a, str) and a.startswith("@"):
                key = a[1:]
                attrs[key] = []
            elif key is not None:
                attrs[key].append(a)
        for key, values in attrs.items():
            b.out(1, [key, *values])

    def obj_metro(self, b, inlet, msg):
        if inlet == 0:
            on = not is_bang(msg) and body(msg)[0] != 0
            b.state["on"] = on or is_bang(msg)
            if b.state["on"]:
                b.out(0, ["bang"])

    def obj_delay(self, b, inlet, msg):
        b.state["armed"] = True

    def obj_udpsend(self, b, inlet, msg):
        if msg[0] in ("host", "port"):
            self.udpsend[msg[0]] = msg[1]
        else:
            self.sent.append(msg)

    def _bind(self, port):
        if self.listen_port is not None and self.world.ports.get(self.listen_port) is self:
            del self.world.ports[self.listen_port]
        if port in self.world.ports:
            self.world.bind_errors.append((port, self))
        else:
            self.world.ports[port] = self
        self.listen_port = port

    def obj_udpreceive(self, b, inlet, msg):
        if msg[0] == "port":
            self._bind(msg[1])

    def obj_thispatcher(self, b, inlet, msg):
        """Scripting: newdefault (an object made now: a [udpreceive N] binds N), connect, send, delete."""
        assert msg[0] == "script", f"thispatcher: {msg}"
        verb, rest = msg[1], msg[2:]
        named = {bx.box.get("varname"): bx for bx in self.boxes.values() if bx.box.get("varname")}
        if verb == "newdefault":
            name, x, y, cls, *args = rest
            assert name not in named, f"thispatcher: {name} exists already"
            text = " ".join(map(str, [cls, *args]))
            box = Box(self, {"id": f"script-{name}", "maxclass": "newobj", "text": text, "varname": name,
                             "patching_rect": [x, y, 100, 22]})
            self.boxes[box.id] = box
            if cls == "udpreceive":
                self._bind(args[0])
        elif verb == "connect":
            a, outlet, z, inlet_ = rest
            self.cords[(named[a].id, outlet)].append((named[z].id, inlet_))
        elif verb == "send":
            self.deliver(named[rest[0]], 0, list(rest[1:]))
        elif verb == "delete":
            box = named[rest[0]]
            del self.boxes[box.id]
        else:
            raise AssertionError(f"thispatcher script {verb}")

    def obj_stripnote(self, b, inlet, msg):
        if inlet == 1:
            b.state["velocity"] = body(msg)[0]
            return
        velocity = b.state.get("velocity", 0)
        if velocity:
            b.out(1, [velocity])
            b.out(0, [body(msg)[0]])

    def note(self, pitch, velocity):
        """A note from MIDI: [notein]'s outlets right to left (channel, velocity, pitch)."""
        for b in self.of("notein"):
            b.out(2, [1])
            b.out(1, [velocity])
            b.out(0, [pitch])

    def obj_fromsymbol(self, b, inlet, msg):
        b.out(0, parse(" ".join(map(str, body(msg)))))

    def obj_print(self, b, inlet, msg):
        self.printed.append((b.args[0] if b.args else "print", " ".join(map(str, body(msg)))))

    obj_minus = obj_gt

    def obj_adc(self, b, inlet, msg):
        b.state["channels"] = msg[1:]

    def obj_times_signal(self, b, inlet, msg):
        pass  # audio: not simulated

    obj_ezdac = obj_mc_adc = obj_times_signal

    def obj_immersions(self, b, inlet, msg):
        self.into_objects[inlet].append(msg)

    def obj_s(self, b, inlet, msg):
        for r in self.of("r"):
            if r.args == b.args:
                r.out(0, msg)

    def obj_toggle(self, b, inlet, msg):
        if msg and msg[0] == "set":
            b.state["v"] = msg[1]
        else:
            b.state["v"] = body(msg)[0]
            b.out(0, [b.state["v"]])

    obj_flonum = obj_number = obj_toggle

    def obj_multislider(self, b, inlet, msg):
        if msg[0] in ("size", "setminmax"):
            b.state[msg[0]] = msg[1:]
        else:
            b.state["values"] = body(msg)

    def obj_maximum(self, b, inlet, msg):
        if inlet == 1:
            b.state["r"] = body(msg)[0]
            return
        values = body(msg)
        b.out(0, [float(max(values)) if len(values) > 1 else float(max(values[0], b.state.get("r", b.args[0])))])
