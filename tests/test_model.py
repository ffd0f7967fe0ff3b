import itertools
import math

import pytest
import torch

from immersions_osc.config import Config, ModelConfig, LossConfig
from immersions_osc.model import AR_TABLE, build_model, cpc_loss, sat_loss
from immersions_osc.model.layers import receptive_field

SR = 44100


def make(preset="small", loss="cpc", **model):
    return build_model(Config(model=ModelConfig(preset=preset, **model), loss=LossConfig(kind=loss)))


@pytest.fixture(scope="module")
def seed_model():
    return make("seed").eval()


def test_seed_preset_shapes_and_size(seed_model):
    with torch.no_grad():
        z, c = seed_model(torch.randn(2, 4 * SR) * 0.1)
    # 4 s -> 172 frames -> two pools -> 43 encodings of 512 channels (~93 ms each);
    # the AR pools twice more: ceil(ceil(43 / 2) / 2) = 11 context steps of 256 channels.
    assert z.shape == (2, 512, 43)
    assert c.shape == (2, 256, 11)
    counts = {name: sum(p.numel() for p in getattr(seed_model, name).parameters())
              for name in ("encoder", "ar", "predictor")}
    print(f"seed parameters: {counts}, total {sum(counts.values())}")
    assert counts["predictor"] == 16 * 256 * 512  # one 512x256 M_k per predicted step


def test_seed_tables_are_the_papers():
    assert [b.out_channels for b in [blk.conv1 for blk in make("seed").encoder.blocks]] == \
        [8, 16, 32, 64, 128, 256, 512, 512]
    assert [blk.conv.out_channels for blk in make("seed").ar.blocks] == [512, 512, 512, 512, 256, 256, 256, 256, 256]
    # kernels as (frequency, time) in the conv weights
    enc = make("seed").encoder
    assert enc.blocks[0].conv1.kernel_size == (3, 3) and enc.blocks[0].pool
    assert enc.blocks[0].conv2.kernel_size == (25, 1)
    assert enc.blocks[6].conv2.kernel_size == (5, 1)
    assert sum(b.pool for b in enc.blocks) == 2 and sum(b.pool for b in make("seed").ar.blocks) == 2


def test_small_preset_has_the_same_topology():
    small, seed = make("small"), make("seed")
    for a, b in zip(small.encoder.blocks, seed.encoder.blocks):
        assert a.conv1.kernel_size == b.conv1.kernel_size and a.conv2.kernel_size == b.conv2.kernel_size
        assert a.pool == b.pool
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in seed.parameters()) / 10


def test_crop_length_is_derived_from_receptive_field_and_prediction_span():
    m = make("seed")
    assert m.ar.receptive_field == receptive_field([(s.kernel, s.pool) for s in AR_TABLE]) == 46
    assert m.crop_samples == (46 + 4 + 16) * 4 * 1024
    m.eval()
    with torch.no_grad():
        pred, target = m.predictions_and_targets(torch.randn(2, m.crop_samples) * 0.1)
    assert pred.shape == target.shape == (2, 16, 512)


def test_encoder_is_causal(seed_model):
    hop = 1024
    x = torch.randn(1, 4 * SR) * 0.1
    s = 100 * hop + 17
    y = x.clone()
    y[0, s:] = torch.randn(4 * SR - s) * 0.1
    with torch.no_grad():
        za, zb = seed_model.encode(x), seed_model.encode(y)
    # z_j pools frames 4j..4j+3; frame t ends at sample (t+1)*hop - 1.
    earlier = [j for j in range(za.shape[-1]) if (4 * j + 4) * hop - 1 < s]
    assert len(earlier) == 25  # j = 0..24: (4*24 + 4) * 1024 - 1 = 102399 < s
    assert torch.allclose(za[..., earlier], zb[..., earlier], atol=1e-6, rtol=0)
    assert not torch.allclose(za[..., len(earlier):], zb[..., len(earlier):], atol=1e-4)


