import pytest
import torch
from torch import nn

from immersions_osc.activations import capture_activations, neuron_variance
from immersions_osc.config import Config, ModelConfig
from immersions_osc.errors import UserError
from immersions_osc.model import build_model


class Block(nn.Module):  # ResNet-style: one ReLU module called twice
    def __init__(self, c):
        super().__init__()
        self.conv1, self.conv2, self.relu = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1), nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x))) + x)


def small_net():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.GELU(), Block(4), nn.Conv2d(4, 6, (3, 1)), nn.Tanh(),
                         nn.Flatten(1, 2), nn.Conv1d(6 * 12, 5, 1), nn.SiLU())


def test_any_conv_network():
    acts = capture_activations(small_net(), torch.randn(3, 1, 16, 9))
    assert list(acts) == ["1", "2.relu", "2.relu#2", "4", "7"]
    assert acts["1"].shape == (3, 4, 14, 7)
    assert acts["4"].shape == (3, 6, 12, 7)
    assert acts["7"].shape == (3, 5, 7)  # 1D layer: [batch, channel, time]


def test_cpc_model_layers():
    model = build_model(Config(model=ModelConfig(preset="small"))).eval()
    acts = capture_activations(model, torch.randn(1, 22050))
    assert acts["encoder.blocks.0.relu1"].shape[:3] == (1, 8, 107)
    assert acts["encoder.blocks.7.relu2"].shape[:3] == (1, 128, 1)
    assert acts["ar.blocks.8.relu"].dim() == 3 and len(acts) == 25


def test_no_recognizable_layers_is_a_user_error():
    with pytest.raises(UserError, match="no recognizable layers"):
        capture_activations(nn.Sequential(nn.Conv1d(1, 2, 3)), torch.randn(1, 1, 8))


def test_neuron_variance():
    net = small_net()
    var = neuron_variance(net, [torch.randn(2, 1, 16, 9) for _ in range(3)])
    assert var["1"].shape == (4, 14) and var["7"].shape == (5, 1)
    assert (var["1"] >= 0).all() and var["1"].sum() > 0
    with pytest.raises(UserError, match="empty"):
        neuron_variance(net, [])
