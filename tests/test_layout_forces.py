import pytest
import torch

from immersions_osc.layout.forces import barnes_hut_repulsion, exact_repulsion, relative_error


def points(kind: str, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    if kind == "random":
        pos = torch.rand(n, 2, generator=g) * 10
    else:  # clusters of very different sizes, far apart
        centres = torch.rand(6, 2, generator=g) * 100
        spread = torch.tensor([0.01, 0.1, 0.5, 1.0, 3.0, 10.0])
        which = torch.randint(0, 6, (n,), generator=g)
        pos = centres[which] + torch.randn(n, 2, generator=g) * spread[which, None]
    return pos, torch.rand(n, generator=g) + 0.2


@pytest.mark.parametrize("kind", ["random", "clustered"])
@pytest.mark.parametrize("exponent", [2.0, 3.0])
def test_barnes_hut_within_two_percent_of_exact(kind, exponent):
    pos, q = points(kind, 3000)
    exact = exact_repulsion(pos, q, exponent)
    approx = barnes_hut_repulsion(pos, q, exponent, theta=0.5)
    assert relative_error(approx, exact) < 0.02


def test_exact_matches_a_direct_double_loop():
    pos, q = points("random", 7, seed=3)
    out = exact_repulsion(pos.double(), q.double(), 2.5)
    for i in range(7):
        f = sum(q[i] * q[j] * (pos[i] - pos[j]) / (pos[i] - pos[j]).norm() ** 3.5 for j in range(7) if j != i)
        assert torch.allclose(out[i].float(), f, rtol=1e-4)


def test_barnes_hut_handles_duplicates_and_tiny_sets():
    pos = torch.zeros(5, 2)
    assert torch.isfinite(barnes_hut_repulsion(pos, torch.ones(5), 2.0, 0.5)).all()
    assert barnes_hut_repulsion(torch.zeros(1, 2), torch.ones(1), 2.0, 0.5).abs().sum() == 0


@pytest.mark.gpu
def test_barnes_hut_on_cuda():
    pos, q = points("clustered", 3000)
    exact = exact_repulsion(pos, q, 2.0)
    approx = barnes_hut_repulsion(pos.cuda(), q.cuda(), 2.0, theta=0.5).cpu()
    assert relative_error(approx, exact) < 0.02
