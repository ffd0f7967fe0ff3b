"""Example (c): lay out an image network -- a slice of a ResNet-18 (random weights), layout only.

The original work showed its layout method on slices of VGG-16 and ResNet-18.  This example
defines the first stages of a ResNet-18 (stem, ``layer1``, ``layer2``; torchvision's layer
names and shapes), captures every ReLU on random images and lays the neurons out with the same
Python API the audio models use.  An image layer [B, C, H, W] is read like an audio one
[B, C, F, T]: one neuron per (channel, image row), the columns playing time.  ``BasicBlock``
calls its one ``self.relu`` twice, so each block has two layers, ``relu`` and ``relu#2``.

    python examples/resnet_slice.py --out docs/images/resnet18_layout.png

It is not an audio model, so it is laid out with the API, not with ``immersions-osc layout``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNetSlice(nn.Module):
    """ResNet-18's stem, layer1 and layer2 (``width`` 64 is ResNet-18's)."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(width, width), BasicBlock(width, width))
        self.layer2 = nn.Sequential(BasicBlock(width, 2 * width, 2), BasicBlock(2 * width, 2 * width))

    def forward(self, x):
        return self.layer2(self.layer1(self.maxpool(self.relu(self.bn1(self.conv1(x))))))


def lay_out(width: int = 64, size: int = 64, images: int = 8, seed: int = 0, log=print):
    """(graph, positions [N, 2]) of the slice, charges from ``images`` random images."""
    from immersions_osc.activations import neuron_variance
    from immersions_osc.config import LayoutConfig
    from immersions_osc.layout import simulate
    from immersions_osc.layout.graph import probe_graph

    torch.manual_seed(seed)
    model = ResNetSlice(width).eval()
    t0 = time.perf_counter()
    graph = probe_graph(model, torch.randn(1, 3, size, size))
    log(f"graph : {graph.num_vertices:,} neurons in {len(graph.names)} layers ({', '.join(graph.names)}), "
        f"{graph.num_edges:,} edges ({time.perf_counter() - t0:.2f} s)")
    with torch.no_grad():
        variance = neuron_variance(model, [torch.randn(2, 3, size, size) for _ in range(max(1, images // 2))])
    charges = torch.cat([variance[name].flatten() for name in graph.names])
    t0 = time.perf_counter()
    positions = simulate.layout(graph, charges, LayoutConfig(seed=seed), "cpu")
    log(f"layout: {time.perf_counter() - t0:.1f} s")
    return graph, positions.numpy()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="lay out a ResNet-18 slice with random weights")
    ap.add_argument("--out", default="resnet18_layout.png", help="PNG to write (default: %(default)s)")
    ap.add_argument("--width", type=int, default=64, help="channels of the first stage (ResNet-18: 64)")
    ap.add_argument("--size", type=int, default=64, help="image height and width (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from immersions_osc.images import write_png
    from immersions_osc.layout import render

    graph, positions = lay_out(args.width, args.size, seed=args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_png(args.out, render.layer_image(positions, graph.layer_of_vertex(), len(graph.names)))
    print(f"picture -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
