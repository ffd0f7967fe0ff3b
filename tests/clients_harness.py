"""What the client tests share: sclang headless with the Immersions Quark installed (install, compile,
help, the selftest against a live service) and Pd headless with the [immersions] abstraction (two
instances against two services).  Used by tests/test_clients_quark.py, tests/test_clients_e2e.py and
tests/test_wheel.py (which runs them on the folder the installed wheel exports)."""
from __future__ import annotations

import math
import os
import random
import re
import shutil
import subprocess

import pytest

from fixtures import load_file
from service_harness import REPO, OSCClient, ServiceProcess, free_udp_port

SCLANG = shutil.which("sclang")
SCSYNTH = shutil.which("scsynth")
PD = shutil.which("pd")
QUARK = os.path.join(REPO, "immersions_osc", "clients", "supercollider", "Immersions")
PD_LIBRARY = os.path.join(REPO, "immersions_osc", "clients", "pd", "immersions")


def current_status(port: int) -> list:
    osc = OSCClient(port)
    try:
        osc.send("/immersions/status/request")
        return osc.wait_for("/immersions/status", timeout=10)[1]
    finally:
        osc.close()


def wait_ready(service: ServiceProcess, timeout: float = 180.0) -> None:
    """Until the service answers its status (it loads the model first); stops it if it never does."""
    osc = OSCClient(service.port)
    try:
        osc.wait_ready(timeout)
    except TimeoutError:
        service.stop()
        raise AssertionError("the service never answered: " + service.output[-3000:])
    finally:
        osc.close()


# --- SuperCollider: the Quark ------------------------------------------------------------------------

def quark_rows() -> list[dict]:
    """The rows of the Quark's ImmersionsControls.sc read back from the sclang source (not from the
    generator): name, label, address, type, lo, hi, off, choices, warp, faderLo, faderHi, cc, default,
    argument."""
    with open(os.path.join(QUARK, "Classes", "ImmersionsControls.sc"), encoding="utf-8") as f:
        text = f.read()
    fields = re.findall(r"'(\w+)'", re.search(r"\*fields \{\s*\^#\[([^\]]*)\]", text).group(1))
    body = re.search(r"\*rows \{\s*\^#\[\n(.*?)\n\s*\]\n\s*\}", text, re.S).group(1)
    token = r"'[^']*'|\"[^\"]*\"|\\\w+|nil|-?[0-9.e+-]+|\[[^\]]*\]"
    rows = []
    for line in body.splitlines():
        values = re.findall(token, line.strip().rstrip(",")[1:-1])
        assert len(values) == len(fields), line

        def value(v):
            if v == "nil":
                return None
            if v[0] in "'\"":
                return v[1:-1]
            if v[0] == "\\":
                return v[1:]
            if v[0] == "[":
                return re.findall(r"'([^']*)'", v)
            return float(v)
        rows.append(dict(zip(fields, map(value, values))))
    return rows


