"""Linear probe, as in the seed's results table, with honest baselines and a split that cannot leak.

The model is frozen.  For every example clip (``probe.clip_seconds`` of audio) it is read out in
two ways: the context vector ``c`` at the last step, and, for every layer (each nonlinearity),
its channels' activations pooled over frequency and time (mean and standard deviation), so the
table shows where in the network a task is best read.  A multinomial logistic regression is
fitted on the training split and its loss and accuracy are reported on the held-out split, with
a 95 % bootstrap interval over the held-out *groups*.  On exactly the same split:

* **random init (frozen)** — the same architecture with freshly initialized weights (batch-norm
  statistics estimated on the training clips), read out the same two ways;
* **supervised from scratch** — the same architecture plus a linear head, trained end to end on
  the training split only;
* **hand-made features** — log-CQT mean+std, MFCC mean+std and an onset tempogram
  (:mod:`immersions_osc.features`).

"Best layer" rows pick the layer by grouped cross-validation on the training split: the test
split is never looked at to choose anything.  The linear classifiers' L2 penalty is chosen the
same way from ``probe.l2_grid`` (an empty grid uses ``probe.l2``).

Splits are by *group* (a file, a track, a segment of a track: a CSV column): all clips of one
group fall on the same side, stratified by label, or as a predefined ``split`` column says.
"""
from __future__ import annotations

import os
import random
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .errors import UserError
from .model import CPCModel, build_model
from .progress import Progress

BOOTSTRAP_RESAMPLES = 1000
POOLED_DIMS = 1024  # at most this many features per layer in the pooled read-outs


@dataclass(frozen=True)
class Example:
    """One labelled clip source: ``seconds`` of ``path`` from ``start`` (None: evenly spaced crops)."""

    path: str
    label: str
    group: str = ""          # clips of one group never straddle the split ('' = the file)
    split: str = ""          # 'train' | 'test' | '' (drawn by the probe)
    start: Optional[float] = None


@dataclass
class ProbeSet:
    audio: torch.Tensor  # [N, samples]
    labels: torch.Tensor  # [N] class ids
    files: torch.Tensor  # [N] group ids (a file, a track, a segment: never on both sides)
    classes: list[str]
    split: Optional[torch.Tensor] = None  # [N] 0 train, 1 test (predefined), or None
    group_names: list[str] = field(default_factory=list)


@dataclass
class ProbeRow:
    name: str
    loss: float
    accuracy: float
    low: float = float("nan")   # 95 % bootstrap interval over held-out groups
    high: float = float("nan")
    kind: str = ""              # model | baseline | layer
    detail: str = ""


@dataclass
class ProbeReport:
    rows: list[ProbeRow]
    classes: list[str]
    n_train: int
    n_test: int
    train_files: int
    test_files: int
    extra: dict = field(default_factory=dict)

    def table(self, layers: bool = False) -> str:
        lines = ["| read-out | test accuracy | 95 % interval (groups) | test loss |", "|---|---|---|---|"]
        for r in self.rows:
            if r.kind == "layer" and not layers:
                continue
            interval = f"{100 * r.low:.1f} – {100 * r.high:.1f} %" if np.isfinite(r.low) else "–"
            lines.append(f"| {r.name} | {100 * r.accuracy:.1f} % | {interval} | {r.loss:.3f} |")
        lines.append(f"\n{len(self.classes)} classes; train {self.n_train} clips from {self.train_files} groups, "
                     f"test {self.n_test} clips from {self.test_files} groups "
                     f"(chance accuracy {100 / len(self.classes):.1f} %)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"rows": [r.__dict__ for r in self.rows], "classes": self.classes, "n_train": self.n_train,
                "n_test": self.n_test, "train_groups": self.train_files, "test_groups": self.test_files,
                **self.extra}


def crops_of(audio: np.ndarray, length: int, count: int) -> list[np.ndarray]:
    """``count`` evenly spaced crops of ``length`` samples (fewer if the file is short)."""
    if len(audio) < length:
        return []
    starts = np.linspace(0, len(audio) - length, count).round().astype(int)
    return [audio[s:s + length] for s in sorted(set(starts.tolist()))]


