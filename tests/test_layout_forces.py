import pytest
import torch

from immersions_osc.layout import forces
from immersions_osc.layout.forces import (BarnesHut, Repulsion, barnes_hut_repulsion, exact_repulsion,
                                          relative_error)


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


@pytest.mark.parametrize("kind", ["random", "clustered"])
def test_barnes_hut_fractional_exponent_and_wider_angle(kind):
    # k + 1 = 3.5 takes the general pow path; theta = 1 (the layout default) is still within 2 %
    pos, q = points(kind, 3000, seed=1)
    assert relative_error(barnes_hut_repulsion(pos, q, 2.5, theta=0.5), exact_repulsion(pos, q, 2.5)) < 0.02
    assert relative_error(barnes_hut_repulsion(pos, q, 2.0, theta=1.0), exact_repulsion(pos, q, 2.0)) < 0.02


def test_far_field_is_a_first_order_expansion():
    # the local expansions carry the field's Jacobian down the tree; with the field alone (zeroth
    # order) the error on this set is 0.15 %, with the Jacobian 0.07 %
    pos, q = points("random", 3000)
    assert relative_error(barnes_hut_repulsion(pos, q, 2.0, theta=0.5), exact_repulsion(pos, q, 2.0)) < 1e-3


def test_wider_angle_means_fewer_direct_pairs_and_larger_error():
    pos, q = points("random", 4000, seed=2)
    exact = exact_repulsion(pos, q, 2.0)
    narrow, wide = BarnesHut(pos, q, 2.0, 0.3), BarnesHut(pos, q, 2.0, 1.2)
    assert len(wide.near_i) < len(narrow.near_i) / 4
    assert relative_error(narrow(pos), exact) < relative_error(wide(pos), exact)


def test_barnes_hut_sees_every_pair_once():
    # the dual traversal must cover every (target, source) pair exactly once: a pair missed or
    # counted twice would show as a large error, far above the approximation error at theta 0.2
    pos, q = points("clustered", 700, seed=4)
    exact = exact_repulsion(pos.double(), q.double(), 2.0)
    approx = barnes_hut_repulsion(pos.double(), q.double(), 2.0, theta=0.2)
    assert relative_error(approx, exact) < 2e-3


def test_plan_reused_at_moved_positions():
    # a plan built at pos, evaluated after a small move, is as good as a fresh one at the new points
    pos, q = points("random", 3000, seed=5)
    moved = pos + 0.01 * torch.randn(pos.shape, generator=torch.Generator().manual_seed(0))
    plan = BarnesHut(pos, q, 2.0, 0.5)
    assert relative_error(plan(moved), exact_repulsion(moved, q, 2.0)) < 0.02
    # and it really uses the new positions (not the ones it was built at)
    assert relative_error(plan(moved), plan(pos)) > 1e-4


def test_repulsion_rebuilds_every_few_calls(monkeypatch):
    pos, q = points("random", 2000)
    built = []
    original = forces.BarnesHut

    def counting(*args, **kwargs):
        built.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(forces, "BarnesHut", counting)
    rep = Repulsion(q, 2.0, 0.5, "barnes-hut", rebuild_every=3)
    for _ in range(7):
        rep(pos)
    assert len(built) == 3  # calls 0, 3, 6
    monkeypatch.setattr(forces, "EXACT_BELOW", 5000)
    assert torch.allclose(Repulsion(q, 2.0, 0.5, "barnes-hut")(pos), exact_repulsion(pos, q, 2.0))


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