def sclang(script: str, home, *, env=None, timeout=120, cwd=None) -> tuple[int, str]:
    """``sclang FILE`` headless with its own HOME (its own config: the installed Quark, no user
    startup file); (exit code, everything it printed)."""
    path = os.path.join(str(home), f"script{random.randrange(10**9)}.scd")
    with open(path, "w", encoding="utf-8") as f:
        f.write(script)
    env = dict(env or os.environ, HOME=str(home), QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    proc = subprocess.run(["nice", "-n", "10", SCLANG, path], env=env, cwd=cwd or str(home), capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def install_quark(home, folder) -> None:
    """``Quarks.install(folder)`` in a fresh sclang with HOME=home, whose config keeps it for the next."""
    code, out = sclang(f'var q = Quarks.install("{folder}");\n'
                       f'"INSTALLED % %".format(q.name, LanguageConfig.includePaths.includesEqual("{folder}")).postln;\n'
                       '0.exit;\n', home)
    assert code == 0 and re.search(r"^INSTALLED Immersions true$", out, re.M), out[-3000:]
    conf = (home / ".config" / "SuperCollider" / "sclang_conf.yaml").read_text()
    assert str(folder) in conf, conf


HELP = """
SCDoc.indexAllDocuments;
["Immersions", "ImmersionsControls", "ImmersionsControl"].do { |name|
    var doc = SCDoc.documents["Classes/" ++ name];
    if(doc.isNil or: { doc.isUndocumentedClass }) { "HELP % missing".format(name).postln } {
        SCDoc.parseAndRender(doc);
        "HELP % % undocumented=%".format(name, doc.destPath,
            (doc.undoccmethods.asArray ++ doc.undocimethods.asArray).sort).postln;
    }
};
"CLASS % %".format(Immersions.filenameSymbol, Immersions.version).postln;
0.exit;
"""


def check_quark_compiles_and_help_renders(home, folder) -> None:
    """A fresh sclang (HOME=home, the Quark installed from folder) compiles the classes from that folder
    without errors or warnings about them; SCDoc renders each class's help to HTML, every public method
    documented, every link to a method landing on one."""
    code, out = sclang(HELP, home)
    assert code == 0, out[-3000:]
    assert re.search(rf"^CLASS {re.escape(str(folder))}/Classes/Immersions.sc \d+\.\d+\.\d+$", out, re.M), \
        out[-3000:]
    # nothing the compiler or SCDoc said about the Quark's files is an error or a warning
    noise = [line for line in out.splitlines() if re.search(r"error|warning|exception", line, re.I)
             and re.search(r"Immersions|immersions|schelp", line)]
    assert not noise, noise
    pages = dict(re.findall(r"^HELP (\w+) (\S+) undocumented=\[ *\]$", out, re.M))
    assert set(pages) == {"Immersions", "ImmersionsControls", "ImmersionsControl"}, out[-3000:]
    html = {name: open(path, encoding="utf-8").read() for name, path in pages.items()}
    assert not re.search(r"Broken link", out), out[-3000:]
    for name, text in html.items():
        assert f"<title>{name} | SuperCollider" in text, name
        assert "Undocumented" not in text, name
        # every link to a method of these pages lands on one (SCDoc does not check anchors)
        for page, anchor in re.findall(r"href=[\"'](?:[./]*Classes/(\w+)\.html)?#([-*]\w+)[\"']", text):
            if not page or page in html:
                assert f"name='{anchor}'" in html[page or name], (name, page, anchor)
    for method in ("connect", "subscribe", "set", "learn", "loopBus", "loopBuffer", "onActivations", "free"):
        assert f"name='-{method}'" in html["Immersions"], method


def run_quark_selftest(home, folder, port: int, env: dict, timeout: float = 300) -> tuple[int, str, list]:
    """The installed Quark's examples/selftest.scd against the service on ``port`` (env: the JACK server
    both use, a token); a second subscriber watches the service's status meanwhile.  (exit code,
    output, the volumes that subscriber saw)."""
    env = dict(env, IMMERSIONS_PORT=str(port), IMMERSIONS_TOKEN="a-token")
    watch = OSCClient(port)
    try:
        watch.subscribe("summary")
        with open(os.path.join(str(folder), "examples", "selftest.scd"), encoding="utf-8") as f:
            code, out = sclang(f.read(), home, env=env, timeout=timeout)
        volumes = [m[2][6] for m in watch.receive(1.0) if m[0] == "/immersions/status"]
    finally:
        watch.close()
    return code, out, volumes


def check_quark_selftest(code: int, out: str, volumes: list, status: list) -> None:
    """Every check of the selftest passed (status, auth, energy, whole activation frames, a control set
    by name acknowledged, range, learn, the loop heard on loopBus and recorded into loopBuffer); the
    volume it set was the service's (seen by another subscriber) and the one before it is back."""
    lines = "\n".join(line for line in out.splitlines() if line.startswith("SELFTEST"))
    print(lines)  # shown by pytest -rP
    results = dict(re.findall(r"^SELFTEST (\w+) (PASS|FAIL)", out, re.M))
    assert set(results) >= {"status", "auth", "energy", "activations", "set", "range", "learn", "input",
                            "buffer"}, lines + "\n" + out[-4000:]
    assert all(v == "PASS" for v in results.values()), lines + "\n" + out[-2000:]
    assert code == 0, lines + "\n" + out[-4000:]
    sent = float(re.search(r"^SELFTEST set PASS sent=\[ /immersions/player/volume, ([0-9.e-]+) \]", out,
                           re.M).group(1))
    assert any(v == pytest.approx(sent, rel=1e-5) for v in volumes), (sent, volumes)
    assert status[6] == pytest.approx(volumes[0], rel=1e-5) and status[6] != pytest.approx(sent, rel=1e-5)


# --- Pure Data: the [immersions] abstraction ------------------------------------------------------------

def pd_cmd(*patches, batch=False, library=PD_LIBRARY):
    """pd headless with the library folder on its path, as a user adds it to Pd's search path."""
    return [PD, "-nogui", "-nosound", "-nomidi", "-nrt", "-stderr", *(["-batch"] if batch else []),
            "-path", str(library), *(a for p in patches for a in ("-open", str(p)))]


def pd_generator():
    return load_file("make_pd_patch", "immersions_osc", "clients", "pd", "make_pd_patch.py")


def pd_expr(expr: str, value: float) -> float:
    """A control's [expr] mapping (from the generator's table: what the patch's [expr] evaluates)."""
    return eval(expr.replace("$f1", repr(float(value))), {"__builtins__": {}, "exp": math.exp, "pow": math.pow})


def pd_volume(value: int) -> float:
    """What the patch's fader 1 mapping gives (SuperCollider's \\amp warp, 0..1.5)."""
    return pd_expr(next(c[7] for c in pd_generator().CONTROLS if c[0] == "volume"), value)


def pd_errors(out: str) -> list:
    return [line for line in out.splitlines() if "error" in line.lower() or "couldn't create" in line]


# Two instances in one patch, each with its own service and listen port.  First each learns a different
# CC for the volume (a shared map would lose the first one here: learning frees the control's other CCs);
# a second later each moves its own CC, then the OTHER instance's CC, which must do nothing there.
TWO = """#N canvas 0 0 600 300 12;
#X obj 10 10 loadbang;
#X obj 10 40 delay 1500;
#X msg 10 70 learn volume \\, cc {cc_a} 5;
#X msg 300 70 learn volume \\, cc {cc_b} 5;
#X obj 10 130 immersions 127.0.0.1 {port_a} {listen_a};
#X obj 300 130 immersions 127.0.0.1 {port_b} {listen_b};
#X obj 200 40 delay 5000;
#X msg 200 70 \\; pd quit;
#X obj 10 100 delay 1000;
#X msg 10 100 cc {cc_a} {a} \\, cc {cc_b} 99 \\, map;
#X msg 300 100 cc {cc_b} {b} \\, cc {cc_a} 99 \\, map;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 1 0 3 0;
#X connect 2 0 4 0;
#X connect 3 0 5 0;
#X connect 0 0 6 0;
#X connect 6 0 7 0;
#X connect 1 0 8 0;
#X connect 8 0 9 0;
#X connect 8 0 10 0;
#X connect 9 0 4 0;
#X connect 10 0 5 0;
"""


def check_two_pd_instances(library, port_a: int, port_b: int, tmp_path) -> None:
    """Two [immersions] from ``library`` in one patch, with different ports, against the services on
    port_a and port_b: each binds its own listen port (no error), subscribes to its own service, and
    learns its own CC map -- the volume of each service is what its instance's learned CC said, and the
    other instance's CC did nothing there."""
    rng = random.Random()
    used = {c[1] for c in pd_generator().CONTROLS}
    cc_a, cc_b = rng.sample([n for n in range(128) if n not in used], 2)
    a, b = rng.sample(range(1, 99), 2)
    (tmp_path / "two.pd").write_text(TWO.format(cc_a=cc_a, cc_b=cc_b, a=a, b=b, port_a=port_a, port_b=port_b,
                                                listen_a=free_udp_port(), listen_b=free_udp_port()))
    proc = subprocess.run(["nice", "-n", "10", *pd_cmd(tmp_path / "two.pd", library=library)],
                          capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and not pd_errors(out), out[-3000:]
    assert "multiply defined" not in out and "warning" not in out.lower(), out[-3000:]  # no shared table or array
    assert re.search(rf"^immersions: CC {cc_a} now controls volume$", out, re.M), out[-3000:]
    assert re.search(rf"^immersions: CC {cc_b} now controls volume$", out, re.M), out[-3000:]
    # each instance's map: its own learned CC, never the other's
    maps = re.findall(r"^immersions-map: CC (\d+) -> volume$", out, re.M)
    assert sorted(maps) == sorted([str(cc_a), str(cc_b)]), out[-3000:]
    # each service got its own instance's value (the other instance's CC, 99, changed nothing)
    assert current_status(port_a)[6] == pytest.approx(pd_volume(a), rel=1e-5)
    assert current_status(port_b)[6] == pytest.approx(pd_volume(b), rel=1e-5)
    # both subscribed (from their own listen ports): each service counts one subscriber
    assert current_status(port_a)[7] >= 1 and current_status(port_b)[7] >= 1