def read_probe_csv(path: str) -> list[Example]:
    """A probe CSV: columns ``path,label`` and optionally ``group``, ``split`` (train/test) and
    ``start`` (seconds).  Relative paths are relative to the CSV's folder."""
    base = os.path.dirname(os.path.abspath(path))
    from .data.tables import read_csv_rows

    rows = read_csv_rows(path, "probe CSV")
    examples = []
    for i, row in enumerate(rows, start=2):
        if not row.get("path") or not row.get("label"):
            raise UserError(f"{path} line {i}: needs 'path' and 'label' columns")
        split = (row.get("split") or "").strip().lower()
        if split not in ("", "train", "test"):
            raise UserError(f"{path} line {i}: split must be 'train' or 'test', got {split!r}")
        try:
            start = float(row["start"]) if row.get("start") not in (None, "") else None
        except ValueError:
            raise UserError(f"{path} line {i}: start must be seconds, got {row['start']!r}") from None
        if start is not None and not (np.isfinite(start) and start >= 0):
            raise UserError(f"{path} line {i}: start must be >= 0 seconds, got {row['start']!r}")
        examples.append(Example(os.path.join(base, row["path"]), row["label"], row.get("group") or "", split, start))
    if not examples:
        raise UserError(f"{path}: no rows")
    return examples


def _read_segment(path: str, start: float, seconds: float, sample_rate: int) -> np.ndarray:
    import soundfile as sf

    from .data.folder import _mono, load_audio

    info = sf.info(path)
    if info.samplerate == sample_rate:
        first = int(round(start * sample_rate))
        frames, _ = sf.read(path, start=first, frames=int(round(seconds * sample_rate)), dtype="float32",
                            always_2d=True)
        return _mono(frames)
    audio = load_audio(path, sample_rate)
    first = int(round(start * sample_rate))
    return audio[first:first + int(round(seconds * sample_rate))]


def build_probe_set(examples: Sequence, cfg: Config) -> ProbeSet:
    """Load labelled examples into clips; too-short or unreadable files are skipped (one warning each).

    ``examples``: :class:`Example` or (path, label) pairs (group = the file, crops evenly spaced).
    """
    from .data.folder import load_audio

    sr = cfg.scaleogram.sample_rate
    length = int(round(cfg.probe.clip_seconds * sr))
    examples = [e if isinstance(e, Example) else Example(e[0], e[1]) for e in examples]
    classes = sorted({e.label for e in examples})
    group_names: list[str] = []
    group_ids: dict[str, int] = {}
    audio, labels, groups, splits = [], [], [], []
    for e in examples:
        try:
            if e.start is None:
                crops = crops_of(load_audio(e.path, sr), length, cfg.probe.crops_per_file)
            else:
                segment = _read_segment(e.path, e.start, cfg.probe.clip_seconds, sr)
                crops = [segment] if len(segment) == length else []
        except Exception as exc:  # unreadable audio: one warning, keep going
            warnings.warn(f"probe: skipping {e.path}: {' '.join(str(exc).split())}")
            continue
        if not crops:
            warnings.warn(f"probe: skipping {e.path}"
                          + (f" at {e.start:g} s" if e.start is not None else "")
                          + f": shorter than {cfg.probe.clip_seconds:g} s")
        key = e.group or e.path
        if key not in group_ids:
            group_ids[key] = len(group_names)
            group_names.append(key)
        for crop in crops:
            audio.append(torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32)))
            labels.append(classes.index(e.label))
            groups.append(group_ids[key])
            splits.append(e.split)
    if not audio:
        raise UserError("probe: no usable labelled audio (all files unreadable or too short)")
    split = None
    if any(splits):
        if not all(splits):
            raise UserError("probe: either every example has a split (train/test) or none has")
        split = torch.tensor([s == "test" for s in splits], dtype=torch.long)
    data = ProbeSet(torch.stack(audio), torch.tensor(labels), torch.tensor(groups), classes, split, group_names)
    check_no_leak(data.files, split) if split is not None else None
    return data


def check_no_leak(groups: torch.Tensor, is_test: torch.Tensor) -> None:
    """Raise if any group has clips on both sides of the split."""
    both = set(groups[is_test.bool()].tolist()) & set(groups[~is_test.bool()].tolist())
    if both:
        raise UserError(f"probe: {len(both)} group(s) have clips in both the train and the test split")