def test_autoregressive_model_is_causal(seed_model):
    z = torch.rand(1, 512, 43)
    with torch.no_grad():
        c = seed_model.ar(z)
        for s in (5, 20, 37):
            z2 = z.clone()
            z2[..., s:] = torch.rand(1, 512, 43 - s)
            c2 = seed_model.ar(z2)
            # 43 steps: pool 1 pads one step at the start (output j covers z[2j-1, 2j]), pool 2
            # pairs those (output j ends at z index 4j + 2).
            unchanged = [j for j in range(c.shape[-1]) if 4 * j + 2 < s]
            assert torch.allclose(c[..., unchanged], c2[..., unchanged], atol=1e-6, rtol=0)
            assert not torch.allclose(c[..., len(unchanged)], c2[..., len(unchanged)], atol=1e-4)


def test_context_depends_only_on_its_receptive_field(seed_model):
    z = torch.rand(1, 512, 80)
    with torch.no_grad():
        full = seed_model.ar(z)[..., -1]
        window = seed_model.ar(z[..., -seed_model.ar.receptive_field:])[..., -1]
        too_short = seed_model.ar(z[..., -seed_model.ar.receptive_field + 8:])[..., -1]
    assert torch.allclose(full, window, atol=1e-5)
    assert not torch.allclose(full, too_short, atol=1e-4)


def brute_force_cpc(pred, target):
    n, k, _ = pred.shape
    total = 0.0
    for i, step in itertools.product(range(n), range(k)):
        scores = [float(target[m, step] @ pred[i, step]) for m in range(n)]
        total -= scores[i] - math.log(sum(math.exp(s) for s in scores))
    return total / (n * k)


def brute_force_sat(pred, target):
    n, k, _ = pred.shape
    total = 0.0
    for i, step in itertools.product(range(n), range(k)):
        denominator = sum(math.exp(float(target[m, l] @ pred[i, l])) for m in range(n) for l in range(k))
        total -= float(target[i, step] @ pred[i, step]) - math.log(denominator)
    return total / (n * k)


def test_losses_are_the_seeds_formulas():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(5, 3, 7, generator=g), torch.randn(5, 3, 7, generator=g)
    assert cpc_loss(pred, target).loss.item() == pytest.approx(brute_force_cpc(pred, target), rel=1e-5)
    assert sat_loss(pred, target).loss.item() == pytest.approx(brute_force_sat(pred, target), rel=1e-5)
    assert cpc_loss(pred, target).chance == pytest.approx(math.log(5))
    assert sat_loss(pred, target).chance == pytest.approx(math.log(15))


def test_perfect_predictions_give_full_accuracy():
    target = torch.eye(8).repeat(2, 1).view(2, 8, 8).transpose(0, 1).contiguous()  # [8 clips, 2 steps, 8]
    result = cpc_loss(20 * target, target)
    assert result.accuracy.item() == 1.0 and result.loss.item() < 1e-3


@pytest.mark.parametrize("loss", ["cpc", "sat"])
def test_loss_starts_at_chance_and_overfits_a_fixed_batch(loss):
    torch.manual_seed(0)
    model = make("small", loss=loss, encoder_channels=[4, 4, 8, 8, 8, 8, 16, 16],
                 ar_channels=[16] * 9, prediction_steps=4)
    model.train()
    batch = torch.randn(4, model.crop_samples) * 0.1
    first = model.contrastive_loss(batch)
    assert abs(first.loss.item() - first.chance) < 0.1 * first.chance
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        result = model.contrastive_loss(batch)
        optimizer.zero_grad()
        result.loss.backward()
        optimizer.step()
    print(f"{loss}: {first.loss.item():.3f} -> {result.loss.item():.3f} "
          f"(chance {first.chance:.3f}, floor {first.floor:.3f})")
    assert result.loss.item() - first.floor < 0.5 * (first.chance - first.floor)


def test_too_short_clip_is_a_clear_error():
    with pytest.raises(ValueError, match="need at least"):
        make("small").predictions_and_targets(torch.zeros(1, 4 * 1024 * 10))
