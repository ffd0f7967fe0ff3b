import numpy as np
import pytest
import torch

from immersions_osc.config import LayoutConfig
from immersions_osc.errors import UserError
from immersions_osc.images import read_png
from immersions_osc.layout import metrics, render, simulate
from immersions_osc.layout.export import Layout, load_layout, save_layout
from immersions_osc.layout.graph import Block, NeuronGraph

FAST = dict(iterations_coarse=60, iterations_fine=30, coarsest_size=200)


def chain_graph(channels=(8, 8, 8), freqs=(40, 36, 32), kernel=5):
    """Conv-like layers: dense channels, a `kernel`-wide frequency band."""
    blocks = []
    for i in range(len(channels) - 1):
        m = torch.zeros(freqs[i + 1], freqs[i])
        for f in range(freqs[i + 1]):
            m[f, f: f + kernel] = 1
        blocks.append(Block(i, i + 1, torch.ones(channels[i + 1], channels[i]), m))
    return NeuronGraph([f"l{i}" for i in range(len(channels))], list(zip(channels, freqs)), blocks)


def test_exact_and_barnes_hut_layouts_have_equal_quality():
    g = chain_graph((16, 16, 16, 16), (36, 34, 32, 30), 3)  # 2 112 vertices
    assert g.num_vertices > 2000
    s = metrics.sample(g, sources=32, edges=20000)
    q = {}
    for method in ("exact", "barnes-hut"):
        cfg = LayoutConfig(method=method, iterations_coarse=30, iterations_fine=10, coarsest_size=200)
        pos = simulate.layout(g, torch.ones(g.num_vertices), cfg, "cpu")
        q[method] = metrics.quality(pos, s)
    assert abs(q["exact"]["stress"] - q["barnes-hut"]["stress"]) < 0.02
    assert abs(q["exact"]["neighbourhood"] - q["barnes-hut"]["neighbourhood"]) < 0.05


def test_exponent_changes_spread():
    g = chain_graph((6, 6), (30, 26))
    spreads = []
    for k in (2.0, 3.0):
        pos = simulate.layout(g, torch.ones(g.num_vertices), LayoutConfig(exponent=k, **FAST), "cpu")
        nn = metrics.mean_nearest_neighbour(pos)
        spreads.append(float((nn / nn.mean()).var()))
    assert abs(spreads[0] - spreads[1]) > 0.1 * min(spreads)


def test_snapshots_warm_start():
    g = chain_graph((4, 4), (12, 10))
    cfg = LayoutConfig(snapshot_iterations=5, **FAST)
    pos = simulate.layout(g, torch.ones(g.num_vertices), cfg, "cpu")
    frames = torch.rand(3, g.num_vertices)
    anim = simulate.snapshots(g, torch.ones(g.num_vertices), frames, pos, cfg, "cpu")
    assert anim.shape == (3, g.num_vertices, 2)
    assert 0 < float((anim[0] - pos).norm(dim=1).mean()) < float(pos.norm(dim=1).mean())


def test_metrics_prefer_a_good_layout():
    g = chain_graph((4, 4), (12, 10))
    s = metrics.sample(g, sources=16, edges=5000)
    good = simulate.layout(g, torch.ones(g.num_vertices), LayoutConfig(**FAST), "cpu")
    bad = torch.randn(g.num_vertices, 2)
    assert metrics.normalized_stress(good, s) < metrics.normalized_stress(bad, s)
    assert metrics.neighbourhood_preservation(good, s) > metrics.neighbourhood_preservation(bad, s)
    assert metrics.edge_length_cv(good.numpy(), s) < metrics.edge_length_cv(bad.numpy(), s)


def test_export_round_trip_and_corrupt_file(tmp_path):
    g = chain_graph((2, 2), (5, 4))
    lay = Layout(np.random.rand(g.num_vertices, 2), g.index_table(), g.names, np.array(g.shapes),
                 np.ones(g.num_vertices), np.array([[b.src, b.dst, b.n_edges] for b in g.blocks]),
                 np.random.rand(2, g.num_vertices, 2), {"note": "x"})
    path = tmp_path / "l.npz"
    save_layout(path, lay)
    back = load_layout(path)
    assert back.positions.dtype == np.float32 and back.layer_names == g.names
    assert back.metadata["note"] == "x" and back.animation.shape == (2, g.num_vertices, 2)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match="not a readable"):
        load_layout(path)


