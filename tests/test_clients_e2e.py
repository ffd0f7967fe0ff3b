"""The bundled clients against the real service: SuperCollider (the Immersions Quark in sclang + scsynth
over a dummy-driver jackd) and Pure Data (pd headless).  One service serves the whole module (with JACK audio when
jackd is installed; Pd does not need it)."""
import random
import re
import socket
import subprocess

import pytest
from pythonosc.osc_message import OscMessage

from clients_harness import (PD, QUARK, SCLANG, SCSYNTH, check_quark_selftest, check_two_pd_instances,
                             current_status, install_quark, pd_cmd, pd_errors, pd_expr, pd_generator, pd_volume,
                             run_quark_selftest, wait_ready)
from service_harness import HAVE_JACKD, JackServer, OSCClient, ServiceProcess, free_udp_port

pytestmark = pytest.mark.slow



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


@pytest.mark.skipif(not (SCLANG and SCSYNTH), reason="SuperCollider is not installed "
                    "(apt-get install supercollider-language supercollider-server)")
@pytest.mark.skipif(not HAVE_JACKD, reason="jackd is not installed (apt-get install jackd2)")
def test_supercollider_selftest(live, tmp_path):
    """The Immersions Quark (the SuperCollider client), installed from this checkout with
    Quarks.install, runs its examples/selftest.scd against the module's service: the loop heard over
    JACK on loopBus and recorded into loopBuffer, status, energy and whole activation frames received,
    a control set by name acknowledged and applied, learn mode, auth with a token."""
    jack, service = live
    home = tmp_path / "home"  # a fresh sclang config, no user startup file
    home.mkdir()
    install_quark(home, QUARK)
    code, out, volumes = run_quark_selftest(home, QUARK, service.port, jack.env)
    check_quark_selftest(code, out, volumes, current_status(service.port))


# A tiny driver patch with one [immersions] (its host, port and listen port as creation arguments): at
# load, verbose; after 2.5 s (the status has arrived, so the toggles follow it) moves "fader 1" (CC 81,
# the path [ctlin] feeds), presses button CC 66 (play/stop), learns CC 21 for the volume and moves it;
# quits after 8 s.
DRIVER = """#N canvas 0 0 400 300 12;
#X obj 10 10 loadbang;
#X obj 10 40 delay 2500;
#X msg 10 70 cc 81 {value} \\, cc 66 127 \\, cc 66 0 \\, learn volume \\, cc 21 5 \\, cc 21 {learned};
#X obj 200 40 delay 8000;
#X msg 200 70 \\; pd quit;
#X obj 10 130 immersions 127.0.0.1 {port} {listen};
#X msg 100 100 verbose 1;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 0 0 3 0;
#X connect 3 0 4 0;
#X connect 2 0 5 0;
#X connect 0 0 6 0;
#X connect 6 0 5 0;
"""


