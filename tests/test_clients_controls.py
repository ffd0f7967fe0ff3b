"""Every client's control rows -- name, default CC, OSC address (with a preset's argument), fader range and
curve -- read back from the committed client files and diffed against the one controls table
(immersions_osc/osc/controls.json, `immersions-osc osc-table --json`).

The rows are parsed from what ships (the .pd and .maxpat files), not taken from the generators, so a
hand edit or a stale file shows up here.  The SuperCollider client's rows are checked by
tests/test_bounds.py (its map block); TouchDesigner has no control rows: it only subscribes and asks for
the layout and the status, which the last test checks.
"""
import ast
import json
import math
import os
import re

import pytest

from service_harness import REPO

CLIENTS = os.path.join(REPO, "immersions_osc", "clients")
with open(os.path.join(REPO, "immersions_osc", "osc", "controls.json"), encoding="utf-8") as f:
    TABLE = json.load(f)
BY_NAME = {c["name"]: c for c in TABLE["controls"]}
XS = (0, 0.25, 0.5, 0.75, 1)  # where along the fader the curve is compared


def curve(kind, lo, hi, x):
    """Where a fader at x (0..1) puts a control of fader span lo..hi (config.CURVES)."""
    return {"lin": lambda: lo + (hi - lo) * x, "log": lambda: lo * (hi / lo) ** x,
            "amp": lambda: lo + (hi - lo) * x * x,
            "curve": lambda: lo + (hi - lo) * (1 - math.exp(4 * x)) / (1 - math.exp(4))}[kind]()


def rounded(values):
    return tuple(float(f"{v:.6g}") for v in values)


def table_rows():
    """{name: (cc, address, fader range, the curve at XS)} of every MIDI-mapped control of the table."""
    rows = {}
    for name in TABLE["midi"]:
        c = BY_NAME[name]
        address = c["address"] + (f" {c['value']}" if c["value"] else "")
        if c["type"] == "f":
            lo, hi = c["fader"]
            rows[name] = (c["cc"], address, (lo, hi), rounded(curve(c["curve"], lo, hi, x) for x in XS))
        else:
            rows[name] = (c["cc"], address, None, None)
    return rows


def formula(text):
    """A [expr]'s formula as a function of $f1."""
    body = text.replace("\\,", ",")
    return lambda v: eval(body.replace("$f1", repr(float(v))), {"__builtins__": {}, "exp": math.exp, "pow": math.pow})


# --- Pure Data: immersions_osc/clients/pd/immersions/immersions.pd -------------------------------------------------

def pd_rows():
    with open(os.path.join(CLIENTS, "pd", "immersions", "immersions.pd"), encoding="utf-8") as f:
        records = [r.strip().replace("\\$", "$") for r in re.split(r"(?<!\\);\n", f.read()) if r.strip()]
    widgets = {}  # name -> (cc, range or None) from the sliders', toggles' and bangs' labels
    for r in records:
        m = re.match(r"#X obj \d+ \d+ hsl \d+ \d+ (\S+) (\S+) \d 0 \$0-(\w+) \S+ .*?\\ \((\d+)\) ", r)
        if m:
            widgets[m.group(3)] = (int(m.group(4)), (float(m.group(1)), float(m.group(2))))
        m = re.match(r"#X obj \d+ \d+ (?:tgl|bng) \d+ .*? \$0-(\w+) \$0-\w+-in .*?\\ \((\d+)\) ", r)
        if m:
            widgets[m.group(1)] = (int(m.group(2)), None)
    rows, local = {}, []
    for k, r in enumerate(records):
        m = re.fullmatch(r"#X obj \d+ \d+ r \$0-(\w+)", r)
        if not m or m.group(1) not in widgets:
            continue
        name = m.group(1)
        # what the control's value goes through on its way out: an optional [list VALUE( then [oscformat]
        value, address = None, None
        for nxt in records[k + 1:k + 4]:
            v = re.fullmatch(r"#X msg \d+ \d+ list ?(\S*)", nxt)
            if v:
                value = v.group(1) or None
            o = re.fullmatch(r"#X obj \d+ \d+ oscformat (?:-f \S+ )?(.+)", nxt)
            if o:
                address = "/" + "/".join(o.group(1).split())
                break
        if address is None:
            local.append(name)
            continue
        cc, span = widgets[name]
        mapping = None
        if span is not None:
            first = next(i for i, x in enumerate(records) if x.endswith(f" r $0-cc-{name}"))
            f = formula(records[first + 1].split(" expr ", 1)[1])
            mapping = rounded(f(127 * x) for x in XS)
        rows[name] = (cc, address + (f" {value}" if value else ""), span, mapping)
    return rows, local


