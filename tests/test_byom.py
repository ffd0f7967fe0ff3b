"""Bring your own model: the contract, its clear errors, axes metadata, exported programs, the
three examples end to end (small sizes) and the service streaming and sonifying example (b)."""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from immersions_osc.activations import capture_activations
from immersions_osc.contract import check_model, describe, load
from immersions_osc.errors import UserError
from immersions_osc.layout.graph import probe_graph

from fixtures import load_file
from service_harness import REPO, OSCClient, in_process_config

MEL = os.path.join(REPO, "examples", "mel_cnn.py")


def example(name: str):
    return load_file(f"example_{name}", "examples", f"{name}.py")


def write_model(tmp_path, body: str, name: str = "user_model.py") -> str:
    path = tmp_path / name
    path.write_text("import torch\nfrom torch import nn\n\n" + textwrap.dedent(body))
    return str(path)


GOOD = """
class Net(nn.Module):
    sample_rate = 8000
    window_seconds = 0.25

    def __init__(self):
        super().__init__()
        self.conv, self.relu = nn.Conv1d(1, 4, 9, stride=4), nn.ReLU()
        self.fc, self.tanh = nn.Linear(4, 3), nn.Tanh()

    def forward(self, audio):
        h = self.relu(self.conv(audio.unsqueeze(1)))
        return self.tanh(self.fc(h.mean(-1)))

def build():
    return Net()
"""

