"""The layout over HTTP on the viewer's port: ``/layout.npz`` and ``/layout.json`` give exactly
what the OSC chunks give (for clients that would rather fetch it than reassemble datagrams)."""
import io
import json
import urllib.request

import numpy as np
import pytest

from immersions_osc.osc.decoder import ActivationReceiver, load_layout_npz

from service_harness import running_viewer


@pytest.fixture(scope="module")
def web():
    yield from running_viewer()


def fetch(web, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{web.port}{path}", timeout=30) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def test_layout_over_http_equals_the_osc_chunks(web):
    service = web.service
    osc = ActivationReceiver()  # what a client reassembles from /immersions/layout/request
    for d in service.stream.layout_datagrams():
        osc.feed_datagram(d)
    status, kind, body = fetch(web, "/layout.npz")
    assert status == 200 and kind == "application/octet-stream"
    positions, layers, names = load_layout_npz(io.BytesIO(body))  # the numpy-only loader TouchDesigner has
    np.testing.assert_array_equal(positions, osc.positions)
    assert names == service.vector.layer_names
    np.testing.assert_array_equal(layers, osc.layer_of_neuron(len(positions)))
    status, kind, body = fetch(web, "/layout.json")
    data = json.loads(body)
    assert status == 200 and kind == "application/json" and data["neurons"] == len(positions)
    np.testing.assert_array_equal(np.asarray(data["positions"], np.float32).reshape(-1, 2), osc.positions)
    assert [(r["index"], r["name"], r["offset"], r["channels"], r["frequencies"]) for r in data["layers"]] == \
        [(i.index, i.name, i.offset, i.channels, i.frequencies) for i in (osc.layers[k] for k in sorted(osc.layers))]
    assert data["frame"] == service.stream.layout_frame
