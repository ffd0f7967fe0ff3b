"""Linear probe, as in the seed's results table.

The model is frozen; for every example clip (``probe.clip_seconds`` of audio) its feature is the
context vector ``c`` at the last step.  A multinomial logistic regression is fitted on the
training split and its cross-entropy loss and accuracy are reported on the held-out split, next
to two baselines on exactly the same split:

* **random init (frozen)** — the same architecture with freshly initialized weights; its batch-norm
  statistics are estimated on the training clips (weights stay random), so its features are not
  degenerate;
* **supervised from scratch** — the same architecture plus a linear head, trained end-to-end on
  the training split only.

The linear classifiers' L2 penalty is chosen per row from ``probe.l2_grid`` by file-grouped
cross-validation on the training split (the test split is never looked at); an empty grid uses
``probe.l2``.

Splits are by *file*: all crops of one source file fall on the same side (stratified by label).
"""
from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .errors import UserError
from .model import CPCModel, build_model
from .progress import Progress


@dataclass
class ProbeSet:
    audio: torch.Tensor  # [N, samples]
    labels: torch.Tensor  # [N] class ids
    files: torch.Tensor  # [N] source-file ids
    classes: list[str]


@dataclass
class ProbeRow:
    name: str
    loss: float
    accuracy: float


@dataclass
class ProbeReport:
    rows: list[ProbeRow]
    classes: list[str]
    n_train: int
    n_test: int
    train_files: int
    test_files: int
    extra: dict = field(default_factory=dict)

    def table(self) -> str:
        lines = ["| model | test loss | test accuracy |", "|---|---|---|"]
        lines += [f"| {r.name} | {r.loss:.4f} | {100 * r.accuracy:.2f} % |" for r in self.rows]
        lines.append(f"\n{len(self.classes)} classes ({', '.join(self.classes)}); train {self.n_train} clips "
                     f"from {self.train_files} files, test {self.n_test} clips from {self.test_files} files "
                     f"(chance accuracy {100 / len(self.classes):.1f} %)")
        return "\n".join(lines)


def crops_of(audio: np.ndarray, length: int, count: int) -> list[np.ndarray]:
    """``count`` evenly spaced crops of ``length`` samples (fewer if the file is short)."""
    if len(audio) < length:
        return []
    starts = np.linspace(0, len(audio) - length, count).round().astype(int)
    return [audio[s:s + length] for s in sorted(set(starts.tolist()))]


def build_probe_set(examples: list[tuple[str, str]], cfg: Config) -> ProbeSet:
    """Load labelled files (path, label) into crops; too-short or unreadable files are skipped."""
    from .data.folder import load_audio

    sr = cfg.scaleogram.sample_rate
    length = int(round(cfg.probe.clip_seconds * sr))
    classes = sorted({label for _, label in examples})
    audio, labels, files = [], [], []
    for file_id, (path, label) in enumerate(examples):
        try:
            signal = load_audio(path, sr)
        except Exception as exc:  # unreadable audio: one warning, keep going
            warnings.warn(f"probe: skipping {path}: {exc}")
            continue
        crops = crops_of(signal, length, cfg.probe.crops_per_file)
        if not crops:
            warnings.warn(f"probe: skipping {path}: shorter than {cfg.probe.clip_seconds:g} s")
        for crop in crops:
            audio.append(torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32)))
            labels.append(classes.index(label))
            files.append(file_id)
    if not audio:
        raise UserError("probe: no usable labelled audio (all files unreadable or too short)")
    return ProbeSet(torch.stack(audio), torch.tensor(labels), torch.tensor(files), classes)


