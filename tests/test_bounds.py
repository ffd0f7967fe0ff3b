"""Every bound is declared once (config.py's field metadata): the config's validation, the OSC
argument checks, immersions_osc/osc/controls.json and the bundled clients (Pure Data, Max, the
SuperCollider Quark) all take their ranges, curves and MIDI CCs from it."""
import dataclasses
import importlib.util
import json
import math
import os
import re

import pytest

from immersions_osc.config import Config, ConfigError, bounds_of, parse_config, setting_type, to_dict
from immersions_osc.osc.controls import (CONTROLS, CONTROLS_JSON, PRESETS, ArgumentError, control_table,
                                         controls_json, parse_args)

from clients_harness import quark_rows
from service_harness import REPO

SECTIONS = {f.name: type(getattr(Config(), f.name)) for f in dataclasses.fields(Config)}
BOUNDED = [(section, name, b) for section in SECTIONS for name, b in bounds_of(SECTIONS[section]).items()]
BY_SETTING = {c.setting: c for c in CONTROLS if c.setting}
TABLE = {c["name"]: c for c in control_table()["controls"]}
FADERS = {n: TABLE[n] for n in control_table()["midi"] if TABLE[n]["type"] == "f"}


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def curve(kind, lo, hi, x):
    """Where a fader at x (0..1) puts a control of fader span lo..hi (config.CURVES)."""
    return {"lin": lambda: lo + (hi - lo) * x, "log": lambda: lo * (hi / lo) ** x,
            "amp": lambda: lo + (hi - lo) * x * x,
            "curve": lambda: lo + (hi - lo) * (1 - math.exp(4 * x)) / (1 - math.exp(4))}[kind]()


def edges(b, tp):
    """(values just outside the range, values just inside it) of a Bound."""
    if b.choices is not None:
        return ["no-such-choice"], list(b.choices)
    step = (lambda v: 1) if tp is int else (lambda v: max(abs(v) * 1e-6, 1e-9))
    outside, inside = [], []
    if b.lo is not None:
        outside.append(b.lo if b.lo_open else b.lo - step(b.lo))
        inside.append(b.lo + step(b.lo) if b.lo_open else b.lo)
    if b.hi is not None:
        outside.append(b.hi + step(b.hi))
        inside.append(b.hi)
    if b.off is not None:
        inside.append(b.off)
    return outside, inside


def validate(section, name, value):
    data = to_dict(Config())
    data[section][name] = value
    parse_config(data)


@pytest.mark.parametrize("section,name,b", BOUNDED, ids=[f"{s}.{n}" for s, n, _ in BOUNDED])
def test_config_and_osc_refuse_and_accept_the_same_values(section, name, b):
    key, tp = f"{section}.{name}", setting_type(f"{section}.{name}")
    outside, inside = edges(b, tp)
    control = BY_SETTING.get(key)
    for value in outside:
        with pytest.raises(ConfigError, match=re.escape(f"{key} must be {b.describe()}")):
            validate(section, name, value)
        if control is not None:
            with pytest.raises(ArgumentError, match="out of range|must be one of"):
                parse_args(control, [value])
    for value in inside:
        try:
            validate(section, name, value)
        except ConfigError as exc:  # only another rule (the Nyquist limit, ...) may object
            assert f"{key} must be {b.describe()}" not in str(exc)
        if control is not None:
            assert parse_args(control, [value]) == [value]


def test_every_control_of_a_setting_takes_its_range_from_the_config():
    assert len(BY_SETTING) >= 25
    for setting, c in BY_SETTING.items():
        section, name = setting.split(".")
        b = bounds_of(SECTIONS[section]).get(name)
        (arg,) = c.args
        if setting_type(setting) is bool:
            assert (arg.type, arg.lo, arg.hi) == ("i", 0, 1)
        elif b is not None and b.choices is None:
            assert (arg.lo, arg.hi, arg.off, arg.curve, arg.fader, c.cc) == (b.lo, b.hi, b.off, b.curve, b.fader, b.cc)
        elif b is not None:
            assert arg.choices == b.choices
        entry = TABLE[c.name]
        assert (entry["lo"], entry["hi"], entry["cc"]) == (arg.lo, arg.hi, c.cc) if arg.type != "s" else True


def test_controls_json_is_the_generated_table():
    with open(CONTROLS_JSON, encoding="utf-8") as f:
        assert f.read() == controls_json(), "run: immersions-osc osc-table --json > immersions_osc/osc/controls.json"
    ccs = [TABLE[n]["cc"] for n in control_table()["midi"]]
    assert len(set(ccs)) == len(ccs) and {p.name for p in PRESETS} <= set(control_table()["midi"])
    for c in FADERS.values():  # a fader never reaches outside what the service accepts
        assert c["lo"] <= c["fader"][0] < c["fader"][1] <= c["hi"], c["name"]


# --- the clients, parsed from their committed files ------------------------------------------------------------

def pd_records():
    with open(os.path.join(REPO, "immersions_osc", "clients", "pd", "immersions", "immersions.pd"), encoding="utf-8") as f:
        return [r.strip().replace("\\$", "$") for r in re.split(r"(?<!\\);\n", f.read()) if r.strip()]