def split_by_group(labels: torch.Tensor, groups: torch.Tensor, test_fraction: float,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified split of *groups*; returns index tensors (train, test) over the clips.

    A group with clips of several labels is assigned by its first clip's label.
    """
    rng = random.Random(seed)
    first_label: dict[int, int] = {}
    for g, y in zip(groups.tolist(), labels.tolist()):
        first_label.setdefault(g, y)
    test_groups: set[int] = set()
    for label in sorted(set(labels.tolist())):
        class_groups = sorted(g for g, y in first_label.items() if y == label)
        if len(class_groups) < 2:
            raise UserError(f"probe: class {label} has {len(class_groups)} group(s); each class needs at "
                            f"least 2 so that train and test hold different groups")
        rng.shuffle(class_groups)
        n_test = min(len(class_groups) - 1, max(1, round(test_fraction * len(class_groups))))
        test_groups.update(class_groups[:n_test])
    is_test = torch.tensor([g in test_groups for g in groups.tolist()])
    return torch.nonzero(~is_test).squeeze(1), torch.nonzero(is_test).squeeze(1)


split_by_file = split_by_group  # a file is the simplest group


def split_indices(data: ProbeSet, cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    if data.split is not None:
        train, test = torch.nonzero(data.split == 0).squeeze(1), torch.nonzero(data.split == 1).squeeze(1)
        missing = set(data.labels[test].tolist()) - set(data.labels[train].tolist())
        if missing or len(test) == 0:
            raise UserError("probe: the predefined split leaves a class without training clips, or no test clips")
    else:
        train, test = split_by_group(data.labels, data.files, cfg.probe.test_fraction, cfg.probe.seed)
    is_test = torch.zeros(len(data.files), dtype=torch.bool)
    is_test[test] = True
    check_no_leak(data.files, is_test)  # never, by construction: a guard
    return train, test


# -------------------------------------------------------------------------------------------------
# Read-outs
# -------------------------------------------------------------------------------------------------
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
def extract_readouts(model: CPCModel, audio: torch.Tensor, device: torch.device,
                     batch_size: int = 16) -> dict[str, torch.Tensor]:
    """{'c (last step)': [N, c_dim], 'pooled <layer>': [N, 2 C] for every layer} in one pass per batch.

    A layer's pooled read-out: the mean and standard deviation over time of each channel, and of a
    2D layer each channel's frequency profile averaged into at most ``POOLED_DIMS / (2 C)`` bands
    (so a read-out keeps where in frequency a channel is active, as log-CQT statistics do, with at
    most ``POOLED_DIMS`` features per layer).
    """
    from .activations import as_layer_tensor, hooked

    model.eval()
    out: dict[str, list[torch.Tensor]] = {}
    for i in range(0, len(audio), batch_size):
        x = audio[i:i + batch_size].to(device)
        captured: dict[str, torch.Tensor] = {}

        def keep(layer, module, inputs, output):
            captured[layer] = as_layer_tensor(output.detach())

        with hooked(model, keep):
            _, c = model(x)
        out.setdefault("c (last step)", []).append(c[..., -1].float().cpu())
        for name, act in captured.items():
            a = act.float()
            if a.dim() == 4:  # [B, C, F, T] -> [B, C * bands, T]
                bands = max(1, min(a.shape[2], POOLED_DIMS // (2 * a.shape[1])))
                a = F.adaptive_avg_pool2d(a, (bands, a.shape[3])).flatten(1, 2)
            pooled = torch.cat([a.mean(-1), a.std(-1) if a.shape[-1] > 1 else torch.zeros_like(a[..., 0])], dim=1)
            out.setdefault(f"pooled {name}", []).append(pooled.cpu())
    return {k: torch.cat(v) for k, v in out.items()}


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


def _folds(files: torch.Tensor, folds: int, seed: int) -> torch.Tensor:
    unique = sorted(set(files.tolist()))
    random.Random(seed).shuffle(unique)
    fold_of = {f: i % folds for i, f in enumerate(unique)}
    return torch.tensor([fold_of[f] for f in files.tolist()])


def cv_loss(x: torch.Tensor, y: torch.Tensor, files: torch.Tensor, n_classes: int, l2: float,
            folds: int, seed: int) -> float:
    """Mean validation loss of group-wise cross-validation on (x, y)."""
    fold = _folds(files, folds, seed)
    total, used = 0.0, 0
    for k in range(folds):
        val = fold == k
        if val.all() or not val.any():
            continue
        total += fit_linear_probe(x[~val], y[~val], x[val], y[val], n_classes, l2, CV_ITERATIONS)[0]
        used += 1
    return total / max(used, 1)


def best_l2(x: torch.Tensor, y: torch.Tensor, files: torch.Tensor, n_classes: int,
            grid: tuple[float, ...], folds: int, seed: int) -> tuple[float, float]:
    """(the L2 penalty with the lowest validation loss in file-grouped cross-validation, that loss)."""
    losses = [cv_loss(x, y, files, n_classes, l2, folds, seed) for l2 in grid]
    best = int(np.argmin(losses))
    return grid[best], losses[best]


def choose_l2(x: torch.Tensor, y: torch.Tensor, files: torch.Tensor, n_classes: int,
              grid: tuple[float, ...], folds: int, seed: int) -> float:
    """The L2 penalty with the lowest validation loss in file-grouped cross-validation."""
    return best_l2(x, y, files, n_classes, grid, folds, seed)[0]


CV_ITERATIONS = 100     # L-BFGS iterations of each cross-validation fit (choosing l2 and layers)
FINAL_ITERATIONS = 500  # ... of the fit that is tested


def _fit(train_x, train_y, test_x, n_classes, l2, max_iter: int = FINAL_ITERATIONS) -> torch.Tensor:
    """Test logits of a multinomial logistic regression (standardized features, L-BFGS)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    xtr, xte = (train_x - mean) / std, (test_x - mean) / std
    linear = nn.Linear(xtr.shape[1], n_classes)
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=max_iter, tolerance_change=1e-7,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(linear(xtr), train_y) + l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return linear(xte)


def fit_linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                     test_y: torch.Tensor, n_classes: int, l2: float,
                     max_iter: int = FINAL_ITERATIONS) -> tuple[float, float]:
    """Multinomial logistic regression (standardized features, L-BFGS); returns test (loss, accuracy)."""
    logits = _fit(train_x, train_y, test_x, n_classes, l2, max_iter)
    return F.cross_entropy(logits, test_y).item(), (logits.argmax(1) == test_y).float().mean().item()