def split_by_file(labels: torch.Tensor, files: torch.Tensor, test_fraction: float,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified split of *files*; returns index tensors (train, test) over the clips."""
    rng = random.Random(seed)
    test_files: set[int] = set()
    for label in sorted(set(labels.tolist())):
        class_files = sorted(set(files[labels == label].tolist()))
        if len(class_files) < 2:
            raise UserError(f"probe: class {label} has {len(class_files)} file(s); each class needs at "
                            f"least 2 so that train and test hold different files")
        rng.shuffle(class_files)
        n_test = min(len(class_files) - 1, max(1, round(test_fraction * len(class_files))))
        test_files.update(class_files[:n_test])
    is_test = torch.tensor([f in test_files for f in files.tolist()])
    return torch.nonzero(~is_test).squeeze(1), torch.nonzero(is_test).squeeze(1)


@torch.no_grad()
def extract_features(model: CPCModel, audio: torch.Tensor, device: torch.device,
                     batch_size: int = 16) -> torch.Tensor:
    """Context vector c at the last step of each clip: [N, c_dim]."""
    model.eval()
    out = []
    for i in range(0, len(audio), batch_size):
        _, c = model(audio[i:i + batch_size].to(device))
        out.append(c[..., -1].float().cpu())
    return torch.cat(out)


@torch.no_grad()
def calibrate_batch_norm(model: CPCModel, audio: torch.Tensor, device: torch.device,
                         batch_size: int = 16) -> None:
    """Estimate batch-norm statistics (cumulative average) on ``audio``; weights are untouched."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    for i in range(0, len(audio), batch_size):
        model(audio[i:i + batch_size].to(device))
    model.eval()


def choose_l2(x: torch.Tensor, y: torch.Tensor, files: torch.Tensor, n_classes: int,
              grid: tuple[float, ...], folds: int, seed: int) -> float:
    """The L2 penalty with the lowest validation loss in file-grouped cross-validation."""
    unique = sorted(set(files.tolist()))
    random.Random(seed).shuffle(unique)
    fold_of = {f: i % folds for i, f in enumerate(unique)}
    fold = torch.tensor([fold_of[f] for f in files.tolist()])
    losses = []
    for l2 in grid:
        total = 0.0
        for k in range(folds):
            val = fold == k
            if val.all() or not val.any():
                continue
            total += fit_linear_probe(x[~val], y[~val], x[val], y[val], n_classes, l2)[0]
        losses.append(total)
    return grid[int(np.argmin(losses))]


def fit_linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                     test_y: torch.Tensor, n_classes: int, l2: float) -> tuple[float, float]:
    """Multinomial logistic regression (standardized features, L-BFGS); returns test (loss, accuracy)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    xtr, xte = (train_x - mean) / std, (test_x - mean) / std
    linear = nn.Linear(xtr.shape[1], n_classes)
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(linear(xtr), train_y) + l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        logits = linear(xte)
        return F.cross_entropy(logits, test_y).item(), (logits.argmax(1) == test_y).float().mean().item()


def train_supervised(cfg: Config, train_audio: torch.Tensor, train_y: torch.Tensor, test_audio: torch.Tensor,
                     test_y: torch.Tensor, n_classes: int, device: torch.device,
                     show_progress: bool = True, batch_size: int = 16) -> tuple[float, float]:
    """The same architecture + a linear head on c, trained from scratch on the training split."""
    torch.manual_seed(cfg.probe.seed)
    model = build_model(cfg).to(device)
    head = nn.Linear(model.c_dim, n_classes).to(device)
    params = list(model.encoder.parameters()) + list(model.ar.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=cfg.probe.supervised_learning_rate)
    generator = torch.Generator().manual_seed(cfg.probe.seed)
    epochs = cfg.probe.supervised_epochs
    progress = Progress(epochs, "supervised baseline", enabled=show_progress, every=1)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_audio), generator=generator)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            if len(idx) < 2:  # batch norm needs two examples
                continue
            _, c = model(train_audio[idx].to(device))
            loss = F.cross_entropy(head(c[..., -1]), train_y[idx].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        progress.update(epoch + 1, loss=f"{loss.item():.3f}")
    progress.close()
    features = extract_features(model, test_audio, device)
    with torch.no_grad():
        logits = head(features.to(device)).cpu()
    return F.cross_entropy(logits, test_y).item(), (logits.argmax(1) == test_y).float().mean().item()


def run_probe(model: CPCModel, cfg: Config, data: ProbeSet, device: torch.device,
              name: str = "CPC (this checkpoint)", show_progress: bool = True) -> ProbeReport:
    if len(data.classes) < 2:
        raise UserError(f"probe: need at least 2 classes, found {len(data.classes)}")
    train_idx, test_idx = split_by_file(data.labels, data.files, cfg.probe.test_fraction, cfg.probe.seed)
    assert not set(data.files[train_idx].tolist()) & set(data.files[test_idx].tolist())
    n_classes = len(data.classes)
    ytr, yte = data.labels[train_idx], data.labels[test_idx]
    rows = []

    chosen = {}

    def linear_row(row_name: str, features: torch.Tensor) -> ProbeRow:
        l2 = cfg.probe.l2
        if cfg.probe.l2_grid:
            l2 = choose_l2(features[train_idx], ytr, data.files[train_idx], n_classes,
                           tuple(cfg.probe.l2_grid), cfg.probe.cv_folds, cfg.probe.seed)
        chosen[row_name] = l2
        return ProbeRow(row_name, *fit_linear_probe(features[train_idx], ytr, features[test_idx], yte,
                                                    n_classes, l2))

    rows.append(linear_row(name, extract_features(model, data.audio, device)))

    torch.manual_seed(cfg.probe.seed)
    random_model = build_model(cfg).to(device)
    calibrate_batch_norm(random_model, data.audio[train_idx], device)
    rows.append(linear_row("random init (frozen)", extract_features(random_model, data.audio, device)))

    rows.append(ProbeRow("supervised from scratch", *train_supervised(
        cfg, data.audio[train_idx], ytr, data.audio[test_idx], yte, n_classes, device, show_progress)))
    return ProbeReport(rows, data.classes, len(train_idx), len(test_idx),
                       len(set(data.files[train_idx].tolist())), len(set(data.files[test_idx].tolist())),
                       extra={"l2": chosen})
