"""Streaming inference (immersions_osc/model/streaming.py): fed chunk by chunk, every layer's columns
are those of the full causal forward; a streaming frame makes no host sync (immersions_osc/syncs.py)."""
import math

import pytest
import torch

from immersions_osc.activations import capture_activations
from immersions_osc.config import Config, ModelConfig
from immersions_osc.model import build_model
from immersions_osc.model.streaming import StreamingCPC
from immersions_osc.syncs import count_syncs

HOP = 1024


def random_model(preset: str, seed: int):
    """Random weights and random batch-norm statistics (so that no batch norm is the identity)."""
    torch.manual_seed(seed)
    model = build_model(Config(model=ModelConfig(preset=preset))).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return model


def stream_in_random_chunks(stream: StreamingCPC, audio: torch.Tensor, generator: torch.Generator):
    """Feed ``audio`` in chunks of random sizes (mostly not a multiple of the hop, some shorter than
    one hop, some several hops); the columns of every layer, concatenated over time."""
    columns: dict[str, list[torch.Tensor]] = {}
    start, sizes = 0, []
    while start < audio.shape[-1]:
        size = int(torch.randint(1, 3 * HOP + 500, (1,), generator=generator))
        sizes.append(size)
        for layer, new in stream.feed(audio[..., start:start + size]).items():
            columns.setdefault(layer, []).append(new)
        start += size
    assert any(s < HOP for s in sizes) and any(s > 2 * HOP for s in sizes) and any(s % HOP for s in sizes)
    return {layer: torch.cat(parts, -1) for layer, parts in columns.items()}


@pytest.mark.parametrize("preset", ["small", "seed"])
@pytest.mark.parametrize("seed", [0, 1])
def test_streamed_columns_equal_the_full_causal_forward_at_every_layer(preset, seed):
    model = random_model(preset, seed)
    generator = torch.Generator().manual_seed(100 + seed)
    frames = 72  # past every layer's history (the 40 Hz kernel: 37 frames; the last AR conv: 48)
    audio = 0.3 * torch.randn(frames * HOP + 517, generator=generator)  # a partial last hop
    stream = StreamingCPC(model)
    streamed = stream_in_random_chunks(stream, audio, generator)
    assert stream.frames == frames
    assert list(streamed) == stream.layer_names
    assert all(c.shape[-1] == frames for c in streamed.values())  # one column per frame, every layer
    # The full forward over the first T frames: a layer s frames apart ends its columns at frames
    # T - 1, T - 1 - s, ...  Sixteen consecutive T cover every phase of the deepest (s = 16) layers.
    checked = set()
    for t in range(frames - 16, frames + 1):
        full = capture_activations(model, audio[None, :t * HOP])
        assert list(full) == stream.layer_names
        for layer, reference in full.items():
            n = reference.shape[-1]
            s = next(s for s in (1, 2, 4, 8, 16) if math.ceil(t / s) == n)
            ends = torch.arange(t - 1 - s * (n - 1), t, s)
            got = streamed[layer][..., ends]
            error = float((got - reference).abs().max() / reference.abs().max())
            assert error <= 1e-4, (layer, t, error)
            checked.add((layer, s))
    assert {s for _, s in checked} == {2, 4, 8, 16}  # every stride was compared (block 0 pools at once)


def test_a_batch_streams_like_its_clips_one_by_one():
    model = random_model("small", 2)
    audio = 0.3 * torch.randn(2, 20 * HOP + 100)
    together = stream_in_random_chunks(StreamingCPC(model), audio, torch.Generator().manual_seed(3))
    for b in range(2):
        alone = stream_in_random_chunks(StreamingCPC(model), audio[b], torch.Generator().manual_seed(4))
        for layer in alone:
            torch.testing.assert_close(together[layer][b], alone[layer][0], rtol=1e-4, atol=1e-5)


def test_a_streaming_frame_makes_no_host_sync():
    model = random_model("small", 0)
    stream = StreamingCPC(model)
    stream.feed(0.3 * torch.randn(40 * HOP + 300))  # warm: every history exists
    chunk = 0.3 * torch.randn(44100 // 30)  # one live frame of audio at 30 frames/s
    with count_syncs() as syncs:
        new = stream.feed(chunk)
    assert new and all(c.shape[-1] >= 1 for c in new.values())  # it did compute the frame's columns
    assert syncs.count == 0, syncs.calls


def test_the_sync_counter_sees_each_kind_of_host_sync():
    """The zero above can fail: each of these reads a value on the host (or sizes an output by it)."""
    t = torch.randn(8)
    cases = [lambda: bool(t.sum() > 0), lambda: float(t[0]), lambda: int(t[1]), lambda: t.max().item(),
             lambda: t.tolist(), lambda: t.nonzero(), lambda: t[t > 0], lambda: t.cpu(), lambda: t.numpy(),
             lambda: torch.unique(t), lambda: torch.equal(t, t)]
    for case in cases:
        with count_syncs() as syncs:
            case()
        assert syncs.count >= 1, case
    with count_syncs() as syncs:  # device-side work only
        torch.where(t > 0, t, torch.zeros_like(t)).sum()
        t[torch.tensor([0, 2])]
        t.to(torch.float64)
        t.to(t.device)  # moving input to the model's device: no copy to the host
    assert syncs.count == 0, syncs.calls


def test_streaming_needs_the_model_in_eval_mode():
    model = build_model(Config(model=ModelConfig(preset="small")))
    with pytest.raises(ValueError, match="eval"):
        StreamingCPC(model.train())


def test_a_weight_changed_in_place_is_used_from_the_next_chunk_on():
    """The prepared matrices (batch norm folded in) are made again when a tensor changes in place.
    The last block's batch norm acts on each column alone, so after changing it the stream's new
    columns of the last layer are those of the full forward of the changed model."""
    model = random_model("small", 3)
    audio = 0.3 * torch.randn(40 * HOP)
    stream = StreamingCPC(model)
    stream.feed(audio[:30 * HOP])
    with torch.no_grad():  # in place, as an optimizer step or load_state_dict
        model.ar.blocks[-1].bn.bias.add_(0.5)
    new = stream.feed(audio[30 * HOP:])
    last = stream.layer_names[-1]
    reference = capture_activations(model, audio[None])[last]  # the last layer: stride 16, ends at frame 39
    error = float((new[last][..., -1] - reference[..., -1]).abs().max() / reference.abs().max())
    assert error <= 1e-4, error


def test_the_phase_channel_streams_too():
    """``scaleogram.phase``: the scaleogram's second channel (the phase) reaches the encoder alike."""
    torch.manual_seed(4)
    cfg = Config(model=ModelConfig(preset="small"))
    cfg.scaleogram.phase = True
    model = build_model(cfg).eval()
    frames = 50
    audio = 0.3 * torch.randn(frames * HOP + 10)
    streamed = stream_in_random_chunks(StreamingCPC(model), audio, torch.Generator().manual_seed(5))
    for layer, reference in capture_activations(model, audio[None, :frames * HOP]).items():
        n = reference.shape[-1]
        s = next(s for s in (1, 2, 4, 8, 16) if math.ceil(frames / s) == n)
        got = streamed[layer][..., torch.arange(frames - 1 - s * (n - 1), frames, s)]
        error = float((got - reference).abs().max() / reference.abs().max())
        assert error <= 1e-4, (layer, error)
