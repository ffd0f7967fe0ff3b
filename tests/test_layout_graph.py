import pytest
import torch
from torch import nn

from immersions_osc.errors import UserError
from immersions_osc.layout.graph import multilevel, probe_graph


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.r1 = nn.Conv2d(1, 3, (3, 1)), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(3, 4, (5, 1)), nn.ReLU()
        self.pool = nn.MaxPool2d((2, 1), ceil_mode=True)
        self.c3, self.r3 = nn.Conv2d(4, 4, (3, 1), padding=(1, 0)), nn.ReLU()

    def forward(self, x):
        h = self.pool(self.r2(self.c2(self.r1(self.c1(x)))))
        return self.r3(self.c3(h) + h)  # residual


@pytest.fixture(scope="module")
def graph():
    torch.manual_seed(0)
    return probe_graph(Net(), torch.randn(1, 1, 20, 4))


def test_probed_structure(graph):
    assert graph.shapes == [(3, 18), (4, 14), (4, 7)]
    (b01, b12) = graph.blocks
    assert (b01.src, b01.dst, b01.kind) == (0, 1, "uniform")
    # conv 5 in frequency: output f sees inputs f..f+4
    assert b01.frequencies.sum(1).tolist() == [5.0] * 14 and b01.frequencies[3, 3:8].all()
    # pool 2 then a 3-tap conv plus the residual: f sees pooled rows f-1..f+1 -> inputs 2f-2..2f+3
    assert b12.frequencies[3].nonzero().flatten().tolist() == [4, 5, 6, 7, 8, 9]
    assert graph.num_edges == 3 * 4 * 14 * 5 + 4 * 4 * int(b12.frequencies.sum())


def test_structured_forces_equal_explicit_edges(graph):
    edges = torch.from_numpy(graph.explicit_edges())
    assert len(edges) == graph.num_edges
    pos = torch.randn(graph.num_vertices, 2, dtype=torch.float64)
    explicit = torch.zeros_like(pos)
    d = pos[edges[:, 1]] - pos[edges[:, 0]]
    explicit.index_add_(0, edges[:, 0], d).index_add_(0, edges[:, 1], -d)
    assert torch.allclose(graph.attraction(pos, 1.0), explicit)


def test_dense_adjacency_gives_the_structured_product(graph):
    dense = graph.dense_adjacency().double()
    assert torch.equal(dense, dense.T) and torch.allclose(dense.sum(1), graph.degrees())
    x = torch.randn(1, graph.num_vertices, 2, dtype=torch.float64)
    assert torch.allclose(dense @ x[0], graph.adjacency_product(x)[0])


def test_hop_distances(graph):
    d = graph.hop_distances(torch.tensor([0]))[0]
    assert d[0] == 0 and (d[graph.offsets[1]: graph.offsets[2]] >= 1).all() and (d >= 0).all()


def test_coarsening_keeps_edge_multiplicities(graph):
    graphs, parents = multilevel(graph, 10)
    assert graphs[-1].num_vertices <= 10 or graphs[-1].num_vertices == len(graph.shapes)
    for g, p in zip(graphs[1:], parents):
        assert g.num_edges == graph.num_edges
        assert int(p.max()) == g.num_vertices - 1


def test_cpc_graph_is_kronecker_structured():
    from immersions_osc.model.encoder import Encoder

    enc = Encoder(1, [2, 2, 2, 2, 3, 3, 3, 3])
    g = probe_graph(enc, torch.randn(1, 1, 216, 4))
    assert len(g.shapes) == 16 and g.shapes[0] == (2, 107) and g.shapes[-1] == (3, 1)
    kinds = {(b.src, b.dst): b.kind for b in g.blocks}
    assert kinds[(1, 3)] == "diagonal"  # residual, same channels
    assert g.blocks[0].frequencies.sum(1)[0] == 25  # 1x25 conv 2 of block 0


def test_model_without_layers():
    with pytest.raises(UserError):
        probe_graph(nn.Conv2d(1, 1, 3), torch.randn(1, 1, 5, 5))


# --- the fast build (structure read from the autograd graph, batched probing) vs the reference ------

def _same_graph(a, b) -> bool:
    return (a.names == b.names and a.shapes == b.shapes and len(a.blocks) == len(b.blocks)
            and all((x.src, x.dst) == (y.src, y.dst) and torch.equal(x.channels, y.channels)
                    and torch.equal(x.frequencies, y.frequencies) for x, y in zip(a.blocks, b.blocks)))


