"""Training with Contrastive Predictive Coding, on one device or under ``torchrun`` (DDP).

* Data: the synthetic music stream or an audio folder, cropped to ``CPCModel.crop_samples``.
  Batch ``b`` of rank ``r`` (of ``W`` ranks) holds items ``(b * W + r) * B ... + B - 1``; items are
  generated/cropped deterministically from (seed, index), so a run is reproducible with a seed
  and ``--resume`` continues the same data stream.
* Under ``torchrun`` each rank trains on its own batch (its negatives come from that batch) and
  DistributedDataParallel averages the gradients; rank 0 writes checkpoints and logs.
* Checkpoints (``checkpoint.pt`` in the output folder) are written atomically every
  ``train.checkpoint_every`` steps and at the end; ``train_log.jsonl`` gets one line per log step.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
import torch.distributed as dist
from torch import nn

from .atomic import remove_stale_temps
from .checkpoint import load_model, save_checkpoint
from .device import resolve_device
from .config import Config
from .errors import UserError
from .model import CPCModel, build_model
from .progress import Progress

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "train_log.jsonl"


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str) -> Distributed:
    """Join the process group when started by torchrun (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    info = Distributed(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = device_name != "cpu" and torch.cuda.is_available()
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return info


class StepBatches(torch.utils.data.Sampler):
    """Yields, for each step from ``start`` to ``stop``, the item indices of this rank's batch."""

    def __init__(self, start: int, stop: int, batch_size: int, distributed: Distributed):
        self.start, self.stop, self.batch_size, self.dist = start, stop, batch_size, distributed

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            first = (step * self.dist.world_size + self.dist.rank) * self.batch_size
            yield list(range(first, first + self.batch_size))

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def make_dataset(cfg: Config, crop_samples: int) -> torch.utils.data.Dataset:
    from .data.folder import AudioFolderDataset, SyntheticDataset

    sr = cfg.scaleogram.sample_rate
    if cfg.data.source == "synthetic":
        return SyntheticDataset(crop_samples=crop_samples, sample_rate=sr, seed=cfg.train.seed,
                                length=cfg.train.steps * cfg.train.batch_size * 1024)
    return AudioFolderDataset(cfg.data.folder, sample_rate=sr, crop_samples=crop_samples,
                              length=cfg.data.items_per_epoch, seed=cfg.train.seed)


def audio_of(item) -> torch.Tensor:
    """Datasets yield either audio or (audio, labels)."""
    return item[0] if isinstance(item, (tuple, list)) else item


def learning_rate(cfg: Config, step: int) -> float:
    t = cfg.train
    if step < t.warmup_steps:
        return t.learning_rate * (step + 1) / t.warmup_steps
    progress = (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps)
    return t.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class LossModule(nn.Module):
    """DDP needs a module whose forward returns the loss."""

    def __init__(self, model: CPCModel):
        super().__init__()
        self.model = model

    def forward(self, audio: torch.Tensor):
        result = self.model.contrastive_loss(audio)
        return result.loss, result.accuracy


def train(cfg: Config, out_dir: str, resume: bool = False, show_progress: bool = True,
          max_steps: Optional[int] = None, max_seconds: Optional[float] = None) -> dict:
    """Train ``cfg`` into ``out_dir``; returns the final metrics.  ``max_steps`` stops early
    (the schedule still follows ``cfg.train.steps``); ``max_seconds`` ends this chunk at the first
    step that finishes past that much wall time, with a checkpoint that ``resume`` continues exactly."""
    distributed = init_distributed(cfg.train.device)
    device = resolve_device(cfg.train.device, distributed.local_rank if distributed.enabled else None)
    ckpt_path = os.path.join(out_dir, CHECKPOINT_NAME)
    torch.manual_seed(cfg.train.seed)

    start_step, payload = 0, None
    if distributed.is_main:  # a run killed (SIGKILL) during a save left its temp file: remove it
        remove_stale_temps(ckpt_path)
    if resume:
        if not os.path.isfile(ckpt_path):
            raise UserError(f"--resume: no checkpoint to resume from in {out_dir}")
        model, _, payload = load_model(ckpt_path, device, expect=cfg)
        start_step = payload["step"]
        torch.set_rng_state(payload["rng"]["torch"])
    elif os.path.isfile(ckpt_path):  # every rank checks, so none is left waiting in DDP set-up
        raise UserError(f"{ckpt_path} exists: pass --resume to continue it, or choose another --out")
    else:
        model = build_model(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.learning_rate,
                                 weight_decay=cfg.train.weight_decay)
    if payload is not None and "optimizer" in payload:
        optimizer.load_state_dict(payload["optimizer"])

    module: nn.Module = LossModule(model)
    if distributed.enabled:
        module = nn.parallel.DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None)

    stop = min(cfg.train.steps, max_steps if max_steps is not None else cfg.train.steps)
    dataset = make_dataset(cfg, model.crop_samples)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=StepBatches(start_step, stop, cfg.train.batch_size, distributed),
        num_workers=cfg.data.num_workers, pin_memory=device.type == "cuda",
        persistent_workers=False)
    autocast = device.type == "cuda" and cfg.train.mixed_precision

    if distributed.is_main:
        os.makedirs(out_dir, exist_ok=True)
    progress = Progress(stop - start_step, "train", enabled=show_progress and distributed.is_main,
                        every=cfg.train.log_every)
    metrics: dict = {"step": start_step}
    model.train()
    window_clips, window_start = 0, time.perf_counter()
    chunk_start = window_start
    for step, batch in enumerate(loader, start=start_step):
        audio = audio_of(batch).to(device, non_blocking=True)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, step)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            loss, accuracy = module(audio)
        loss_value, accuracy_value = loss.item(), accuracy.item()  # one device sync per step
        if not math.isfinite(loss_value):  # before the step, so no NaN reaches the weights
            raise RuntimeError(f"training diverged at step {step} (loss {loss_value}); "
                               f"lower train.learning_rate or resume from the last checkpoint")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.train.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        optimizer.step()
        window_clips += audio.shape[0] * distributed.world_size
        done = step + 1
        out_of_time = max_seconds is not None and time.perf_counter() - chunk_start >= max_seconds
        if max_seconds is not None and distributed.enabled:  # every rank stops at the same step
            flag = torch.tensor([1.0 if out_of_time else 0.0], device=device)
            dist.all_reduce(flag)
            out_of_time = bool(flag.item() > 0)
        if done % cfg.train.log_every == 0 or done == stop or out_of_time:
            elapsed = time.perf_counter() - window_start
            metrics = {"step": done, "loss": loss_value, "accuracy": accuracy_value,
                       "clips_per_s": window_clips / max(elapsed, 1e-9), "lr": learning_rate(cfg, step)}
            window_clips, window_start = 0, time.perf_counter()
            if distributed.is_main:
                with open(os.path.join(out_dir, LOG_NAME), "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(metrics) + "\n")
        progress.update(done - start_step, loss=f"{loss_value:.3f}", acc=f"{accuracy_value:.2f}",
                        clips_s=f"{metrics.get('clips_per_s', 0):.1f}")
        if distributed.is_main and (done % cfg.train.checkpoint_every == 0 or done == stop or out_of_time):
            save_checkpoint(ckpt_path, model, cfg, step=done, optimizer=optimizer, metrics=metrics,
                            rng={"torch": torch.get_rng_state()}, world_size=distributed.world_size)
        if out_of_time:
            break
    progress.close()
    if distributed.enabled:
        dist.barrier()
        dist.destroy_process_group()
    return metrics

