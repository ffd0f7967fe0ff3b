"""The service's controls table as the client generators read it (the Pd patch, the Max package,
the Quark's ImmersionsControls): ``immersions_osc/osc/controls.json``, written by ``immersions-osc
osc-table --json`` from the service's own controls, so no client can drift from the service."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from ..osc.controls import CONTROLS_JSON as TABLE  # where the table is written: declared once, there


def load_table() -> dict:
    with open(TABLE, encoding="utf-8") as f:
        return json.load(f)


@dataclass(frozen=True)
class MidiControl:
    """One control a MIDI controller plays, in the table's order (the controller's: faders, encoders,
    buttons).  ``kind``: ``f`` a float (its fader range ``lo..hi`` along ``curve``), ``t`` a 0/1
    toggle, ``b`` a button (no argument, or a preset's fixed ``value``)."""
    name: str
    cc: int
    kind: str
    address: str
    label: str
    doc: str
    lo: float = 0.0
    hi: float = 0.0
    curve: str = "lin"
    value: Optional[object] = None


def midi_controls(table: Optional[dict] = None) -> list[MidiControl]:
    table = table or load_table()
    by_name = {c["name"]: c for c in table["controls"]}
    out = []
    for name in table["midi"]:
        c = by_name[name]
        common = dict(name=name, cc=c["cc"], address=c["address"], label=c["label"], doc=c["doc"])
        if c["type"] == "f":
            lo, hi = c["fader"]
            out.append(MidiControl(kind="f", lo=lo, hi=hi, curve=c["curve"], **common))
        elif c["type"] == "i" and (c["lo"], c["hi"]) == (0, 1):
            out.append(MidiControl(kind="t", lo=0, hi=1, **common))
        else:
            out.append(MidiControl(kind="b", value=c["value"], **common))
    return out