def bootstrap_interval(correct: torch.Tensor, groups: torch.Tensor, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the accuracy when the held-out *groups* are resampled."""
    unique = sorted(set(groups.tolist()))
    index = {g: i for i, g in enumerate(unique)}
    gid = torch.tensor([index[g] for g in groups.tolist()])
    hits = torch.zeros(len(unique)).index_add_(0, gid, correct.float())
    counts = torch.zeros(len(unique)).index_add_(0, gid, torch.ones(len(gid)))
    gen = torch.Generator().manual_seed(seed)
    draws = torch.randint(0, len(unique), (resamples, len(unique)), generator=gen)
    accuracy = hits[draws].sum(1) / counts[draws].sum(1)
    return float(torch.quantile(accuracy, 0.025)), float(torch.quantile(accuracy, 0.975))


def _row(name: str, logits: torch.Tensor, y: torch.Tensor, groups: torch.Tensor, seed: int, kind: str,
         detail: str = "") -> ProbeRow:
    correct = logits.argmax(1) == y
    low, high = bootstrap_interval(correct, groups, seed=seed)
    return ProbeRow(name, F.cross_entropy(logits, y).item(), correct.float().mean().item(), low, high, kind, detail)


def train_supervised(cfg: Config, train_audio: torch.Tensor, train_y: torch.Tensor, test_audio: torch.Tensor,
                     test_y: torch.Tensor, n_classes: int, device: torch.device,
                     show_progress: bool = True, batch_size: int = 16) -> tuple[float, float]:
    """The same architecture + a linear head on c, trained from scratch on the training split."""
    logits = supervised_logits(cfg, train_audio, train_y, test_audio, n_classes, device, show_progress, batch_size)
    return F.cross_entropy(logits, test_y).item(), (logits.argmax(1) == test_y).float().mean().item()


def supervised_logits(cfg: Config, train_audio: torch.Tensor, train_y: torch.Tensor, test_audio: torch.Tensor,
                      n_classes: int, device: torch.device, show_progress: bool = True,
                      batch_size: int = 16) -> torch.Tensor:
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
        return head(features.to(device)).cpu()


def hand_made_features(audio: torch.Tensor, cfg: Config) -> dict[str, torch.Tensor]:
    from .features import log_cqt_stats, mfcc_stats, onset_tempogram

    sr = cfg.scaleogram.sample_rate
    return {"log-CQT mean+std": log_cqt_stats(audio, cfg.scaleogram), "MFCC mean+std": mfcc_stats(audio, sr),
            "onset tempogram": onset_tempogram(audio, sr)}


def run_probe(model: CPCModel, cfg: Config, data: ProbeSet, device: torch.device,
              name: str = "CPC (this checkpoint)", show_progress: bool = True, supervised: bool = True,
              baselines: bool = True, log: Callable[[str], None] = lambda line: None) -> ProbeReport:
    """Every read-out of ``model`` and every baseline on one group split of ``data``.

    ``baselines=False`` gives the model's rows only: the random-init, supervised and hand-made
    rows depend only on the architecture, the data, the split and the seed, so a second checkpoint
    of the same architecture on the same task can reuse them."""
    if len(data.classes) < 2:
        raise UserError(f"probe: need at least 2 classes, found {len(data.classes)}")
    train_idx, test_idx = split_indices(data, cfg)
    n_classes = len(data.classes)
    ytr, yte = data.labels[train_idx], data.labels[test_idx]
    gtr, gte = data.files[train_idx], data.files[test_idx]
    p = cfg.probe
    rows: list[ProbeRow] = []
    chosen: dict[str, float] = {}

    def l2_for(features: torch.Tensor) -> tuple[float, float]:
        """(l2, its cross-validation loss) chosen on the training split only."""
        if not p.l2_grid:
            return p.l2, cv_loss(features[train_idx], ytr, gtr, n_classes, p.l2, p.cv_folds, p.seed)
        return best_l2(features[train_idx], ytr, gtr, n_classes, p.l2_grid, p.cv_folds, p.seed)

    def linear(row_name: str, features: torch.Tensor, kind: str) -> tuple[ProbeRow, float]:
        l2, loss = l2_for(features)
        chosen[row_name] = l2
        logits = _fit(features[train_idx], ytr, features[test_idx], n_classes, l2)
        return _row(row_name, logits, yte, gte, p.seed, kind), loss

    layer_l2 = float(np.median(p.l2_grid)) if p.l2_grid else p.l2

    def model_rows(label: str, readouts: dict[str, torch.Tensor]) -> None:
        row, _ = linear(f"{label}: c (last step)", readouts["c (last step)"], "model")
        rows.append(row)
        # layers are ranked by cross-validation at one penalty (the grid's median); the best one then
        # gets its own penalty from the whole grid.  All of it on the training split only.
        ranked = []
        for key, feats in readouts.items():
            if key.startswith("pooled "):
                cv = cv_loss(feats[train_idx], ytr, gtr, n_classes, layer_l2, p.cv_folds, p.seed)
                logits = _fit(feats[train_idx], ytr, feats[test_idx], n_classes, layer_l2)
                ranked.append((cv, key, _row(f"{label}: {key}", logits, yte, gte, p.seed, "layer")))
        _, key, _ = min(ranked, key=lambda t: t[0])
        best, _ = linear(f"{label}: best layer by train-split CV ({key.split('pooled ')[-1]})", readouts[key],
                         "model")
        rows.append(best)
        rows.extend(r for _, _, r in ranked)

    log("probe: read-outs of the trained model")
    model_rows(name, extract_readouts(model, data.audio, device))
    if not baselines:
        return ProbeReport(rows, data.classes, len(train_idx), len(test_idx), len(set(gtr.tolist())),
                           len(set(gte.tolist())), extra={"l2": chosen})
    log("probe: read-outs of the random-init model")
    torch.manual_seed(p.seed)
    random_model = build_model(cfg).to(device)
    calibrate_batch_norm(random_model, data.audio[train_idx], device)
    model_rows("random init (frozen)", extract_readouts(random_model, data.audio, device))
    del random_model
    if supervised:
        log("probe: supervised from scratch")
        logits = supervised_logits(cfg, data.audio[train_idx], ytr, data.audio[test_idx], n_classes, device,
                                   show_progress)
        rows.append(_row("supervised from scratch", logits, yte, gte, p.seed, "model"))
    log("probe: hand-made features")
    for key, feats in hand_made_features(data.audio, cfg).items():
        rows.append(linear(key, feats, "baseline")[0])
    rows.sort(key=lambda r: {"model": 0, "baseline": 1, "layer": 2}[r.kind])
    return ProbeReport(rows, data.classes, len(train_idx), len(test_idx), len(set(gtr.tolist())),
                       len(set(gte.tolist())), extra={"l2": chosen})
