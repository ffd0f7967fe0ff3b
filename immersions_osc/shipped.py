"""The files that ship with the package: the trained checkpoint, its neuron layout and the OSC
address table.  One small module below ``cli.py`` and ``service/`` (it imports nothing of ours).

In an installed wheel they are package data under ``immersions_osc/shipped_files/`` (``setup.py``
copies whatever ``checkpoints/*.pt``, ``checkpoints/*_layout.npz`` and ``docs/osc.md`` hold at
build time), found through :mod:`importlib.resources`; in a source checkout (editable install,
``PYTHONPATH``) they are read from the repository's ``checkpoints/`` and ``docs/``.  Every
command's ``--checkpoint`` / ``--layout`` flag overrides them.
"""
from __future__ import annotations

import os
from importlib import metadata, resources

PACKAGE = "immersions_osc"
DIST = "immersions-osc"
CHECKPOINT_NAME = "small.pt"
# what a config or flag says when it means "the shipped one" (the repository-relative path the
# docs and older configs use)
DEFAULT_CHECKPOINT_SPEC = "checkpoints/small.pt"
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _packaged(name: str) -> str | None:
    try:
        path = resources.files(PACKAGE).joinpath("shipped_files", name)
    except (ModuleNotFoundError, TypeError):
        return None
    return str(path) if path.is_file() else None


def shipped_file(name: str, repo_folder: str) -> str:
    """The path of a shipped file ``name``: package data first, else ``<repo>/<repo_folder>/name``
    (a source checkout).  The returned path may not exist (the caller says what is missing)."""
    return _packaged(name) or os.path.join(_REPO, repo_folder, name)


def default_checkpoint() -> str:
    return shipped_file(CHECKPOINT_NAME, "checkpoints")


def osc_table() -> str:
    return shipped_file("osc.md", "docs")


def resolve_checkpoint(path: str) -> str:
    """A checkpoint path as the user gave it: found from the current folder, else -- when it is
    the default spelling ``checkpoints/NAME`` -- the shipped file of that name."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    head, name = os.path.split(path)
    if head == "checkpoints":
        shipped = shipped_file(name, "checkpoints")
        if os.path.exists(shipped):
            return shipped
    return path


def version() -> str:
    """The installed distribution's version; in a bare source checkout, pyproject's."""
    try:
        return metadata.version(DIST)
    except metadata.PackageNotFoundError:
        pass
    try:
        import tomllib

        with open(os.path.join(_REPO, "pyproject.toml"), "rb") as f:
            return tomllib.load(f)["project"]["version"]
    except (OSError, KeyError, ImportError, ValueError):
        return "unknown"
