"""The bundled clients, shipped as package data: one folder per host under ``immersions_osc/clients/``,
each already in the layout its host installs things from.

* ``pd/immersions/``          a Pure Data abstraction folder, deken-ready (``[immersions]`` + help)
* ``max/Immersions/``         a Max package (patchers/, help/, docs/refpages/, examples/, the Max for
                              Live device)
* ``supercollider/``          a SuperCollider Quark (the folder holding ``*.quark``)
* ``touchdesigner/``          the TouchDesigner network builder and its DATs' Python, imported from
                              this installed package (``immersions_osc.clients.touchdesigner``)

:func:`export` copies them out of the installed package (``immersions-osc clients export``) and says
where each host looks for them.  The generators (``make_*.py``) sit beside what they write and are
not exported.  This module imports nothing of ours (the command above it prints; it only copies).
"""
from __future__ import annotations

import fnmatch
import os
import shutil
from dataclasses import dataclass

from ..errors import UserError

HERE = os.path.dirname(os.path.abspath(__file__))

# host key (the --host word) -> (folder under immersions_osc/clients/, the host's name)
HOSTS = {
    "sc": ("supercollider", "SuperCollider"),
    "pd": ("pd", "Pure Data"),
    "max": ("max", "Max"),
    "td": ("touchdesigner", "TouchDesigner"),
}
# not copied: generators, Python caches, the package marker (an exported folder is for the host, not Python)
SKIP = ("make_*.py", "__pycache__", "*.pyc", "__init__.py")


@dataclass
class Exported:
    host: str  # the --host word
    path: str  # the folder written
    hint: str  # one line: where the host looks for it


def host_folder(host: str) -> str:
    """The installed folder of one host's client (it may be missing: a partial install)."""
    return os.path.join(HERE, HOSTS[host][0])


def available(host: str) -> bool:
    folder = host_folder(host)
    return os.path.isdir(folder) and any(not _skipped(n) for n in os.listdir(folder))


def parse_hosts(text: str) -> list[str]:
    """'all', one host word, or several separated by commas -> host words, in HOSTS' order."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words:
        raise UserError("--host is empty: choose sc, pd, max, td or all")
    if "all" in words:
        return list(HOSTS)
    unknown = [w for w in words if w not in HOSTS]
    if unknown:
        raise UserError(f"unknown host {unknown[0]!r}: choose sc, pd, max, td or all")
    return [h for h in HOSTS if h in words]


def _skipped(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in SKIP)


def _ignore(_folder, names):
    return [n for n in names if _skipped(n)]


def _hint(host: str, dest: str) -> str:
    if host == "pd":
        folder = os.path.join(dest, "immersions")
        return (f"Pure Data: add {folder} to Pd's search path (Preferences > Path), or copy it into "
                f"~/Documents/Pd/externals and put [declare -path immersions] in your patch; then "
                f"[immersions 127.0.0.1 57130 57132] (right-click > Help for the help patch)")
    if host == "max":
        folder = os.path.join(dest, "Immersions")
        return (f"Max: copy {folder} into ~/Documents/Max 8/Packages (or Max 9/Packages) and restart Max; "
                f"[immersions] and its help are then found, the Max for Live device is in Immersions/devices")
    if host == "sc":
        quark = _quark_folder(dest)
        return (f'SuperCollider: Quarks.install("{quark}"), then recompile the class library'
                if quark else f"SuperCollider: written to {dest} (no .quark file found in it)")
    build = "import immersions_osc.clients.touchdesigner.build_network as b; b.build('/project1/immersions')"
    site = os.path.dirname(os.path.dirname(HERE))
    return (f"TouchDesigner: in the Textport: {build}  (TouchDesigner's Python must find this package: "
            f"add {site} in Preferences > General > Python 64-bit Module Path; the scripts to read are in {dest})")


def _quark_folder(dest: str) -> str | None:
    for folder, _dirs, names in sorted(os.walk(dest)):
        if any(n.endswith(".quark") for n in names):
            return folder
    return None


def export(dest: str, hosts: list[str]) -> tuple[list[Exported], list[str]]:
    """Copy each host's client into ``dest/<folder>/`` (existing files are overwritten, nothing else
    is deleted).  Returns (what was written, the hosts missing from this installation).  Paths are
    absolute: the hints are read from another program (Pd's path, Max's Packages, sclang)."""
    dest = os.path.abspath(os.path.expanduser(dest))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise UserError(f"{dest} is a file, not a folder")
    try:
        os.makedirs(dest, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {dest}: {exc.strerror or exc}") from None
    if not os.access(dest, os.W_OK | os.X_OK):
        raise UserError(f"cannot write into {dest}: permission denied")
    done, missing = [], []
    for host in hosts:
        if not available(host):
            missing.append(host)
            continue
        target = os.path.join(dest, HOSTS[host][0])
        try:
            shutil.copytree(host_folder(host), target, ignore=_ignore, dirs_exist_ok=True)
        except (OSError, shutil.Error) as exc:
            raise UserError(f"cannot write {target}: {exc}") from None
        done.append(Exported(host, target, _hint(host, target)))
    return done, missing
