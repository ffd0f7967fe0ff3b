# Script CHOP callbacks: one sample per neuron, ready for instancing.
#
# Channels (one sample per neuron, in the layout's order):
#   tx, ty      position from the layout (the one the service sends after /immersions/layout/request,
#               or the .npz file of the Layout File parameter), scaled into -1..1
#   r, g, b     the neuron's layer colour times its brightness
#   activation  brightness 0..1 (activation / the frame's 99th percentile, times the Gain parameter
#               of the parent COMP's Immersions page)
#
# build_network.py copies this file into the 'chop_callbacks' Text DAT.
#
# The cook does the least it can per frame: the positions (normalised) and the layer colours are
# computed once per layout and kept with a preallocated [6, N] float32 output block; a cook
# computes the brightness, scales the colours into that block in place and hands it to the CHOP
# in one copyNumpyArray call (no Python lists).  benchmarks/td_cook.py times it.

import numpy as np

from immersions_osc.osc import decoder

CHANNELS = ('tx', 'ty', 'r', 'g', 'b', 'activation')

_layouts = {}  # Script CHOP path -> Prepared (the layout it last drew)
_files = {}  # layout file path -> (positions, layer per neuron, names), read once


class Prepared:
    """Everything about one layout that does not change from frame to frame."""

    def __init__(self, source, positions, layers):
        self.source = source  # what it was made from (compared by identity: a new layout is a new object)
        n = len(positions)
        self.out = np.empty((len(CHANNELS), n), np.float32)  # the CHOP's channels x samples
        self.out[0:2] = decoder.normalized_positions(positions).T
        layers = np.asarray(layers, np.intp)
        self.colours = np.ascontiguousarray(decoder.layer_colors(int(layers.max()) + 1)[layers].T)  # [3, n]


def _source(comp, n):
    """(identity, positions [n, 2], layer per neuron [n]) of the layout to draw n neurons with:
    the streamed layout first, then the layout file, then a square grid."""
    r = comp.fetch('immersions', None, search=False)
    if r is not None and r.positions is not None and len(r.positions) == n:
        layers = r.layer_of_neuron(n)
        if layers is not None:
            return (r.positions, len(r.layers)), r.positions, layers
    path = comp.par.Layoutfile.eval() if hasattr(comp.par, 'Layoutfile') else ''
    if path:
        if path not in _files:
            try:
                _files[path] = decoder.load_layout_npz(path)
            except (OSError, KeyError, ValueError) as exc:
                print('immersions: cannot read the layout file %s: %s' % (path, exc))
                _files[path] = None
        loaded = _files[path]
        if loaded is not None and len(loaded[0]) == n:
            return (loaded[0], 0), loaded[0], loaded[1]
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack([np.arange(n) % side, np.arange(n) // side], 1).astype(np.float32)
    return ('grid', n), grid, np.zeros(n, np.int32)


def prepared(scriptOp, comp, n):
    """The Prepared layout for n neurons, rebuilt only when the layout changed."""
    key, positions, layers = _source(comp, n)
    p = _layouts.get(scriptOp.path)
    if p is None or p.out.shape[1] != n or p.source[0] is not key[0] or p.source[1:] != key[1:]:
        p = Prepared(key, positions, layers)
        _layouts[scriptOp.path] = p
    return p


def gain_of(comp):
    par = getattr(comp.par, 'Gain', None)
    return float(par.eval()) if par is not None else 1.0


def fill(p, values, gain):
    """The frame's brightness and colours into p.out (in place); returns p.out."""
    light = decoder.brightness(values, gain)
    np.multiply(p.colours, light, out=p.out[2:5])
    p.out[5] = light
    return p.out


def onSetupParameters(scriptOp):
    return  # Gain and the layout file are on the parent COMP's Immersions page (build_network.py)


def onCook(scriptOp):
    comp = scriptOp.parent()
    r = comp.fetch('immersions', None, search=False)
    if r is None or r.values is None:
        return  # nothing received yet: keep the last output
    n = len(r.values)
    out = fill(prepared(scriptOp, comp, n), r.values, gain_of(comp))
    scriptOp.clear()
    scriptOp.numSamples = n
    for name in CHANNELS:
        scriptOp.appendChan(name)
    if hasattr(scriptOp, 'copyNumpyArray'):  # TouchDesigner 2021 and later: one copy
        scriptOp.copyNumpyArray(out)
    else:  # older builds: channel by channel
        for chan, row in zip(scriptOp.chans(), out):
            chan.vals = row.tolist()
    return