def test_pure_data_ranges_curves_and_ccs_are_the_table():
    records = pd_records()
    labelled = {}  # name -> (lo, hi, log, cc) of its slider, or (cc,) of a toggle/bang
    for r in records:
        m = re.match(r"#X obj \d+ \d+ hsl \d+ \d+ (\S+) (\S+) (\d) 0 \$0-(\w+) \S+ .*?\\ \((\d+)\) ", r)
        if m:
            labelled[m.group(4)] = (float(m.group(1)), float(m.group(2)), int(m.group(3)), int(m.group(5)))
        m = re.match(r"#X obj \d+ \d+ (?:tgl|bng) \d+ .*? \$0-(\w+) \$0-\w+-in .*?\\ \((\d+)\) ", r)
        if m:
            labelled[m.group(1)] = (int(m.group(2)),)
    mappings = {}  # name -> the [expr] its CC goes through
    for a, b in zip(records, records[1:]):
        m = re.match(r"#X obj \d+ \d+ r \$0-cc-(\w+)$", a)
        if m and b.startswith("#X obj") and " expr " in b:
            mappings[m.group(1)] = b.split(" expr ", 1)[1].replace("\\,", ",")
    for name in control_table()["midi"]:
        c = TABLE[name]
        if c["type"] == "f":
            lo, hi = c["fader"]
            assert labelled[name] == (lo, hi, int(c["curve"] == "log"), c["cc"]), name
            f = lambda v: eval(mappings[name].replace("$f1", repr(float(v))),  # noqa: E731
                               {"__builtins__": {}, "exp": math.exp, "pow": math.pow})
            for x in (0, 0.25, 0.5, 1):
                assert f(127 * x) == pytest.approx(curve(c["curve"], lo, hi, x), rel=1e-6, abs=1e-9), name
        else:
            assert labelled[name] == (c["cc"],), name
    # the CC table the patch loads: CC -> slot, slots numbered in the order of the sliders
    gen = load("immersions_osc/clients/pd/make_pd_patch.py", "make_pd_patch")
    init = next(r for r in records if r.startswith("#X msg") and " const 0 \\, " in r).split(" const 0 \\, ")[1]
    cc_of_slot = {}
    for run in init.split(" \\, "):
        first, *slots = map(int, run.split())
        cc_of_slot.update({slot: first + k for k, slot in enumerate(slots)})
    for name in control_table()["midi"]:
        assert cc_of_slot[gen.SLOT[name]] == TABLE[name]["cc"], name


def max_abstraction():
    with open(os.path.join(REPO, "immersions_osc", "clients", "max", "Immersions", "patchers", "immersions.maxpat"), encoding="utf-8") as f:
        patcher = json.load(f)["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    lines = [(l["patchline"]["source"], l["patchline"]["destination"]) for l in patcher["lines"]]
    return boxes, lines


def max_chain(boxes, lines, first):
    """The CC -> value function of the [scale]/[expr] chain starting at first."""
    steps, box = [], first
    while box["text"].split()[0] in ("scale", "expr"):
        words = box["text"].split()
        if words[0] == "scale":
            a, b, c, d = map(float, words[1:5])
            e = float(words[5]) if len(words) > 5 else 1.0
            steps.append(lambda x, a=a, b=b, c=c, d=d, e=e: c + (d - c) * ((x - a) / (b - a)) ** e)
        else:
            formula = box["text"][5:].replace("\\,", ",").replace("$f1", "x")
            steps.append(lambda x, f=formula: eval(f, {"__builtins__": {}, "pow": math.pow, "x": x}))
        (box,) = [boxes[d[0]] for s, d in lines if s[0] == box["id"]]

    def f(x):
        for step in steps:
            x = step(x)
        return x
    return f


def test_max_ranges_curves_and_ccs_are_the_table():
    boxes, lines = max_abstraction()
    midi = control_table()["midi"]
    defaults = next(b["text"] for b in boxes.values() if b.get("maxclass") == "message"
                    and b["text"].startswith("clear, ") and "store" not in b["text"])
    ccs = {name: int(cc) for cc, name in (pair.split() for pair in defaults[len("clear, "):].split(", "))}
    assert ccs == {name: TABLE[name]["cc"] for name in midi}
    route = next(b for b in boxes.values() if b.get("text") == "route " + " ".join(midi))
    for k, name in enumerate(midi):
        c = TABLE[name]
        if c["type"] != "f":
            continue
        (first,) = [boxes[d[0]] for s, d in lines if s == [route["id"], k]]
        f, (lo, hi) = max_chain(boxes, lines, first), c["fader"]
        for x in (0, 0.25, 0.5, 1):
            assert f(127 * x) == pytest.approx(curve(c["curve"], lo, hi, x), rel=1e-6, abs=1e-9), name


def test_supercollider_ranges_curves_and_ccs_are_the_table():
    """The Quark's ImmersionsControls.sc (read back from the sclang source): every MIDI-mapped control's
    CC, address and button argument, each fader's span and warp, each toggle and trigger."""
    warps = {"lin": "lin", "exp": "log", "amp": "amp", 4.0: "curve"}  # curve 4: ControlSpec's curve warp
    rows = {r["name"]: r for r in quark_rows()}
    for name in control_table()["midi"]:
        r, c = rows[name], TABLE[name]
        assert (r["cc"], r["address"], r["argument"]) == (c["cc"], c["address"], c["value"]), name
        if c["type"] == "f":
            assert ([r["faderLo"], r["faderHi"]], warps[r["warp"]]) == (c["fader"], c["curve"]), name
        elif c["type"] == "i":
            assert (r["type"], r["lo"], r["hi"]) == ("i", 0, 1), name  # a toggle
        else:
            assert r["type"] in ("", "s") and r["warp"] is None, name  # a trigger
