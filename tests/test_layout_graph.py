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
