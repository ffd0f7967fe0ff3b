"""The bundled clients against the real service: SuperCollider (sclang + scsynth over a dummy-driver
jackd) and Pure Data (pd headless).  One service serves the whole module (with JACK audio when
jackd is installed; Pd does not need it)."""
import os
import random
import re
import shutil
import subprocess

import pytest

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
               QTWEBENGINE_DISABLE_SANDBOX="1", HOME=str(tmp_path))  # fresh sclang config, no user startup file
    proc = subprocess.run(["nice", "-n", "10", SCLANG, os.path.join(REPO, "patches", "selftest.scd")], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    results = dict(re.findall(r"^SELFTEST (\w+) (PASS|FAIL)", out, re.M))
    assert set(results) >= {"input", "status", "energy", "midi"}, out[-4000:]
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


# A tiny driver patch: after 2 s moves "fader 1" (CC 81, the same path [ctlin] feeds) and presses and
# releases button CC 65 (run/pause toggle: off -> on); quits after 7 s.
DRIVER = """#N canvas 0 0 400 300 12;
#X obj 10 10 loadbang;
#X obj 10 40 delay 2000;
#X msg 10 70 \\; immersions-cc 81 {value} \\; immersions-cc 65 127 \\; immersions-cc 65 0;
#X obj 200 40 delay 7000;
#X msg 200 70 \\; pd quit;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 0 0 3 0;
#X connect 3 0 4 0;
"""


@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_pure_data_patch(live, tmp_path):
    """pd headless runs patches/immersions.pd against the service: it subscribes, receives the
    status, and a CC sent through its MIDI path becomes a control the service applies."""
    _, service = live
    value = random.randint(1, 126)
    (tmp_path / "driver.pd").write_text(DRIVER.format(value=value))
    listen = free_udp_port()
    proc = subprocess.run(["nice", "-n", "10", PD, "-nogui", "-nosound", "-nomidi", "-nrt", "-stderr",
                           "-open", os.path.join(REPO, "patches", "immersions.pd"), "-open", str(tmp_path / "driver.pd"),
                           "-send", f"immersions-listen {listen}", "-send", f"immersions-service 127.0.0.1 {service.port}"],
                          capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    # no patch errors (a default port already taken on this machine is not one: we listen elsewhere)
    errors = [line for line in out.splitlines() if "error" in line.lower()
              and not re.search(r"listen|bind|address already in use|57132", line, re.I)]
    assert not errors, out[-3000:]
    assert re.search(r"^immersions-ack: /immersions/stream/subscribe$", out, re.M), out[-3000:]
    statuses = re.findall(r"^immersions-status: (.*)$", out, re.M)
    assert len(statuses) >= 2, out[-3000:]  # once a second, to our listening port
    assert re.search(r"^immersions-ack: /immersions/player/volume$", out, re.M), out[-3000:]
    assert re.search(r"^immersions-ack: /immersions/optimize/run$", out, re.M), out[-3000:]  # toggle sent 1, not 127
    # fader 1 maps 0..127 to volume 0..1.5: the service's volume is now that value
    expected = value / 127 * 1.5
    assert current_status(service.port)[6] == pytest.approx(expected, rel=1e-5)
    assert float(statuses[-1].split()[-3]) == pytest.approx(expected, rel=1e-4)  # and Pd saw it in the status
