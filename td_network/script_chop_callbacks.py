# Script CHOP callbacks: one sample per neuron, ready for instancing.
#
# Channels (one sample per neuron, in the layout's order):
#   tx, ty      position from the layout (the .npz shipped with the model, or the one the
#               service sends after /immersions/layout/request), scaled into -1..1
#   r, g, b     the neuron's layer colour times its brightness
#   activation  brightness 0..1 (activation / the frame's 99th percentile, times the Gain parameter)
#
# build_network.py copies this file into the 'chop_callbacks' Text DAT.

import numpy as np

from immersions_osc.service import decoder

_cache = {}  # layout path -> (positions, layer per neuron, layer names)


def layout(comp, n):
    """Positions [n, 2] and layer index [n] for n neurons: streamed layout first, then the .npz."""
    r = comp.fetch('immersions', None, search=False)
    if r is not None and r.positions is not None and len(r.positions) == n:
        layers = r.layer_of_neuron(n)
        if layers is not None:
            return r.positions, layers
    path = comp.par.Layoutfile.eval() if hasattr(comp.par, 'Layoutfile') else ''
    if path:
        if path not in _cache:
            _cache[path] = decoder.load_layout_npz(path)
        positions, layers, _ = _cache[path]
        if len(positions) == n:
            return positions, layers
    # no layout yet: a square grid, all one colour
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack([np.arange(n) % side, np.arange(n) // side], 1).astype(np.float32)
    return grid, np.zeros(n, np.int32)


def onSetupParameters(scriptOp):
    page = scriptOp.appendCustomPage('Immersions')
    page.appendFloat('Gain', label='Brightness gain')[0].default = 1.0
    return


def onCook(scriptOp):
    comp = scriptOp.parent()
    r = comp.fetch('immersions', None, search=False)
    if r is None or r.values is None:
        return  # nothing received yet: keep the last output
    values = r.values
    n = len(values)
    positions, layers = layout(comp, n)
    xy = decoder.normalized_positions(positions)
    gain = scriptOp.par.Gain.eval() if hasattr(scriptOp.par, 'Gain') else 1.0
    light = decoder.brightness(values, gain)
    colours = decoder.layer_colors(int(layers.max()) + 1)[layers] * light[:, None]
    columns = {'tx': xy[:, 0], 'ty': xy[:, 1], 'r': colours[:, 0], 'g': colours[:, 1], 'b': colours[:, 2],
               'activation': light}
    scriptOp.clear()
    scriptOp.numSamples = n
    for name, column in columns.items():
        scriptOp.appendChan(name).vals = column.astype(np.float32).tolist()
    return
