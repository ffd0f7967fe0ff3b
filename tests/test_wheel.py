"""The package runs anywhere: build the wheel from this tree, install it into a fresh venv, and run
it from an empty folder (no repository around, no PYTHONPATH): `--version`, `demo --seconds 5
--audio none` and `serve` for a few seconds.

The fresh venv gets the wheel alone (``--no-deps --no-index``: nothing is downloaded); its
dependencies (torch, numpy, ...) come from the running interpreter's site-packages through a
``.pth`` line -- a path listed there is not a site dir, so this repository's editable install is
not seen, and ``immersions_osc`` is the wheel's.
"""
import os
import signal
import site
import subprocess
import sys
import time
import zipfile

import pytest

from service_harness import free_udp_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(dist), REPO], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = [p for p in dist.iterdir() if p.suffix == ".whl"]
    env_dir = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)  # pip from ensurepip
    py = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_FIND_LINKS")}
    install = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=600, env=clean)
    assert install.returncode == 0, install.stdout + install.stderr
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = [p for p in site.getsitepackages() + [site.getusersitepackages()] if os.path.isdir(p)]
    with open(os.path.join(purelib, "zz_dependencies.pth"), "w") as f:
        f.write("\n".join(ours) + "\n")
    empty = tmp_path_factory.mktemp("empty")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", JACK_DEFAULT_SERVER="immersions-test-nobody")
    return {"wheel": wheel, "bin": env_dir / "bin", "py": py, "cwd": empty, "env": env}


def run(installed, *args, timeout=300):
    return subprocess.run([str(installed["bin"] / "immersions-osc"), *args], cwd=installed["cwd"],
                          env=installed["env"], capture_output=True, text=True, timeout=timeout)


def test_wheel_ships_the_model_layout_table_and_license(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    checkpoints = sorted(os.path.basename(p) for p in os.listdir(os.path.join(REPO, "checkpoints"))
                         if p.endswith(".pt") or p.endswith("_layout.npz"))
    for name in checkpoints + ["osc.md"]:
        assert f"immersions_osc/shipped_files/{name}" in names, names
    assert any(n.endswith("LICENSE") for n in names)
    where = subprocess.run([str(installed["py"]), "-c", "import immersions_osc.shipped as s; "
                            "print(s.default_checkpoint()); print(s.osc_table())"], cwd=installed["cwd"],
                           env=installed["env"], capture_output=True, text=True, check=True).stdout.split()
    assert all(p.startswith(str(installed["bin"].parent)) and os.path.isfile(p) for p in where), where


def test_version(installed):
    import tomllib

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        version = tomllib.load(f)["project"]["version"]
    out = run(installed, "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"immersions-osc {version}", out


def test_demo_runs_from_an_empty_folder(installed):
    out = run(installed, "demo", "--seconds", "5", "--stops", "2", "--steps-per-stop", "5", "--audio", "none",
              "--web-port", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    demo = installed["cwd"] / "immersions-demo"  # relative output paths: from where the user runs it
    assert (demo / "demo.wav").stat().st_size > 5 * 44100
    assert (demo / "activations.png").is_file()
    assert "Traceback" not in out.stdout + out.stderr


def test_render_and_layout_find_the_shipped_checkpoint_from_an_empty_folder(installed):
    """Without --checkpoint, render and layout use the model inside the wheel, not a
    checkpoints/ folder that an empty folder does not have."""
    out = run(installed, "render", "--layer", "encoder.blocks.3.relu2", "--channels", "1", "--steps", "2",
              "--seconds", "1", "--out", "loop.wav")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (installed["cwd"] / "loop.wav").is_file()
    out = run(installed, "layout", "--out", "layout.npz", "--quiet")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (installed["cwd"] / "layout.npz").is_file()


def test_serve_runs_from_an_empty_folder(installed):
    import queue
    import threading

    port = free_udp_port()
    proc = subprocess.Popen([str(installed["bin"] / "immersions-osc"), "serve", "--audio", "none", "--port", str(port),
                             "--loops-dir", "loops"], cwd=installed["cwd"], env=installed["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: "queue.Queue[str]" = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("listening for OSC" in line for line in seen):
            try:
                seen.append(lines.get(timeout=1.0))
            except queue.Empty:
                if proc.poll() is not None:
                    break
        ready = [line for line in seen if "listening for OSC" in line]
        assert ready, "".join(seen)
        assert str(installed["bin"].parent) in ready[0]  # the OSC table it points at is the installed one
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
    while not lines.empty():
        seen.append(lines.get())
    assert proc.returncode == 0, "".join(seen)
    assert (installed["cwd"] / "loops" / "last_loop.wav").is_file()
