"""Stand-ins for TouchDesigner's operators, so that td_network's callbacks run outside TouchDesigner
(tests/test_clients_td.py, benchmarks/td_cook.py)."""
from __future__ import annotations

import os
import socket

import numpy as np

from fixtures import REPO, load_file

LAYOUT = os.path.join(REPO, "checkpoints", "small_layout.npz")


def load_td(name):
    """td_network/NAME.py as a fresh module (as a DAT runs it)."""
    return load_file(name, "td_network", name + ".py")


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