def test_pure_data_control_rows_are_the_table():
    rows, local = pd_rows()
    assert rows == table_rows()
    assert sorted(local) == ["filter", "monitor"]  # the abstraction's own monitor, not service controls


# --- Max: immersions_osc/clients/max/Immersions/patchers/immersions.maxpat ----------------------------------------

def max_rows():
    with open(os.path.join(CLIENTS, "max", "Immersions", "patchers", "immersions.maxpat"), encoding="utf-8") as f:
        patcher = json.load(f)["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    lines = [(ln["patchline"]["source"], ln["patchline"]["destination"]) for ln in patcher["lines"]]

    def after(box_id, outlet):
        return [boxes[d[0]] for s, d in lines if s == [box_id, outlet]]

    defaults = next(b["text"] for b in boxes.values() if b["maxclass"] == "message"
                    and b["text"].startswith("clear, ") and "store" not in b["text"])
    ccs = {name: int(cc) for cc, name in (pair.split() for pair in defaults[len("clear, "):].split(", "))}
    # the two [route NAME ...]: by name from the inlet (then ' layer'), and from the CC map
    routes = [b for b in boxes.values() if b.get("text", "").startswith("route ") and "volume" in b["text"]]
    by_cc = next(b for b in routes if not b["text"].endswith(" layer"))
    by_name = next(b for b in routes if b["text"].endswith(" layer"))
    rows = {}
    for k, name in enumerate(by_cc["text"].split()[1:]):
        out = after(by_name["id"], k)
        assert len(out) == 1, (name, [b.get("text") for b in out])
        (first,) = out
        if first["maxclass"] == "message":  # a trigger: the message itself is the address (+ a preset's value)
            address, span, mapping = first["text"], None, None
        else:  # [f] / [i] -> [prepend ADDRESS]
            assert first["text"] in ("f", "i"), first
            pre = next(b for b in after(first["id"], 0) if b.get("text", "").startswith("prepend /"))
            address = pre["text"].split(" ", 1)[1]
            span, mapping = None, None
            if first["text"] == "f":  # a fader: the [scale]/[expr] chain from the CC route
                (step,) = after(by_cc["id"], k)
                chain = []
                while step.get("text", "").split()[0] in ("scale", "expr"):
                    chain.append(step["text"])
                    (step,) = after(step["id"], 0)
                f = max_chain(chain)
                span = (f(0), f(127))
                mapping = rounded(f(127 * x) for x in XS)
        rows[name] = (ccs[name], address, rounded(span) if span else None, mapping)
    return rows


def max_chain(texts):
    def f(x):
        for text in texts:
            words = text.split()
            if words[0] == "scale":
                a, b, c, d = map(float, words[1:5])
                e = float(words[5]) if len(words) > 5 else 1.0
                x = c + (d - c) * ((x - a) / (b - a)) ** e
            else:
                x = formula(text[5:])(x)
        return x
    return f


def test_max_control_rows_are_the_table():
    expected = {name: (cc, address, rounded(span) if span else None, mapping)
                for name, (cc, address, span, mapping) in table_rows().items()}
    assert max_rows() == expected


# --- TouchDesigner: no control rows -------------------------------------------------------------------------------

def test_touchdesigner_sends_no_control_of_the_table():
    """TouchDesigner is the picture: what it may send (session.py's SENT) is the subscription, the layout
    and the status request -- none of the table's controls, so there is no row of its to drift."""
    with open(os.path.join(CLIENTS, "touchdesigner", "session.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    sent = next(ast.literal_eval(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "SENT" for t in node.targets))
    assert set(sent) == {"/immersions/stream/subscribe", "/immersions/layout/request", "/immersions/status/request",
                         "/immersions/auth"}
    # the one in common is the 'status now' button's query, which TouchDesigner sends with no argument too
    assert set(sent) & {BY_NAME[name]["address"] for name in TABLE["midi"]} == {"/immersions/status/request"}


def test_a_drifted_row_is_caught():
    """The diff can fail: a changed CC, address or range in a client's row is a difference."""
    rows = table_rows()
    name = next(n for n in TABLE["midi"] if BY_NAME[n]["type"] == "f")
    cc, address, span, mapping = rows[name]
    for drifted in ((cc + 1, address, span, mapping), (cc, address + "x", span, mapping),
                    (cc, address, (span[0], span[1] * 2), mapping)):
        assert dict(rows, **{name: drifted}) != rows
    with pytest.raises(AssertionError):
        assert pd_rows()[0] == dict(rows, **{name: (cc + 1, address, span, mapping)})
