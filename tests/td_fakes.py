"""Stand-ins for TouchDesigner's operators, so that the TouchDesigner client's callbacks run outside TouchDesigner
(tests/test_clients_td.py, benchmarks/td_cook.py)."""
from __future__ import annotations

import os
import re
import socket

import numpy as np

from fixtures import REPO, load_file

LAYOUT = os.path.join(REPO, "checkpoints", "small_layout.npz")


def load_td(name):
    """immersions_osc/clients/touchdesigner/NAME.py as a fresh module (as a DAT runs it)."""
    return load_file(name, "immersions_osc", "clients", "touchdesigner", name + ".py")


class FakePar:
    def __init__(self, value):
        self.value = value

    def eval(self):
        return self.value


class FakeComp:
    """A COMP's storage, its Immersions page (Layoutfile, Gain, Host, Listenport), its 'activations'
    CHOP (cook counter) and its 'osc_out' DAT (a real UDP socket: sendOSC encodes with python-osc)."""

    def __init__(self, gain=1.0, service_port=None, listen_port=0, layout=LAYOUT):
        self.storage, self.cooks = {}, 0
        self.par = type("Pars", (), {"Layoutfile": FakePar(layout), "Gain": FakePar(gain),
                                     "Host": FakePar("127.0.0.1"), "Listenport": FakePar(listen_port),
                                     "Servicehost": FakePar("127.0.0.1"), "Viewerport": FakePar(0)})()
        self.service_port, self.sent = service_port, []

    def fetch(self, key, default=None, search=True):
        return self.storage.get(key, default)

    def store(self, key, value):
        self.storage[key] = value

    def op(self, name):
        comp = self
        if name == "osc_out":
            class OscOut:
                def sendOSC(self, address, args):
                    from pythonosc.osc_message_builder import OscMessageBuilder
                    builder = OscMessageBuilder(address)
                    for a in args:
                        builder.add_arg(a)
                    comp.sent.append((address, list(args)))
                    if comp.service_port:
                        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                            s.sendto(builder.build().dgram, ("127.0.0.1", comp.service_port))
            return OscOut()
        assert name == "activations"

        class Chop:
            def cook(self, force=False):
                comp.cooks += 1
        return Chop()


class FakeDat:
    def __init__(self, comp):
        self.comp = comp

    def parent(self):
        return self.comp


class FakeChan:
    def __init__(self, name):
        self.name, self.vals = name, []


class FakeScriptCHOP:
    """A Script CHOP of an older TouchDesigner: clear / numSamples / appendChan / chans."""

    def __init__(self, comp, path="/project1/immersions/activations"):
        self.comp, self.path, self.channels, self.numSamples = comp, path, {}, 0
        self.copies = 0

    def parent(self):
        return self.comp

    def clear(self):
        self.channels = {}

    def appendChan(self, name):
        self.channels[name] = FakeChan(name)
        return self.channels[name]

    def chans(self):
        return list(self.channels.values())


class FakeScriptCHOP2021(FakeScriptCHOP):
    """... and copyNumpyArray (TouchDesigner 2021+): a [channels, samples] float32 array into the
    existing channels."""

    def copyNumpyArray(self, array):
        assert isinstance(array, np.ndarray) and array.dtype == np.float32 and array.ndim == 2
        assert array.shape == (len(self.channels), self.numSamples)
        for chan, row in zip(self.channels.values(), array):
            chan.vals = row.copy()
        self.copies += 1


class BlockScriptCHOP(FakeScriptCHOP):
    """copyNumpyArray copies the whole block into one array it keeps, as TouchDesigner does, with
    no checks (what the cook benchmark times)."""

    def __init__(self, comp, path="/project1/immersions/activations"):
        super().__init__(comp, path)
        self.block = None

    def copyNumpyArray(self, array):
        if self.block is None or self.block.shape != array.shape:
            self.block = np.empty_like(array)
        np.copyto(self.block, array)


# --- a stand-in for TouchDesigner's network editing API: what build_network.build() calls -------------------------

