"""docs/api.md's Python blocks run, in order, in one namespace, from the repository root."""
import os
import re

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks(path: str) -> list[str]:
    text = open(path, encoding="utf-8").read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_api_doc_examples_run(monkeypatch, capsys):
    blocks = python_blocks(os.path.join(REPO, "docs", "api.md"))
    assert len(blocks) >= 5  # the contract, capture, layout, optimize, serve
    monkeypatch.chdir(REPO)
    namespace: dict = {"__name__": "api_doc"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/api.md python block {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "['relu1', 'relu2', 'out_act']" in out
    # what the doc claims in its comments holds
    shapes = {name: tuple(a.shape) for name, a in namespace["acts"].items()}
    assert shapes == {"relu1": (2, 8, 997), "relu2": (2, 16, 248), "out_act": (2, 4, 1)}
    assert namespace["positions"].shape == (namespace["graph"].num_vertices, 2)
    assert torch.isfinite(namespace["loop"]).all()
    assert len(namespace["frame"]) == 1568