def test_pngs(tmp_path):
    from immersions_osc.images import write_png

    g = chain_graph((3, 3), (10, 8))
    pos = np.random.rand(g.num_vertices, 2)
    img = render.layer_image(pos, g.layer_of_vertex(), 2, size=128)
    write_png(tmp_path / "a.png", img)
    back = read_png(tmp_path / "a.png")
    colours = {tuple(c) for c in back.reshape(-1, 3)}
    assert {tuple(c) for c in render.layer_colours(2)} <= colours
    act = render.activation_image(pos, np.linspace(0, 1, g.num_vertices), size=128)
    assert act.max() > 200 and act.shape == (128, 128, 3)


def path_graph(n=12):
    """n one-neuron layers in a row: a path."""
    blocks = [Block(i, i + 1, torch.ones(1, 1), torch.ones(1, 1)) for i in range(n - 1)]
    return NeuronGraph([f"l{i}" for i in range(n)], [(1, 1)] * n, blocks)


def test_dense_attraction_equals_structured(monkeypatch):
    g = chain_graph((3, 4), (9, 7))
    pos = torch.randn(g.num_vertices, 2)
    dense = simulate.Attraction(g, 0.3)
    assert dense.dense is not None
    monkeypatch.setattr(simulate, "DENSE_BELOW", 0)
    structured = simulate.Attraction(g, 0.3)
    assert structured.dense is None
    assert torch.allclose(dense(pos), structured(pos), atol=1e-5)
    assert torch.allclose(structured(pos), g.attraction(pos, 0.3), atol=1e-6)


def test_virial_rescale_balances_the_forces():
    from immersions_osc.layout.forces import exact_repulsion

    g = chain_graph((4, 4), (12, 10))
    q = torch.rand(g.num_vertices, dtype=torch.float64) + 0.5
    att = simulate.Attraction(g, 0.2, torch.float64)
    pos = torch.randn(g.num_vertices, 2, dtype=torch.float64) * 30  # far too spread out

    def virial(p):
        return float((p * (att(p) + exact_repulsion(p, q, 2.0) - 0.01 * p)).sum())

    scaled = simulate.virial_rescale(pos, att(pos), exact_repulsion(pos, q, 2.0), 0.01, 2.0)
    assert float(scaled.norm()) < float(pos.norm())  # it shrank
    assert torch.allclose(scaled / scaled.norm(), pos / pos.norm())  # a pure scaling
    assert abs(virial(scaled)) < 1e-6 * abs(virial(pos))


def test_mds_start_recovers_a_path():
    g = path_graph(12)
    gen = torch.Generator().manual_seed(0)
    pos = simulate.mds_positions(g, simulate.initial_positions(12, gen, "cpu"), 0.0, gen)
    d = (pos - pos[0]).norm(dim=1)
    assert (d[1:] > d[:-1]).all()  # distances from one end grow along the path
    # structurally equivalent vertices (same neighbours) get the same coordinates, so the jitter
    # is what separates them
    g = chain_graph((3, 3), (4, 4), kernel=1)
    pos = simulate.mds_positions(g, simulate.initial_positions(g.num_vertices, gen, "cpu"), 0.0, gen)
    assert torch.allclose(pos[0], pos[4], atol=1e-4)  # channels 0 and 1 of frequency 0, layer 0
    pos = simulate.mds_positions(g, simulate.initial_positions(g.num_vertices, gen, "cpu"), 0.1, gen)
    assert float((pos[0] - pos[4]).norm()) > 1e-3


def test_mds_start_lays_out_a_path_straighter_than_random():
    g = path_graph(40)
    s = metrics.sample(g, sources=16, edges=100)
    stress = {}
    for init in ("mds", "random"):
        cfg = LayoutConfig(init=init, coarsest_size=50, iterations_coarse=20)
        stress[init] = metrics.normalized_stress(simulate.layout(g, torch.ones(40), cfg, "cpu"), s)
    assert stress["mds"] < 0.5 * stress["random"]


def test_init_must_be_known():
    from immersions_osc.config import ConfigError

    with pytest.raises(ConfigError, match="init"):
        LayoutConfig(init="spiral").validate("layout.")
