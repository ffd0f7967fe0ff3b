"""The bundled clients against the real service: SuperCollider (sclang + scsynth over a dummy-driver
jackd) and Pure Data (pd headless).  One service serves the whole module (with JACK audio when
jackd is installed; Pd does not need it)."""
import math
import os
import random
import re
import shutil
import socket
import subprocess

import pytest
from pythonosc.osc_message import OscMessage

from fixtures import load_file
from service_harness import HAVE_JACKD, REPO, JackServer, OSCClient, ServiceProcess, free_udp_port

pytestmark = pytest.mark.slow

SCLANG = shutil.which("sclang")
SCSYNTH = shutil.which("scsynth")
PD = shutil.which("pd")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(jack server, service) with the service answering."""
    if not (SCLANG or PD):
        pytest.skip("neither sclang nor pd is installed")
    jack = JackServer() if HAVE_JACKD else None
    audio = "jack" if jack else "none"
    service = ServiceProcess("--audio", audio, "--loops-dir", str(tmp_path_factory.mktemp("loops")),
                             env=jack.env if jack else None)
    osc = OSCClient(service.port)
    try:
        osc.wait_ready()
    except TimeoutError:
        service.stop()
        if jack:
            jack.stop()
        raise
    finally:
        osc.close()
    yield jack, service
    code = service.stop()
    if jack:
        jack.stop()
    assert code == 0, service.output[-3000:]


def current_status(port: int) -> list:
    osc = OSCClient(port)
    try:
        osc.send("/immersions/status/request")
        return osc.wait_for("/immersions/status", timeout=5)[1]
    finally:
        osc.close()


@pytest.mark.skipif(not (SCLANG and SCSYNTH), reason="SuperCollider is not installed "
                    "(apt-get install supercollider-language supercollider-server)")
@pytest.mark.skipif(not HAVE_JACKD, reason="jackd is not installed (apt-get install jackd2)")
def test_supercollider_selftest(live, tmp_path):
    """patches/selftest.scd runs patches/immersions.scd: loop heard over JACK, status + energy
    received, the MIDI-CC mapping function sends a control the service acknowledges."""
    jack, service = live
    env = dict(jack.env, IMMERSIONS_PORT=str(service.port), QT_QPA_PLATFORM="offscreen",
               IMMERSIONS_TOKEN="a-token",  # the remote-service path (a local service accepts any)
               QTWEBENGINE_DISABLE_SANDBOX="1", HOME=str(tmp_path))  # fresh sclang config, no user startup file
    proc = subprocess.run(["nice", "-n", "10", SCLANG, os.path.join(REPO, "patches", "selftest.scd")], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    results = dict(re.findall(r"^SELFTEST (\w+) (PASS|FAIL)", out, re.M))
    assert set(results) >= {"input", "status", "energy", "midi", "toggle", "learn", "auth"}, out[-4000:]
    assert all(v == "PASS" for v in results.values()), out[-4000:]
    assert proc.returncode == 0, out[-4000:]
    # scsynth heard the loop: a real level, measured inside SC
    peak = float(re.search(r"^SELFTEST input PASS peak=([0-9.e-]+)", out, re.M).group(1))
    assert peak > 1e-3
    # the fader value SC sent is the service's volume now (the control really was applied)
    sent = re.search(r"^SELFTEST midi PASS cc=81 value=(\d+) sent=/immersions/player/volume,([0-9.e-]+)", out, re.M)
    assert sent, out[-4000:]
    assert 0 < float(sent.group(2)) <= 1.5
    assert current_status(service.port)[6] == pytest.approx(float(sent.group(2)), rel=1e-5)


# A tiny driver patch: after 2.5 s (the status has arrived, so the toggles follow it) moves "fader 1"
# (CC 81, the path [ctlin] feeds), presses button CC 66 (play/stop), learns CC 21 for the volume and
# moves it; quits after 8 s.
DRIVER = """#N canvas 0 0 400 300 12;
#X obj 10 10 loadbang;
#X obj 10 40 delay 2500;
#X msg 10 70 \\; immersions-cc 81 {value} \\; immersions-cc 66 127 \\; immersions-cc 66 0 \\; immersions-learn volume \\; immersions-cc 21 5 \\; immersions-cc 21 {learned};
#X obj 200 40 delay 8000;
#X msg 200 70 \\; pd quit;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 0 0 3 0;
#X connect 3 0 4 0;
"""


def pd_generator():
    return load_file("make_pd_patch", "patches", "make_pd_patch.py")


def pd_expr(expr: str, value: float) -> float:
    """A control's [expr] mapping (from the generator's table: what the patch's [expr] evaluates)."""
    return eval(expr.replace("$f1", repr(float(value))), {"__builtins__": {}, "exp": math.exp, "pow": math.pow})


