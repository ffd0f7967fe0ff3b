"""``immersions-osc clients export DIR [--host ...]``: each host's folder copied out of the package in its
install layout, one line per host saying where the host looks for it, and one-line errors for bad input.
(tests/test_wheel.py runs it from the installed wheel in an empty folder.)"""
import os
import subprocess
import sys

import pytest

from immersions_osc import clients
from immersions_osc.cli import main
from service_harness import REPO

PACKAGE_CLIENTS = os.path.join(REPO, "immersions_osc", "clients")


def tree(folder):
    """{relative path: bytes} of every file under folder."""
    out = {}
    for d, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, folder)] = f.read()
    return out


def shipped(host):
    """What the package holds for a host, minus what export leaves out (generators, caches, __init__)."""
    return {rel: data for rel, data in tree(clients.host_folder(host)).items()
            if not any(clients._skipped(part) for part in rel.split(os.sep))}


def test_export_writes_each_host_in_its_install_layout(tmp_path, capsys):
    assert main(["clients", "export", str(tmp_path), "--host", "pd,max,td"]) == 0
    out = capsys.readouterr().out
    # Pd: a deken-style folder named after the abstraction, with its help
    pd = tmp_path / "pd" / "immersions"
    assert (pd / "immersions.pd").is_file() and (pd / "immersions-help.pd").is_file()
    # Max: a package folder
    package = tmp_path / "max" / "Immersions"
    for rel in ("package-info.json", "patchers/immersions.maxpat", "help/immersions.maxhelp",
                "docs/refpages/immersions.maxref.xml"):
        assert (package / rel).is_file(), rel
    # TouchDesigner: the scripts to read (the network itself builds from the installed package)
    assert (tmp_path / "touchdesigner" / "build_network.py").is_file()
    for host in ("pd", "max", "td"):
        folder = tmp_path / clients.HOSTS[host][0]
        assert tree(folder) == shipped(host), host  # byte for byte what the package holds
        assert not [p for p in tree(folder) if p.startswith("make_") or p.endswith("__init__.py")], host
    # one line per host saying where the host looks
    assert len(out.strip().splitlines()) == 3
    assert f"add {pd} to Pd's search path" in out
    assert f"copy {package} into ~/Documents/Max 8/Packages" in out
    assert "b.build('/project1/immersions')" in out and "Python 64-bit Module Path" in out
    assert str(tmp_path / "touchdesigner") in out
    assert "Traceback" not in out


def test_export_all_writes_every_host_the_package_has(tmp_path, capsys):
    code = main(["clients", "export", str(tmp_path)])
    captured = capsys.readouterr()
    present = [h for h in clients.HOSTS if clients.available(h)]
    assert {"pd", "max", "td"} <= set(present)
    for host in present:
        assert tree(tmp_path / clients.HOSTS[host][0]) == shipped(host), host
        assert len([ln for ln in captured.out.splitlines() if ln.startswith(f"{host}: ")]) == 1
    if "sc" in present:  # the Quark: where Quarks.install finds it
        assert 'Quarks.install("' in captured.out and code == 0
    else:  # a host missing from this installation is an error, named, after the others were written
        assert code == 2 and "no client for SuperCollider (sc)" in captured.err


def test_export_overwrites_its_files_and_keeps_the_users(tmp_path, capsys):
    mine = tmp_path / "pd" / "immersions" / "my-notes.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("mine")
    (mine.parent / "immersions.pd").write_text("an old copy")
    assert main(["clients", "export", str(tmp_path), "--host", "pd"]) == 0
    assert mine.read_text() == "mine"
    assert (mine.parent / "immersions.pd").read_bytes() == shipped("pd")[os.path.join("immersions", "immersions.pd")]


@pytest.mark.parametrize("args, message", [
    (["--host", "reaper"], "unknown host 'reaper': choose sc, pd, max, td or all"),
    (["--host", ","], "--host is empty"),
])
def test_export_bad_host_is_one_line(tmp_path, capsys, args, message):
    assert main(["clients", "export", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"immersions-osc: error: {err.split('error: ', 1)[1].strip()}" and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing written


def test_export_into_a_place_that_cannot_be_a_folder_is_one_line(tmp_path):
    """DIR under a file (cannot be created) and DIR that is a file: one line from the real command, no traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    env = dict(os.environ, PYTHONPATH=REPO)
    for target, message in ((blocker / "sub", "cannot create"), (blocker, "is a file, not a folder")):
        done = subprocess.run([sys.executable, "-m", "immersions_osc", "clients", "export", str(target)],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("immersions-osc: error: ") and message in done.stderr, done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_export_into_a_read_only_folder_is_one_line(tmp_path, capsys):
    tmp_path.chmod(0o500)
    try:
        assert main(["clients", "export", str(tmp_path)]) == 2
    finally:
        tmp_path.chmod(0o700)
    assert "cannot write into" in capsys.readouterr().err


def test_export_needs_an_action(capsys):
    with pytest.raises(SystemExit) as done:
        main(["clients"])
    assert done.value.code == 2 and "export" in capsys.readouterr().err