BAD = {
    "no nonlinearity": ("class Net(nn.Module):\n    sample_rate = 8000\n    def __init__(self):\n"
                        "        super().__init__()\n        self.fc = nn.Linear(8000, 2)\n"
                        "    def forward(self, audio):\n        return self.fc(audio)\n"
                        "def build():\n    return Net()\n", "no recognizable layers"),
    "wrong input rank": ("class Net(nn.Module):\n    sample_rate = 8000\n    def __init__(self):\n"
                         "        super().__init__()\n        self.conv, self.relu = nn.Conv2d(1, 2, 3), nn.ReLU()\n"
                         "    def forward(self, audio):\n        return self.relu(self.conv(audio))\n"
                         "def build():\n    return Net()\n", "raised RuntimeError on audio of shape (1, 8000)"),
    "model raises": ("class Net(nn.Module):\n    sample_rate = 8000\n    def __init__(self):\n"
                     "        super().__init__()\n        self.relu = nn.ReLU()\n"
                     "    def forward(self, audio):\n        raise ValueError('only stereo, please')\n"
                     "def build():\n    return Net()\n", "only stereo, please"),
    "no sample rate": ("def build():\n    return nn.Sequential(nn.ReLU())\n", "sample_rate"),
    "not a module": ("def build():\n    return 42\n", "not a torch.nn.Module"),
    "factory raises": ("def build():\n    raise RuntimeError('weights missing')\n", "weights missing"),
    "bad neurons": ("class Net(nn.Module):\n    sample_rate = 8000\n    neurons = ['nope']\n"
                    "    def __init__(self):\n        super().__init__()\n        self.relu = nn.ReLU()\n"
                    "    def forward(self, audio):\n        return self.relu(audio)\n"
                    "def build():\n    return Net()\n", "'nope', which is not one of its modules"),
    "bad axes": ("class Net(nn.Module):\n    sample_rate = 8000\n    neuron_axes = {'relu': 'bxt'}\n"
                 "    def __init__(self):\n        super().__init__()\n        self.relu = nn.ReLU()\n"
                 "    def forward(self, audio):\n        return self.relu(audio)\n"
                 "def build():\n    return Net()\n", "expected a string of distinct axis letters"),
    "5D output": ("class Net(nn.Module):\n    sample_rate = 8000\n    def __init__(self):\n"
                  "        super().__init__()\n        self.relu = nn.ReLU()\n"
                  "    def forward(self, audio):\n        return self.relu(audio.view(1, 1, 1, 1, -1))\n"
                  "def build():\n    return Net()\n", "name its axes in the model's neuron_axes"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_broken_contract_is_one_clear_error(tmp_path, case):
    body, message = BAD[case]
    path = write_model(tmp_path, body)
    with pytest.raises(UserError, match=None) as err:
        load(f"{path}:build")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bad_specs(tmp_path):
    path = write_model(tmp_path, GOOD)
    for spec, message in [(f"{tmp_path}/missing.py:build", "file not found"),
                          (f"{path}:nothing", "no callable 'nothing'"),
                          ("no_such_package_xyz.models:build", "cannot import"),
                          (path, "expected package.module:factory"),
                          (str(tmp_path / "model.pt"), "cannot be hooked")]:
        with pytest.raises(UserError) as err:
            load(spec)
        assert message in str(err.value), spec


def test_cli_reports_a_bad_model_in_one_line(tmp_path):
    path = write_model(tmp_path, BAD["wrong input rank"][0])
    for command in (["layout", "--model", f"{path}:build", "--out", str(tmp_path / "x.npz")],
                    ["render", "--model", f"{path}:build", "--layer", "relu"],
                    ["serve", "--model", f"{path}:build", "--audio", "none", "--port", "0"],
                    ["serve", "--model", f"{path}:build", "--checkpoint", "checkpoints/small.pt"]):
        proc = subprocess.run([sys.executable, "-m", "immersions_osc", *command], cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("immersions-osc: error: "), proc.stderr


def test_a_good_model_by_file_and_by_package(tmp_path, monkeypatch):
    path = write_model(tmp_path, GOOD, "pkg_model_xyz.py")
    by_file = load(f"{path}:build")
    monkeypatch.syspath_prepend(str(tmp_path))
    by_package = load("pkg_model_xyz:build")
    assert describe(by_file).sample_rate == 8000 and describe(by_file).window == 2000
    assert check_model(by_file) == check_model(by_package) == ["relu", "tanh"]
    from immersions_osc.contract import spectrum

    with torch.no_grad():  # no frontend: pictures use the package's scaleogram at the model's rate
        picture = spectrum(by_file, torch.randn(1, 8000))
    assert picture.dim() == 4 and picture.shape[:2] == (1, 1) and torch.isfinite(picture).all()
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize import Target, optimize

    run = optimize(by_file, torch.randn(4000) * 0.1, [Target("relu", channels=[1])], OptimizeConfig(steps=2))
    assert len(run.history) == 2 and run.loop().shape == (4000,)
    with pytest.raises(UserError, match="need a model with a `frontend`"):
        optimize(by_file, torch.randn(4000), [Target("relu")], OptimizeConfig(steps=1, sparsity_penalty=0.1))
    graph = probe_graph(by_file, torch.randn(1, 2000))
    assert graph.shapes == [(4, 1), (3, 1)] and [(b.src, b.dst) for b in graph.blocks] == [(0, 1)]


class Heads(nn.Module):
    """[B, T, D] -> [B, heads, T, D / heads]: the per-head view of an attention block's values."""

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads

    def forward(self, x):
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)


class TinyTransformer(nn.Module):
    sample_rate = 8000
    neurons = ["heads", "mlp_act"]
    neuron_axes = {"heads": "bctf", "mlp_act": "btc"}

    def __init__(self, d: int = 8, heads: int = 2):
        super().__init__()
        self.embed = nn.Conv1d(1, d, 160, stride=80)  # audio -> tokens
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.heads = Heads(heads)
        self.mlp, self.mlp_act = nn.Linear(d, 4 * d), nn.GELU()

    def forward(self, audio):
        x = self.embed(audio.unsqueeze(1)).transpose(1, 2)  # [B, T, D]
        a, _ = self.attn(x, x, x, need_weights=False)
        h = self.heads(a)  # [B, H, T, D/H]
        x = x + h.transpose(1, 2).reshape(x.shape)
        return self.mlp_act(self.mlp(x))  # [B, T, 4D]


def test_attention_heads_and_token_axes():
    torch.manual_seed(0)
    model = TinyTransformer().eval()
    acts = capture_activations(model, torch.randn(2, 8000))
    # heads are channels, a head's dimensions its frequency rows, tokens time; MLP units are channels
    assert tuple(acts["heads"].shape) == (2, 2, 4, 99) and tuple(acts["mlp_act"].shape) == (2, 32, 99)
    graph = probe_graph(model, torch.randn(1, 8000))
    assert graph.shapes == [(2, 4), (32, 1)]
    (block,) = graph.blocks
    assert (block.src, block.dst) == (0, 1) and bool(block.channels.all()) and bool(block.frequencies.all())


def test_an_exported_program_is_hookable_again(tmp_path):
    spec = importlib.util.spec_from_file_location("good", write_model(tmp_path, GOOD, "good.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    eager = module.build().eval()
    x = torch.randn(1, 2000)
    torch.export.save(torch.export.export(eager, (x,)), str(tmp_path / "net.pt2"))  # one input shape only
    with pytest.raises(UserError, match="sample rate"):
        load(str(tmp_path / "net.pt2"))
    (tmp_path / "net.json").write_text(json.dumps({"sample_rate": 8000, "window_seconds": 0.25}))
    with pytest.raises(UserError, match="dynamic batch and sample dimensions"):
        load(str(tmp_path / "net.pt2"))
    dims = {"audio": {0: torch.export.Dim("batch"), 1: torch.export.Dim("samples", min=100, max=10 ** 7)}}
    torch.export.save(torch.export.export(eager, (torch.randn(2, 2000),), dynamic_shapes=dims), str(tmp_path / "net.pt2"))
    exported = load(str(tmp_path / "net.pt2"))
    got, want = capture_activations(exported, x), capture_activations(eager, x)
    assert list(got) == list(want) == ["relu", "tanh"]  # named by the module paths they had
    assert all(torch.allclose(got[k], want[k], atol=1e-6) for k in want)


# --- the examples, end to end at small sizes -------------------------------------------------------

def test_example_a_the_shipped_ear(tmp_path, capsys):
    assert example("cpc_ear").main(["--out", str(tmp_path), "--steps", "2", "--clips", "1", "--seconds", "1"]) == 0
    assert (tmp_path / "layout.png").stat().st_size > 1000 and (tmp_path / "loop.wav").is_file()
    assert "15,344 neurons" in capsys.readouterr().out


def test_example_b_trains_and_its_shipped_weights_classify():
    mel = example("mel_cnn")
    model, accuracy = mel.train(seconds=0.0, n_train=8, n_test=8, batch=4, log=lambda line: None)
    assert 0.0 <= accuracy <= 1.0 and check_model(model) == ["blocks.0.relu", "blocks.1.relu", "blocks.2.relu",
                                                               "fc_relu"]
    shipped = mel.build()
    x, y = mel.dataset(40, seed=4242)  # clips neither the training nor the test set used
    with torch.no_grad():
        shipped_accuracy = float((shipped(x).argmax(1) == y).float().mean())
    assert shipped_accuracy > 0.4, shipped_accuracy  # chance: 0.2 (5 instrument sets)


def run_cli(*args, cwd=REPO):
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_example_b_layout_and_render_from_the_command_line(tmp_path):
    out = tmp_path / "mel_layout.npz"
    text = run_cli("layout", "--model", "examples/mel_cnn.py:build", "--out", str(out), "--clips", "1", "--png",
                   "--quiet")
    assert "1,568 neurons in 4 layers" in text and out.is_file() and (tmp_path / "mel_layout.png").is_file()
    wav = tmp_path / "loop.wav"
    run_cli("render", "--model", "examples/mel_cnn.py:build", "--layer", "blocks.2.relu", "--channels", "3",
            "--steps", "12", "--seconds", "1", "--out", str(wav))
    record = json.loads((tmp_path / "loop.json").read_text())
    assert wav.is_file() and record["model"] == "examples/mel_cnn.py:build"
    assert record["activation_after"] > record["activation_before"]


def test_example_c_resnet_slice_layout(tmp_path, capsys):
    png = tmp_path / "resnet.png"
    assert example("resnet_slice").main(["--out", str(png), "--width", "4", "--size", "32"]) == 0
    assert png.stat().st_size > 1000
    assert "layer2.1.relu#2" in capsys.readouterr().out


# --- the service streams and sonifies example (b) --------------------------------------------------

def test_service_streams_and_sonifies_the_mel_cnn(tmp_path):
    from immersions_osc.layout.export import load_layout
    from immersions_osc.service.server import Service

    layout = tmp_path / "mel_layout.npz"  # none yet: the service lays the model out on its first start
    lines = []
    service = Service(in_process_config(model="examples/mel_cnn.py:build", layout=str(layout), publish_every=3),
                      log=lines.append).start()
    osc = OSCClient(service.port)
    try:
        assert layout.is_file() and any("laying out" in line for line in lines)
        n = len(load_layout(str(layout)).positions)
        osc.subscribe()
        frames = osc.frames(3)
        assert len(frames) == 3 and all(v.shape == (n,) and np.isfinite(v).all() for _, v in frames)
        assert max(float(v.max()) for _, v in frames) > 0
        osc.send("/immersions/target/channel", "sif", "blocks.2.relu", 3, 1.0)
        osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/target/channel"])
        _, new = osc.wait_for("/immersions/loop/new", timeout=90, predicate=lambda a: "blocks.2.relu ch 3" in a[3])
        assert new[0] > 0 and service.generator.stats.steps > 0
    finally:
        osc.close()
        service.close()


def test_the_viewer_shows_the_mel_cnn_layout():
    import urllib.request

    from service_harness import running_viewer

    for web in running_viewer(model="examples/mel_cnn.py:build"):
        def get(path):
            with urllib.request.urlopen(web.url.rstrip("/") + path, timeout=30) as r:
                return r.read()

        info = json.loads(get("/info.json"))
        assert info["neurons"] == 1568 and [l["name"] for l in info["layers"]] == [
            "blocks.0.relu", "blocks.1.relu", "blocks.2.relu", "fc_relu"]
        assert get("/scaleogram.png").startswith(b"\x89PNG")  # the model's own mel frontend
        assert get("/snapshot.png?size=128").startswith(b"\x89PNG")


def test_loop_analysis_of_any_model_is_the_window_ending_at_the_playhead():
    from immersions_osc.layout.export import load_layout
    from immersions_osc.service.engine import LoopAnalysis, NeuronVector, current_activations

    mel = example("mel_cnn")
    model = mel.build()
    vector = NeuronVector.from_layout(load_layout(os.path.join(REPO, "examples", "mel_cnn_build_layout.npz")))
    rng = np.random.default_rng(5)
    loop = (rng.standard_normal(22050) * 0.1).astype(np.float32)
    window = 11025
    analysis = LoopAnalysis(model, loop, vector, window, frames=16, batch=5)
    for position in rng.integers(0, len(loop), 4):
        end = analysis.ends[np.searchsorted(analysis.ends, position, side="right") - 1] if position >= analysis.ends[0] \
            else analysis.ends[-1]
        audio = torch.from_numpy(loop[(np.arange(end - window, end)) % len(loop)])
        expected = current_activations(model, audio, vector)
        assert np.allclose(analysis.frame(int(position)), expected, atol=1e-4)


def test_a_loop_is_analysed_in_one_window_per_frame_the_stream_shows():
    """A 1 s loop at 30 frames/s: 30 windows (not 128), so a model analysed window by window
    (PESTO: tens of seconds at load for 128) starts streaming four times sooner; never more than
    128, never fewer than 1."""
    from immersions_osc.service.engine import ANALYSIS_FRAMES, analysis_frames

    assert analysis_frames(44100, 44100, 30.0) == 30
    assert analysis_frames(4 * 44100, 44100, 30.0) == 120
    assert analysis_frames(44100, 44100, 240.0) == ANALYSIS_FRAMES == 128
    assert analysis_frames(10, 44100, 1.0) == 1
    assert analysis_frames(44100 + 1, 44100, 30.0) == 31  # a part of a frame still shows


def test_serve_model_from_the_command_line(tmp_path):
    """The acceptance command: `serve --model examples/mel_cnn.py:build` streams that model."""
    from service_harness import ServiceProcess

    service = ServiceProcess("--model", "examples/mel_cnn.py:build", "--audio", "none", "--loops-dir", str(tmp_path))
    osc = OSCClient(service.port)
    try:
        osc.wait_ready()
        osc.subscribe()
        frames = osc.frames(2)
        assert len(frames) == 2 and all(v.shape == (1568,) for _, v in frames)
    finally:
        osc.close()
        code = service.stop()
    assert code == 0, service.output[-2000:]


def test_frontend_metadata_is_checked(tmp_path):
    body = GOOD.replace("    window_seconds = 0.25\n", "    window_seconds = 0.25\n    frontend = 'nowhere'\n")
    with pytest.raises(UserError, match="'nowhere', which is not one of its modules"):
        load(f"{write_model(tmp_path, body)}:build")