# The parameters each operator type has, by TouchDesigner's parameter names.  The GLSL TOP's are those of
# TouchDesigner's documentation (docs.derivative.ca/GLSL_TOP, Vectors page: the sequence 'vec', blocks
# vec0name and vec0valuex..w); the others are the names the builder uses, not checked against TouchDesigner
# here.  A parameter not listed does not exist: getattr(op.par, name, None) is None, as in TouchDesigner.
OP_PARS = {
    "baseCOMP": (), "textDAT": (), "nullTOP": (),
    "oscinDAT": ("port", "callbacks", "maxlines"), "oscoutDAT": ("address", "port"),
    "scriptCHOP": ("callbacks",), "rectangleSOP": ("sizex", "sizey"),
    "constantMAT": ("colorr", "colorg", "colorb"),
    "geometryCOMP": ("material", "instancing", "instanceop", "instancetx", "instancety", "instancecolorop",
                     "instancer", "instanceg", "instanceb"),
    "cameraCOMP": ("tz",), "renderTOP": ("camera", "geometry", "resolutionw", "resolutionh", "bgcolorr",
                                         "bgcolorg", "bgcolorb"),
    "glslTOP": ("pixeldat", "vec0name", "vec0valuex", "vec0valuey", "vec0valuez", "vec0valuew"),
    "executeDAT": ("framestart", "active"),
}


class TDPar:
    """A parameter: a value or an expression (evaluated against the node's parent COMP's parameters)."""

    def __init__(self, node, name):
        self.node, self.name, self.val, self.expr, self.default = node, name, None, "", None

    def eval(self):
        if self.expr:
            m = re.fullmatch(r"parent\(\)\.par\.(\w+)", self.expr)
            assert m, f"the fake evaluates only parent().par.NAME expressions, not {self.expr!r}"
            return getattr(self.node.parent().par, m.group(1)).eval()
        return self.val


class TDPars:
    def __init__(self, node, names):
        for name in names:
            setattr(self, name, TDPar(node, name))


class TDPage:
    def __init__(self, node):
        self.node = node

    def _append(self, name, suffixes=("",)):
        made = []
        for s in suffixes:
            par = TDPar(self.node, name + s)
            setattr(self.node.par, name + s, par)
            made.append(par)
        return made

    def appendStr(self, name, label=""):
        return self._append(name)

    appendInt = appendFile = appendFloat = appendStr

    def appendRGB(self, name, label=""):
        return self._append(name, ("r", "g", "b"))


class TDConnector:
    def __init__(self):
        self.connected = None

    def connect(self, node):
        self.connected = node


class TDOp:
    """An operator: children (create / op / destroy), parameters, storage, text, node position."""

    def __init__(self, kind, name, parent=None):
        self.kind, self.name, self._parent = kind, name, parent
        self.children_by_name, self.storage, self.sent = {}, {}, []
        self.par = TDPars(self, OP_PARS.get(kind, ()))
        self.inputConnectors = [TDConnector()]
        self.text, self.nodeX, self.nodeY, self.render, self.display = "", 0, 0, False, False
        self.pages = []

    @property
    def path(self):
        if self._parent is None:
            return ""
        return f"{self._parent.path}/{self.name}"

    @property
    def children(self):
        return list(self.children_by_name.values())

    def parent(self):
        return self._parent

    def create(self, kind, name):
        node = TDOp(kind, name, self)
        self.children_by_name[name] = node
        return node

    def op(self, name):
        node = self
        for part in name.strip("/").split("/"):
            node = node.children_by_name.get(part) if node is not None else None
        return node

    def destroy(self):
        del self._parent.children_by_name[self.name]

    def appendCustomPage(self, name):
        page = TDPage(self)
        self.pages.append(name)
        return page

    def fetch(self, key, default=None, search=True):
        return self.storage.get(key, default)

    def store(self, key, value):
        self.storage[key] = value

    def sendOSC(self, address, args):  # an OSC Out DAT
        self.sent.append((address, list(args)))


def fake_td_module(root: TDOp):
    """A module standing in for TouchDesigner's `td`: op() from the root, and the operator types."""
    import types

    td = types.ModuleType("td")
    td.op = root.op
    for kind in OP_PARS:
        setattr(td, kind, kind)
    td.__all__ = ["op", *OP_PARS]
    return td