class RandomNet(nn.Module):
    """A conv net drawn from ``rng``: 2D blocks (kernels, strides, padding, dilation, groups, max/avg
    pooling, residuals, frequency crops), then optionally 1D blocks over (channel x frequency ->
    channel), global pooling and dense layers; ``odd`` adds a step the structure reader does not
    know (an element-wise product of two paths), so that layer must be probed."""

    def __init__(self, rng, odd: bool):
        super().__init__()
        self.odd = odd
        c, self.blocks2, self.blocks1, self.dense = 1, nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for _ in range(int(rng.integers(2, 4))):
            out = int(rng.choice([2, 4, 6]))
            groups = 2 if c % 2 == 0 and out % 2 == 0 and rng.random() < 0.3 else 1
            kf, sf, pf, df = int(rng.integers(1, 5)), int(rng.integers(1, 3)), int(rng.integers(0, 2)), int(rng.integers(1, 3))
            conv = nn.Conv2d(c, out, (kf, 2), stride=(sf, 1), padding=(pf, 1), dilation=(df, 1), groups=groups)
            pool = [nn.Identity(), nn.MaxPool2d((2, 1), ceil_mode=True), nn.AvgPool2d((2, 1))][int(rng.integers(3))]
            self.blocks2.append(nn.ModuleDict({"conv": conv, "bn": nn.BatchNorm2d(out), "pool": pool,
                                               "act": nn.ReLU() if rng.random() < 0.5 else nn.GELU()}))
            c = out
        self.to1d = nn.Conv2d(c, 5, (3, 1))
        self.act1d = nn.Tanh()
        self.conv1d = nn.Conv1d(5, 5, 2, padding=1)
        self.act1d2 = nn.ReLU()
        self.fc1, self.act_fc1 = nn.Linear(5, 7), nn.ReLU()
        self.fc2, self.act_fc2 = nn.Linear(7, 3), nn.Sigmoid()

    def forward(self, x):
        for b in self.blocks2:
            h = b["act"](b["pool"](b["bn"](b["conv"](x))))
            if h.shape[1] == x.shape[1] and h.shape[2] <= x.shape[2] and h.shape[3] == x.shape[3]:
                off = (x.shape[2] - h.shape[2]) // 2
                h = h + x[:, :, off: off + h.shape[2]]  # residual, centre-cropped in frequency
            x = h
        h = self.act1d(self.to1d(x))
        z = h.mean(dim=2)  # [B, 5, T]: not read structurally -> probed
        z = self.act1d2(self.conv1d(z)[..., 1:] * (z.sum(1, keepdim=True) if self.odd else 1.0))
        v = torch.nn.functional.adaptive_avg_pool1d(z, 1).flatten(1)
        return self.act_fc2(self.fc2(self.act_fc1(self.fc1(v))))


@pytest.mark.parametrize("seed", range(6))
def test_fast_build_equals_the_row_by_row_probe(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = RandomNet(rng, odd=seed % 2 == 1).eval()
    # probing sees only the argmax of a max-pool window per position: a long time axis makes a
    # missed window element (probability 2^-(channels x steps)) practically impossible
    x = torch.randn(1, 1, int(rng.integers(60, 90)), 32)
    reference = probe_graph(net, x, method="rows")
    auto = probe_graph(net, x, method="auto")
    assert _same_graph(auto, reference)
    # only the layer behind the product of two paths (unknown to the reader) is probed
    assert auto.probed == ([auto.names.index("act1d2")] if net.odd else [])
    assert _same_graph(probe_graph(net, x, method="batched"), reference)


def test_fast_build_of_the_cpc_model_equals_the_probe():
    from immersions_osc.config import Config
    from immersions_osc.model import build_model

    torch.manual_seed(0)
    cfg = Config()
    cfg.model.encoder_channels, cfg.model.ar_channels = [2, 2, 4, 4, 4, 4, 8, 8], [8] * 4 + [4] * 5
    model = build_model(cfg).eval()
    x = torch.randn(1, 11025)
    graph = probe_graph(model, x)
    assert graph.probed == []  # every connection of the CPC model is read from the autograd graph
    assert _same_graph(graph, probe_graph(model, x, method="rows"))


def test_a_model_mixing_its_batch_is_probed_row_by_row():
    class Mixer(nn.Module):
        def __init__(self):
            super().__init__()
            self.c, self.r1, self.r2 = nn.Conv1d(1, 3, 3), nn.ReLU(), nn.ReLU()

        def forward(self, x):
            h = self.r1(self.c(x))
            return self.r2(h * h.mean(0, keepdim=True))  # batch elements interact

    net = Mixer()
    x = torch.randn(1, 1, 9)
    assert _same_graph(probe_graph(net, x, method="batched"), probe_graph(net, x, method="rows"))


def test_graph_cache_round_trip_and_key(tmp_path):
    from immersions_osc.layout.graph import cached_graph

    torch.manual_seed(0)
    net, x = Net(), torch.randn(1, 1, 20, 4)
    path = str(tmp_path / "layout_graph.npz")
    built, hit = cached_graph(net, x, path)
    again, hit2 = cached_graph(net, x, path)
    assert (hit, hit2) == (False, True) and _same_graph(built, again)
    other, hit3 = cached_graph(net, torch.randn(1, 1, 24, 4), path)  # another probe input: rebuilt
    assert not hit3 and other.shapes != built.shapes
    (tmp_path / "layout_graph.npz").write_bytes(b"damaged")
    assert cached_graph(net, x, path)[1] is False


def test_a_frozen_model_is_read_like_a_trainable_one():
    torch.manual_seed(0)
    net, x = Net(), torch.randn(1, 1, 20, 16)
    reference = probe_graph(net, x, method="rows")
    for p in net.parameters():
        p.requires_grad_(False)  # what the optimizer does to its model
    graph = probe_graph(net, x)
    assert _same_graph(graph, reference) and graph.probed == []  # read, not probed
    assert not any(p.requires_grad for p in net.parameters())
