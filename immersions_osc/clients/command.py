"""``immersions-osc clients export DIR [--host sc|pd|max|td|all]``: the bundled clients, copied out of
the installed package in each host's install layout, with one line per host saying where the host
looks for it.  ``register(subparsers)`` adds the sub-command; user mistakes raise UserError."""
from __future__ import annotations

import argparse

from ..errors import UserError
from . import HOSTS, export, parse_hosts


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("clients", help="the bundled SuperCollider, Pd, Max and TouchDesigner clients",
                              description="the bundled SuperCollider, Pure Data, Max and TouchDesigner clients")
    sub = p.add_subparsers(dest="clients_command", metavar="{export}", required=True)
    e = sub.add_parser("export", help="copy the clients into a folder, in each host's install layout",
                       description="copy the clients into DIR (one folder per host, in the host's install "
                                   "layout) and print where each host looks for them")
    e.add_argument("dir", metavar="DIR", help="destination folder (created if missing)")
    e.add_argument("--host", default="all",
                   help="sc, pd, max, td, several separated by commas, or all (default: %(default)s)")
    e.set_defaults(func=run_export)
    return p


def run_export(args: argparse.Namespace) -> int:
    hosts = parse_hosts(args.host)
    done, missing = export(args.dir, hosts)
    for item in done:  # one line per host: where it went and where the host looks for it
        print(f"{item.host}: {item.hint}")
    if missing:
        names = ", ".join(f"{HOSTS[h][1]} ({h})" for h in missing)
        raise UserError(f"this installation has no client for {names}")
    return 0