def pd_volume(value: int) -> float:
    """What the patch's fader 1 mapping gives (SuperCollider's \\amp warp, 0..1.5)."""
    return pd_expr(next(c[7] for c in pd_generator().CONTROLS if c[0] == "volume"), value)


@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_pure_data_patch(live, tmp_path):
    """pd headless runs patches/immersions.pd against the service: it subscribes, receives the
    status (its play toggle follows it: the first press flips what the service is doing), each ack
    is printed once, a CC sent through its MIDI path and a learned CC become controls the service
    applies."""
    _, service = live
    rng = random.Random()
    value, learned = rng.randint(1, 126), rng.randint(1, 126)
    osc = OSCClient(service.port)
    try:  # the service plays: a toggle stuck at 0 would send play 1 on the first press (no change)
        osc.send("/immersions/player/play", "i", 1)
        osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/player/play"])
    finally:
        osc.close()
    playing_before = current_status(service.port)[5]
    assert playing_before == 1
    (tmp_path / "driver.pd").write_text(DRIVER.format(value=value, learned=learned))
    listen = free_udp_port()
    proc = subprocess.run(["nice", "-n", "10", PD, "-nogui", "-nosound", "-nomidi", "-nrt", "-stderr",
                           "-open", os.path.join(REPO, "patches", "immersions.pd"), "-open", str(tmp_path / "driver.pd"),
                           "-send", f"immersions-listen {listen}", "-send", f"immersions-service 127.0.0.1 {service.port}",
                           "-send", "immersions-verbose 1"],
                          capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    # no patch errors (a default port already taken on this machine is not one: we listen elsewhere)
    errors = [line for line in out.splitlines() if "error" in line.lower()
              and not re.search(r"listen|bind|address already in use|57132", line, re.I)]
    assert not errors, out[-3000:]
    assert re.search(r"^immersions: connected", out, re.M), out[-3000:]
    statuses = re.findall(r"^immersions-status: (.*)$", out, re.M)
    assert len(statuses) >= 2, out[-3000:]  # once a second, to our listening port
    # every ack once: two volume controls sent (fader 1, then the learned CC), one play
    assert len(re.findall(r"^immersions-ack: /immersions/player/volume$", out, re.M)) == 2, out[-3000:]
    assert len(re.findall(r"^immersions-ack: /immersions/player/play$", out, re.M)) == 1, out[-3000:]
    assert re.search(r"^immersions: CC 21 now controls volume$", out, re.M), out[-3000:]
    status = current_status(service.port)
    # the play toggle had followed the status: pressing it flipped the service's state
    assert status[5] == 1 - playing_before
    # the learned CC 21 set the volume last: the service's volume is its mapping of that value
    expected = pd_volume(learned)
    assert status[6] == pytest.approx(expected, rel=1e-5)
    assert float(statuses[-1].split()[-3]) == pytest.approx(expected, rel=1e-4)  # and Pd saw it in the status


# Learn mode alone, no service: Pd in batch mode (logical time, as fast as it goes); what the patch
# sends is read from the wire by a socket standing in for the service.
LEARN_DRIVER = """#N canvas 0 0 400 300 12;
#X obj 10 10 loadbang;
#X obj 10 40 delay 100;
#X msg 10 70 \\; immersions-cc {default} {a} \\; immersions-learn {name} \\; immersions-cc {cc} 64 \\; immersions-cc {cc} {b} \\; immersions-cc {default} {c} \\; immersions-learn no_such_control \\; immersions-map bang \\; pd quit;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
"""


def run_pd_with_driver(driver, *sends: str) -> tuple[subprocess.CompletedProcess, list[OscMessage]]:
    """Pd in batch mode (no audio, no MIDI) with patches/immersions.pd and ``driver`` open, ``sends``
    sent first, its service a UDP socket here: the finished Pd and every OSC message the socket got."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    try:
        sends = [*sends, f"immersions-listen {free_udp_port()}",
                 f"immersions-service 127.0.0.1 {sock.getsockname()[1]}"]
        proc = subprocess.run([PD, "-nogui", "-nosound", "-nomidi", "-nrt", "-stderr", "-batch",
                               "-open", os.path.join(REPO, "patches", "immersions.pd"), "-open", str(driver),
                               *(arg for text in sends for arg in ("-send", text))],
                              capture_output=True, text=True, timeout=30)
        received = []
        while True:
            try:
                received.append(OscMessage(sock.recvfrom(65536)[0]))
            except socket.timeout:
                break
    finally:
        sock.close()
    return proc, received


@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_pure_data_midi_learn(tmp_path):
    """Learn mode like SuperCollider's: the next CC takes over the control (that first move only
    learns), the control's old CC no longer does anything, the map says so; an unknown name is one
    clear line."""
    gen = pd_generator()
    rng = random.Random()
    controls = [c for c in gen.CONTROLS if c[2] == "f"]
    name, default, _, address, *_ = rng.choice(controls)
    mapping = next(c[7] for c in controls if c[0] == name)
    used = {c[1] for c in gen.CONTROLS}
    cc = rng.choice([n for n in range(128) if n not in used])
    a, b, c = rng.sample(range(1, 128), 3)
    (tmp_path / "driver.pd").write_text(LEARN_DRIVER.format(default=default, a=a, name=name, cc=cc, b=b, c=c))
    proc, received = run_pd_with_driver(tmp_path / "driver.pd")
    sent = [(m.address, m.params) for m in received if m.address != "/immersions/stream/subscribe"]
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    expected = lambda v: pd_expr(mapping, v)  # noqa: E731
    # the default CC before learning, then only the learned CC's second move: the learning move (64)
    # and the old CC afterwards send nothing
    assert [m[0] for m in sent] == [address, address], (sent, out)
    assert sent[0][1][0] == pytest.approx(expected(a), rel=1e-5)
    assert sent[1][1][0] == pytest.approx(expected(b), rel=1e-5)
    assert re.search(rf"^immersions: CC {cc} now controls {name}$", out, re.M), out
    mapped = dict(re.findall(r"^immersions-map: CC (\d+) -> (\w+)$", out, re.M))
    assert mapped[str(cc)] == name and str(default) not in mapped, out
    assert len(mapped) == len(gen.CONTROLS)
    assert re.search(r"^immersions: learn: no control called no_such_control", out, re.M), out
    assert "error" not in out.lower(), out


@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_pure_data_cc_mappings_and_buttons(tmp_path):
    """Every service control of the Pd patch from its default CC at a random value: the value on the
    wire is the generator's mapping (what [expr] computes), with the OSC type the contract wants;
    toggles send 0/1 (never 127), triggers fire on press only.  With a token (a remote service),
    every subscribe is preceded by /immersions/auth."""
    gen = pd_generator()
    rng = random.Random()
    plan = []
    for name, cc, kind, address, *rest in gen.CONTROLS:
        if kind == "f":
            plan.append((cc, rng.randint(0, 127)))
        elif kind in "tb":
            plan += [(cc, 127), (cc, 0)]
    lines = " ".join(f"\\; immersions-cc {cc} {v}" for cc, v in plan)
    (tmp_path / "driver.pd").write_text(
        "#N canvas 0 0 400 300 12;\n#X obj 10 10 loadbang;\n#X obj 10 40 delay 100;\n"
        f"#X msg 10 70 {lines} \\; pd quit;\n#X connect 0 0 1 0;\n#X connect 1 0 2 0;\n")
    proc, received = run_pd_with_driver(tmp_path / "driver.pd", "immersions-token s3cret-token")
    sent, session = [], []
    for m in received:
        if m.address in ("/immersions/stream/subscribe", "/immersions/auth"):
            session.append((m.address, m.params))
        else:
            sent.append(m)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert session and len(session) % 2 == 0, session
    for auth, subscribe in zip(session[::2], session[1::2]):
        assert auth == ("/immersions/auth", ["s3cret-token"]) and subscribe[0] == "/immersions/stream/subscribe"
    expected = []
    toggles = {}
    for cc, value in plan:
        name, _, kind, address, *rest = next(c for c in gen.CONTROLS if c[1] == cc)
        mapping = rest[3]
        if kind == "f":
            expected.append((address, "f", pd_expr(mapping, value)))
        elif kind == "t" and value:
            toggles[name] = 1 - toggles.get(name, 0)  # no status here: from 0
            expected.append((address, "i", toggles[name]))
        elif kind == "b" and value:
            words = address.split()
            expected.append((words[0], "s" if mapping else "", mapping))
    got = []
    for m in sent:
        tags = m.dgram[len(m.address) // 4 * 4 + 4:].split(b"\0")[0].decode()[1:]
        got.append((m.address, tags, m.params[0] if m.params else None))
    assert [(a, t) for a, t, _ in got] == [(a, t) for a, t, _ in expected], (got, expected)
    for (a, t, v), (_, _, want) in zip(got, expected):
        if t == "f":
            assert v == pytest.approx(want, rel=1e-5, abs=1e-7), a
        else:
            assert v == want, a