@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_pure_data_patch(live, tmp_path):
    """pd headless runs [immersions 127.0.0.1 PORT LISTEN] against the service: it subscribes, receives
    the status (its play toggle follows it: the first press flips what the service is doing), each ack
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
    (tmp_path / "driver.pd").write_text(DRIVER.format(value=value, learned=learned, port=service.port,
                                                      listen=free_udp_port()))
    proc = subprocess.run(["nice", "-n", "10", *pd_cmd(tmp_path / "driver.pd")], capture_output=True, text=True,
                          timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert not pd_errors(out), out[-3000:]  # the abstraction found, created, no errors (no default port bound)
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


@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_two_pure_data_instances_against_two_services(live, tmp_path):
    """Two [immersions] in one patch, with different ports, against two running services: each binds its
    own listen port (no error), subscribes to its own service, and learns its own CC map -- the volume of
    each service is what its instance's learned CC said, and the other instance's CC did nothing there.
    The abstraction is the copy `immersions-osc clients export --host pd` writes, on Pd's path as a user
    installs it."""
    from immersions_osc.cli import main

    assert main(["clients", "export", str(tmp_path / "exported"), "--host", "pd"]) == 0
    library = tmp_path / "exported" / "pd" / "immersions"
    _, first = live
    second = ServiceProcess("--audio", "none", "--loops-dir", str(tmp_path / "loops-b"))
    try:
        wait_ready(second)
        check_two_pd_instances(library, first.port, second.port, tmp_path)
    finally:
        assert second.stop() == 0, second.output[-3000:]


# Learn mode alone, no service: Pd in batch mode (logical time, as fast as it goes); what the patch
# sends is read from the wire by a socket standing in for the service.
LEARN_DRIVER = """#N canvas 0 0 400 300 12;
#X obj 10 10 loadbang;
#X obj 10 40 delay 100;
#X msg 10 70 cc {default} {a} \\, learn {name} \\, cc {cc} 64 \\, cc {cc} {b} \\, cc {default} {c} \\, learn no_such_control \\, map;
#X obj 10 130 immersions 127.0.0.1 {port} {listen};
#X obj 200 40 delay 200;
#X msg 200 70 \\; pd quit;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 2 0 3 0;
#X connect 0 0 4 0;
#X connect 4 0 5 0;
"""


def run_pd_with_driver(driver_template, **fields) -> tuple[subprocess.CompletedProcess, list[OscMessage]]:
    """Pd in batch mode (no audio, no MIDI) with the driver patch (its [immersions] pointed at a UDP socket
    here, standing in for the service): the finished Pd and every OSC message the socket got."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    try:
        driver = fields.pop("path")
        driver.write_text(driver_template.format(port=sock.getsockname()[1], listen=free_udp_port(), **fields))
        proc = subprocess.run(pd_cmd(driver, batch=True), capture_output=True, text=True, timeout=30)
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
    proc, received = run_pd_with_driver(LEARN_DRIVER, path=tmp_path / "driver.pd", default=default, a=a, name=name,
                                        cc=cc, b=b, c=c)
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
    toggles send 0/1 (never 127), triggers fire on press only.  With a token (a remote service), the
    token goes out at once with a subscribe, and every later subscribe is preceded by /immersions/auth."""
    gen = pd_generator()
    rng = random.Random()
    plan = []
    for name, cc, kind, address, *rest in gen.CONTROLS:
        if kind == "f":
            plan.append((cc, rng.randint(0, 127)))
        elif kind in "tb":
            plan += [(cc, 127), (cc, 0)]
    lines = " \\, ".join(f"cc {cc} {v}" for cc, v in plan)  # Pd files escape commas
    driver = ("#N canvas 0 0 400 300 12;\n#X obj 10 10 loadbang;\n#X obj 10 40 delay 100;\n"
              "#X msg 10 70 token s3cret-token \\, " + lines + ";\n#X obj 10 130 immersions 127.0.0.1 {port} {listen};\n"
              "#X obj 200 40 delay 200;\n#X msg 200 70 \\; pd quit;\n"
              "#X connect 0 0 1 0;\n#X connect 1 0 2 0;\n#X connect 2 0 3 0;\n#X connect 0 0 4 0;\n#X connect 4 0 5 0;\n")
    proc, received = run_pd_with_driver(driver, path=tmp_path / "driver.pd")
    sent, session = [], []
    for m in received:
        if m.address in ("/immersions/stream/subscribe", "/immersions/auth"):
            session.append((m.address, m.params))
        else:
            sent.append(m)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # before the token message arrived (the abstraction subscribes as it loads): plain subscribes; from it on,
    # auth before every subscribe
    first_auth = next(k for k, m in enumerate(session) if m[0] == "/immersions/auth")
    assert all(m[0] == "/immersions/stream/subscribe" for m in session[:first_auth])
    after = session[first_auth:]
    assert after and len(after) % 2 == 0, session
    for auth, subscribe in zip(after[::2], after[1::2]):
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
