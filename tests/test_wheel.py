"""The package runs anywhere: build the wheel from this tree, install it into a fresh venv, and run
it from an empty folder (no repository around, no PYTHONPATH): `--version`, `demo --seconds 5
--audio none` and `serve` for a few seconds; `clients export` writes every client, and the hosts run
what it wrote against services started from the wheel: sclang installs the Quark from the exported
folder, compiles it, renders its help and passes its selftest; Pd runs two [immersions] against two
services, each learning its own CC map.

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

from clients_harness import (PD, SCLANG, SCSYNTH, check_quark_compiles_and_help_renders, check_quark_selftest,
                             check_two_pd_instances, current_status, install_quark, run_quark_selftest, wait_ready)
from service_harness import HAVE_JACKD, JackServer, ServiceProcess, free_udp_port

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


CLIENTS = os.path.join(REPO, "immersions_osc", "clients")


def test_wheel_ships_every_client_file(installed):
    """Every file under immersions_osc/clients/ -- Pd, Max (the .amxd included), TouchDesigner and the
    SuperCollider Quark, whatever their names -- is in the wheel."""
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    files = [os.path.relpath(os.path.join(d, n), REPO).replace(os.sep, "/")
             for d, _, ns in os.walk(CLIENTS) if "__pycache__" not in d for n in ns if not n.endswith(".pyc")]
    assert len(files) > 15
    missing = [f for f in files if f not in names]
    assert not missing, missing


def test_clients_export_from_the_wheel(installed, tmp_path):
    """From the installed wheel in an empty folder: `clients export` writes every host the package has,
    each the package's own files; Pd runs the exported abstraction (found on its path) and it subscribes;
    the TouchDesigner scripts import from the installed package, not from a checkout."""
    import shutil
    import socket

    out = run(installed, "clients", "export", "exported")
    dest = installed["cwd"] / "exported"
    for folder in ("pd/immersions/immersions.pd", "pd/immersions/immersions-help.pd",
                   "max/Immersions/patchers/immersions.maxpat", "max/Immersions/devices/Immersions.amxd",
                   "touchdesigner/build_network.py"):
        assert (dest / folder).is_file(), (folder, out.stdout, out.stderr)
        with open(os.path.join(CLIENTS, folder), "rb") as f:  # DIR/<host folder> mirrors the package
            assert (dest / folder).read_bytes() == f.read(), folder
    has_sc = os.path.isdir(os.path.join(CLIENTS, "supercollider"))
    assert out.returncode == (0 if has_sc else 2), out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert f"add {dest / 'pd' / 'immersions'} to Pd's search path" in out.stdout
    where = subprocess.run([str(installed["py"]), "-c", "import immersions_osc.clients.touchdesigner.session as s, "
                            "immersions_osc.clients.touchdesigner.script_chop_callbacks as c; print(s.__file__); "
                            "print(c.__file__)"], cwd=installed["cwd"], env=installed["env"], capture_output=True,
                           text=True)
    assert where.returncode == 0, where.stderr
    assert all(p.startswith(str(installed["bin"].parent)) for p in where.stdout.split()), where.stdout
    pd = shutil.which("pd")
    if not pd:
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)
    try:
        driver = tmp_path / "driver.pd"
        driver.write_text("#N canvas 0 0 400 300 12;\n#X obj 10 10 loadbang;\n#X obj 10 40 delay 100;\n"
                          "#X msg 10 70 \\; pd quit;\n"
                          f"#X obj 10 130 immersions 127.0.0.1 {sock.getsockname()[1]} {free_udp_port()};\n"
                          "#X connect 0 0 1 0;\n#X connect 1 0 2 0;\n")
        done = subprocess.run([pd, "-nogui", "-nosound", "-nomidi", "-nrt", "-stderr", "-batch", "-path",
                               str(dest / "pd" / "immersions"), "-open", str(driver)], capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0 and "couldn't create" not in done.stderr, done.stderr
        assert b"/immersions/stream/subscribe" in sock.recvfrom(65536)[0]
    finally:
        sock.close()


@pytest.fixture(scope="module")
def exported(installed):
    """DIR, as `immersions-osc clients export DIR` from the installed wheel wrote it, in the empty folder."""
    out = run(installed, "clients", "export", "for-hosts")
    assert out.returncode == 0, out.stdout + out.stderr
    dest = installed["cwd"] / "for-hosts"
    assert f'Quarks.install("{dest / "supercollider" / "Immersions"}")' in out.stdout, out.stdout
    return dest


def wheel_service(installed, *args, env=None):
    """`python -m immersions_osc serve` run by the fresh venv's python (the wheel's package), from the
    empty folder, without PYTHONPATH."""
    service = ServiceProcess(*args, env=env or installed["env"], cwd=str(installed["cwd"]), python=str(installed["py"]))
    return service


def assert_served_by_the_wheel(installed, service):
    """The service said it listens, pointing at the OSC table inside the fresh venv (not the checkout)."""
    ready = [line for line in service.output.splitlines() if "listening for OSC" in line]
    assert ready and str(installed["bin"].parent) in ready[0], service.output[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(not (SCLANG and SCSYNTH), reason="SuperCollider is not installed "
                    "(apt-get install supercollider-language supercollider-server)")
@pytest.mark.skipif(not HAVE_JACKD, reason="jackd is not installed (apt-get install jackd2)")
def test_the_exported_quark_installs_compiles_documents_and_passes_its_selftest(installed, exported, tmp_path):
    """The issue's acceptance for SuperCollider, from the wheel: a headless sclang (its own HOME)
    installs the Quark from the exported folder with Quarks.install, a fresh one compiles the classes
    from there and renders their help without errors, and the Quark's examples/selftest.scd passes
    against a service the wheel runs (scsynth and the service on one dummy JACK server)."""
    folder = exported / "supercollider" / "Immersions"
    home = tmp_path / "sc-home"
    home.mkdir()
    install_quark(home, folder)
    check_quark_compiles_and_help_renders(home, folder)
    jack = JackServer()
    env = dict(installed["env"], JACK_DEFAULT_SERVER=jack.name, JACK_NO_AUDIO_RESERVATION="1")
    service = wheel_service(installed, "--audio", "jack", "--loops-dir", str(tmp_path / "loops"), env=env)
    try:
        wait_ready(service)
        code, out, volumes = run_quark_selftest(home, folder, service.port, env)
        status = current_status(service.port)
    finally:
        stopped = service.stop()
        jack.stop()
    check_quark_selftest(code, out, volumes, status)
    assert stopped == 0, service.output[-3000:]
    assert_served_by_the_wheel(installed, service)


@pytest.mark.slow
@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_two_exported_pd_instances_against_two_wheel_services(installed, exported, tmp_path):
    """The issue's acceptance for Pure Data, from the wheel: pd headless, with the exported library
    folder on its path, runs two [immersions] with different ports against two services the wheel
    runs; each subscribes to its own and learns its own CC map."""
    services = []
    try:
        for k in range(2):
            services.append(wheel_service(installed, "--audio", "none", "--loops-dir", str(tmp_path / f"loops{k}")))
        for service in services:
            wait_ready(service)
        check_two_pd_instances(exported / "pd" / "immersions", services[0].port, services[1].port, tmp_path)
    finally:
        stopped = [service.stop() for service in services]
    assert stopped == [0, 0], [service.output[-3000:] for service in services]
    for service in services:
        assert_served_by_the_wheel(installed, service)
