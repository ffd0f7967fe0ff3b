"""The SuperCollider Quark (immersions_osc/clients/supercollider/Immersions): its control rows against
the one controls table, installed the way a user installs it (``Quarks.install(folder)`` in a fresh
sclang, then a fresh sclang that compiles it), its help rendered by SCDoc, its decoding and what it
puts on the wire checked against a stand-in service, and its selftest against the real service with
scsynth on a dummy-driver JACK server.

The Quark is installed from the folder ``immersions-osc clients export DIR --host sc`` writes
(DIR/supercollider/Immersions), outside the checkout, so nothing in it may lean on the checkout
(tests/test_wheel.py checks the wheel carries every file of it)."""
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from fixtures import load_file
from immersions_osc.osc.controls import CONTROL_BY_ADDRESS, MESSAGES, control_table
from immersions_osc.osc.protocol import decode_packet, encode_message, encode_vector
from clients_harness import (QUARK, SCLANG, SCSYNTH, check_quark_compiles_and_help_renders, check_quark_selftest,
                             install_quark, quark_rows, run_quark_selftest, sclang)
from service_harness import HAVE_JACKD, REPO, JackServer, OSCClient, ServiceProcess, free_udp_port

TABLE = control_table()
BY_NAME = {c["name"]: c for c in TABLE["controls"]}
needs_sclang = pytest.mark.skipif(not SCLANG, reason="SuperCollider is not installed "
                                  "(apt-get install supercollider-language)")


def generator():
    return load_file("make_quark_controls", "immersions_osc", "clients", "supercollider", "make_quark_controls.py")


def curve(kind, lo, hi, x):
    """Where a fader at x (0..1) puts a control of span lo..hi (the curves of config.CURVES)."""
    return {"lin": lambda: lo + (hi - lo) * x, "log": lambda: lo * (hi / lo) ** x,
            "amp": lambda: lo + (hi - lo) * x * x,
            "curve": lambda: lo + (hi - lo) * (1 - math.exp(4 * x)) / (1 - math.exp(4))}[kind]()


# --- without SuperCollider --------------------------------------------------------------------------

def test_generated_controls_class_is_what_the_generator_writes():
    with open(generator().OUT, encoding="utf-8") as f:
        assert f.read() == generator().source(), \
            "ImmersionsControls.sc is out of date: python immersions_osc/clients/supercollider/make_quark_controls.py"


def test_shipped_table_is_the_service_table():
    """The class is generated from controls.json; controls.json must be the service's table itself."""
    with open(os.path.join(REPO, "immersions_osc", "osc", "controls.json"), encoding="utf-8") as f:
        assert json.load(f) == json.loads(json.dumps(TABLE))


sc_rows = quark_rows  # the rows read back from ImmersionsControls.sc (tests/clients_harness.py)


def test_quark_control_rows_are_the_table():
    """Name, label, address, type, range, curve, fader span, CC, default and button argument of every
    row, and the MIDI list, against the table."""
    warps = {"lin": "lin", "exp": "log", "amp": "amp", 4.0: "curve"}  # curve 4: ControlSpec's curve warp
    rows = sc_rows()
    assert [r["name"] for r in rows] == [c["name"] for c in TABLE["controls"]]
    for r in rows:
        c = BY_NAME[r["name"]]
        fader = c["fader"] or [None, None]
        got = (r["label"], r["address"], r["type"], r["lo"], r["hi"], r["off"], r["choices"],
               warps[r["warp"]] if r["warp"] else None, r["faderLo"], r["faderHi"], r["cc"], r["default"],
               r["argument"])
        want = (c["label"], c["address"], c["type"], c["lo"], c["hi"], c["off"], c["choices"], c["curve"],
                fader[0], fader[1], c["cc"], c["default"], c["value"])
        assert got == want, r["name"]
    with open(generator().OUT, encoding="utf-8") as f:
        midi = re.search(r"\*midi \{\s*\^#\[([^\]]*)\]", f.read()).group(1)
    assert re.findall(r"'(\w+)'", midi) == TABLE["midi"]


def test_quark_layout():
    """What Quarks.install and SCDoc look for: the .quark file's fields, a class per help page and
    a help page per class, examples; nothing else (no generator, no caches) inside the folder."""
    with open(os.path.join(QUARK, "Immersions.quark"), encoding="utf-8") as f:
        quark = f.read()
    for field, pattern in {"name": r'"Immersions"', "summary": r'"[^"]+"', "version": r'"\d+\.\d+\.\d+"',
                           "schelp": r'"Immersions"', "dependencies": r"\[\]"}.items():
        assert re.search(rf"^\s*{field}:\s*{pattern},?$", quark, re.M), field
    classes = set()
    for name in os.listdir(os.path.join(QUARK, "Classes")):
        with open(os.path.join(QUARK, "Classes", name), encoding="utf-8") as f:
            classes |= set(re.findall(r"^([A-Z]\w*)\s*(?::\s*\w+\s*)?\{", f.read(), re.M))
    helps = {n[:-len(".schelp")] for n in os.listdir(os.path.join(QUARK, "HelpSource", "Classes"))}
    assert classes == helps == {"Immersions", "ImmersionsControls", "ImmersionsControl"}
    assert os.path.exists(os.path.join(QUARK, "examples", "selftest.scd"))
    files = {os.path.relpath(os.path.join(d, f), QUARK) for d, _, fs in os.walk(QUARK) for f in fs}
    assert all(re.fullmatch(r"Immersions\.quark|LICENSE|Classes/\w+\.sc|HelpSource/Classes/\w+\.schelp|"
                            r"examples/\w+\.scd", f) for f in files), files
    # the licence it names travels with it: the project's own
    assert re.search(r'license:\s*"MIT"', quark)
    with open(os.path.join(QUARK, "LICENSE"), encoding="utf-8") as a, open(os.path.join(REPO, "LICENSE"),
                                                                          encoding="utf-8") as b:
        assert a.read() == b.read()
    # the version the class reports is the .quark's
    with open(os.path.join(QUARK, "Classes", "Immersions.sc"), encoding="utf-8") as f:
        assert re.search(r'classvar <version = "([^"]+)"', f.read()).group(1) == \
            re.search(r'version:\s*"([^"]+)"', quark).group(1)


def quark_addresses() -> dict[str, set[str]]:
    """{file: every /immersions/... address in it} over the Quark's classes and examples."""
    found = {}
    for d, _, files in os.walk(QUARK):
        for name in files:
            if name.endswith((".sc", ".scd")):
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    found[os.path.relpath(os.path.join(d, name), QUARK)] = set(re.findall(r"'(/immersions/[\w/]+)'", f.read()))
    return found


def test_every_address_in_the_quark_is_in_the_contract():
    """The addresses the classes send and listen to are the service's (controls.py's two tables)."""
    known = set(CONTROL_BY_ADDRESS) | {m.address for m in MESSAGES}
    found = quark_addresses()
    assert len(found["Classes/Immersions.sc"]) >= 15
    for name, addresses in found.items():
        assert addresses <= known, (name, addresses - known)


def pattern_matches(pattern: str, tags: str) -> bool:
    """A control's argument pattern ('s i [s]', 'i*', '-') against the type tags of a message."""
    pieces = []
    for word in ([] if pattern == "-" else pattern.split()):
        core = word.strip("[]")
        piece = core[0] + ("+" if core.endswith("*") else "")
        pieces.append(f"({piece})?" if word.startswith("[") else piece)
    return re.fullmatch("".join(pieces).replace("f", "[fi]"), tags) is not None


def test_pattern_matches():
    assert pattern_matches("s i [s]", "sis") and pattern_matches("s i [s]", "si")
    assert not pattern_matches("s i [s]", "sss") and not pattern_matches("s i [s]", "siss")
    assert pattern_matches("-", "") and not pattern_matches("-", "i")
    assert pattern_matches("f", "f") and pattern_matches("f", "i") and not pattern_matches("i", "f")


# --- sclang ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(HOME, the Quark's folder): written by ``immersions-osc clients export DIR --host sc`` and
    installed by ``Quarks.install(folder)`` in a fresh sclang, whose config keeps it for the next sclang."""
    if not SCLANG:
        pytest.skip("SuperCollider is not installed (apt-get install supercollider-language)")
    home = tmp_path_factory.mktemp("sc-home")
    dest = tmp_path_factory.mktemp("export")
    done = subprocess.run([sys.executable, "-m", "immersions_osc", "clients", "export", str(dest), "--host", "sc"],
                          cwd=str(dest), capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", "")))
    folder = dest / "supercollider" / "Immersions"
    assert done.returncode == 0, done.stdout + done.stderr
    # the command says where SuperCollider finds it, and it is the Quark, generator left behind
    assert f'Quarks.install("{folder}")' in done.stdout, done.stdout
    assert sorted(os.listdir(dest / "supercollider")) == ["Immersions"]
    install_quark(home, folder)
    return home, folder


def help_code() -> list[str]:
    """Every code:: block of the Quark's help pages."""
    blocks = []
    for name in sorted(os.listdir(os.path.join(QUARK, "HelpSource", "Classes"))):
        with open(os.path.join(QUARK, "HelpSource", "Classes", name), encoding="utf-8") as f:
            blocks += re.findall(r"^code::\n(.*?)^::", f.read(), re.S | re.M)
    return blocks


@needs_sclang
def test_the_help_examples_compile(installed, tmp_path):
    """Each code block of the help compiles in sclang with the Quark installed (it is not run: most
    need a service and a server)."""
    home, _ = installed
    blocks = help_code()
    assert len(blocks) >= 6
    files = []
    for k, block in enumerate(blocks):
        (tmp_path / f"block{k}.scd").write_text(block)
        files.append(str(tmp_path / f"block{k}.scd"))
    code, out = sclang("".join(f'"BLOCK % %".format({k}, thisProcess.interpreter.compile(File.readAllString("{f}"))'
                               f'.notNil).postln;\n' for k, f in enumerate(files)) + "0.exit;\n", home)
    assert code == 0, out[-3000:]
    assert re.findall(r"^BLOCK (\d+) (\w+)$", out, re.M) == [(str(k), "true") for k in range(len(blocks))], out[-3000:]


@needs_sclang
def test_quark_compiles_and_its_help_renders(installed):
    """A fresh sclang compiles the installed classes (from the installed folder, without errors or
    warnings about them); SCDoc renders each class's help to HTML, every public method documented."""
    check_quark_compiles_and_help_renders(*installed)


# The stand-in service: the Quark connected to a socket here, which reads what it sends and sends it
# activation frames.  The script posts what it got; /selftest/quit ends it.
STANDIN = r"""
var imm = Immersions("127.0.0.1", @PORT@, @LISTEN@, token: "s3cret");
imm.verbose = false;
imm.onActivations = { |values, frame|
    "FRAME % % %".format(frame, values.size, values.collect { |v| v.asStringPrec(9) }.join(" ")).postln;
};
OSCdef(\plan, { |msg|
    // msg: name, value (-1: a button/toggle press), then the controls the test wants sent
    msg[1..].clump(2).do { |pair|
        var sent = if(pair[0].asString.beginsWith("cc")) { imm.handleCC(pair[0].asString.drop(2).asInteger, pair[1]) } {
            if(pair[1] == -1) { imm.set(pair[0]) } { imm.set(pair[0], pair[1]) } };
        "SENT %".format(pair[0], sent).postln;
    };
    "PLANDONE".postln;
}, '/selftest/plan');
OSCdef(\learn, { |msg| imm.learn(msg[1]); "LEARNING %".format(msg[1]).postln }, '/selftest/learn');
OSCdef(\quit, { imm.free; "MAP %".format(imm.midiMap.asSortedArray.flatten.join(" ")).postln; 0.exit }, '/selftest/quit');
imm.connect(\all, midi: false);
SystemClock.sched(60, { "TIMEOUT".postln; 1.exit; nil });  // nil: not again
"""


class StandIn:
    """A UDP socket playing the service for one sclang."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = []

    def receive(self, until, timeout=30.0):
        """Messages until ``until(message)`` (a (address, tags, args) tuple) is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                break
            for m in decode_packet(data):
                self.received.append(m)
                if until(m):
                    return m
        raise TimeoutError(f"not received; got {[m[0] for m in self.received][-20:]}")

    def close(self):
        self.sock.close()


@needs_sclang
def test_quark_against_a_stand_in_service(installed, tmp_path):
    """What the class puts on the wire and what it makes of what comes back, exactly: auth then the
    subscription to its listen port; activation frames in uint8, float16 and float32 from shuffled
    chunks decoded to the values the service's own decoder gives, a frame that lost a chunk never
    delivered; every fader control by name and by its default CC with the table's range and curve and
    the OSC type the contract wants; toggles and buttons; learn mode; values out of range not sent;
    a listen port other than sclang's."""
    home, _ = installed
    rng = random.Random()
    standin = StandIn()
    listen = None
    proc = None
    try:
        # a listen port of its own (the live selftest listens on sclang's): the class opens it
        own_port = free_udp_port()
        script = STANDIN.replace("@PORT@", str(standin.port)).replace("@LISTEN@", str(own_port))
        path = home / "standin.scd"
        path.write_text(script)
        env = dict(os.environ, HOME=str(home), QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
        proc = subprocess.Popen(["nice", "-n", "10", SCLANG, str(path)], env=env, cwd=str(home),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = standin.receive(lambda m: m[0] in ("/immersions/auth", "/immersions/stream/subscribe"), 60)
        sub = standin.receive(lambda m: m[0] == "/immersions/stream/subscribe")
        assert first == ("/immersions/auth", "s", ["s3cret"])
        assert sub == ("/immersions/stream/subscribe", "sis", ["127.0.0.1", own_port, "all"]), sub
        listen = ("127.0.0.1", sub[2][1])
        send = lambda data: standin.sock.sendto(data, listen)  # noqa: E731

        # activation frames: three formats, chunks shuffled; frame 3 loses a chunk
        frames = {}
        for frame, fmt in ((1, "uint8"), (2, "float16"), (3, "float32"), (4, "float32")):
            values = np.random.default_rng(frame).standard_normal(1500).astype(np.float32) * 3
            chunks = encode_vector("/immersions/activations", frame, values, fmt, 512)
            assert len(chunks) > 2
            rng.shuffle(chunks)
            if frame == 3:
                chunks = chunks[1:]
            for c in chunks:
                send(c)
                time.sleep(0.002)
            frames[frame] = (values, fmt)

        # controls: every fader by name at a random value and by its CC at a random position; the
        # toggles and buttons by CC; values out of range
        plan, expected = [], []
        for c in TABLE["controls"]:
            if c["type"] == "f":
                lo, hi = c["lo"], c["hi"]
                v = rng.uniform(lo + (hi - lo) / 1000, hi - (hi - lo) / 1000)  # inside the range once float32
                plan.append((c["name"], v))
                expected.append((c["address"], "f", v))
        for name in TABLE["midi"]:
            c = BY_NAME[name]
            if c["type"] == "f":
                v = rng.randint(0, 127)
                plan.append((f"cc{c['cc']}", v))
                expected.append((c["address"], "f", curve(c["curve"], *c["fader"], v / 127)))
            elif c["type"] == "i":  # toggles: from the service's default (on when it has none), then back
                start = 1 if c["default"] is None else c["default"]
                plan += [(f"cc{c['cc']}", 127), (f"cc{c['cc']}", 0), (f"cc{c['cc']}", 127)]
                expected += [(c["address"], "i", 1 - start), (c["address"], "i", start)]
            else:  # buttons fire on a press only
                plan += [(f"cc{c['cc']}", 127), (f"cc{c['cc']}", 0)]
                expected.append((c["address"], "s" if c["value"] else "", c["value"]))
        plan += [("volume", 2.5), ("learning_rate", 0.0), ("candidates", 2.5)]  # refused: nothing sent
        plan += [("candidates", 7), ("play", -1), ("noise", -1)]  # an int; a toggle without a value is refused
        expected += [("/immersions/optimize/candidates", "i", 7), ("/immersions/optimize/start", "s", "noise")]
        args = [x for name, v in plan for x in (name, v)]
        send(encode_message("/selftest/plan", "".join("s" if isinstance(x, str) else "f" if isinstance(x, float)
                                                        else "i" for x in args), args))
        got = []
        deadline = time.monotonic() + 20
        while len(got) < len(expected) and time.monotonic() < deadline:
            m = standin.receive(lambda m: m[0] not in ("/immersions/stream/subscribe", "/immersions/auth",
                                                      "/immersions/layout/request"), 20)
            got.append(m)
        assert [(a, t) for a, t, _ in got] == [(a, t) for a, t, _ in expected], (got, expected)
        for (a, t, args_), (_, _, want) in zip(got, expected):
            if t == "f":
                assert args_[0] == pytest.approx(want, rel=1e-5, abs=1e-7), a
            elif t:
                assert args_[0] == want, a

        # learn mode: the next CC (a free one) takes over the learning rate; that move sends nothing
        used = {c["cc"] for c in TABLE["controls"] if c["cc"] is not None}
        cc = rng.choice([n for n in range(128) if n not in used])
        send(encode_message("/selftest/learn", "s", ["learning_rate"]))
        time.sleep(0.3)
        old = BY_NAME["learning_rate"]["cc"]
        send(encode_message("/selftest/plan", "sisisi", [f"cc{cc}", 64, f"cc{cc}", 32, f"cc{old}", 100]))
        m = standin.receive(lambda m: m[0] == "/immersions/optimize/learning_rate", 20)
        assert m[2][0] == pytest.approx(curve("log", *BY_NAME["learning_rate"]["fader"], 32 / 127), rel=1e-5)
        time.sleep(0.5)
        send(encode_message("/selftest/quit", "", []))
        out, _ = proc.communicate(timeout=30)
        late = standin.receive(lambda m: m[0] == "/immersions/stream/unsubscribe", 10)
        assert late[2] == ["127.0.0.1", listen[1]]
        # the old CC and the learning move sent nothing more
        assert not [m for m in standin.received if m[0] == "/immersions/optimize/learning_rate"][len(
            [e for e in expected if e[0] == "/immersions/optimize/learning_rate"]) + 1:]
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.communicate()
        standin.close()
    assert proc.returncode == 0, out[-3000:]
    # every message the class sent has the types the service's table wants
    for address, tags, _ in standin.received:
        assert pattern_matches(CONTROL_BY_ADDRESS[address].pattern, tags), (address, tags)
    assert re.search(rf"^MAP .*\blearning_rate {cc}\b", out, re.M), out[-3000:]
    assert not re.search(rf"^MAP .*\b\w+ {old}\b", out, re.M), out[-3000:]
    got_frames = {int(f): (int(n), np.array(v.split(), dtype=np.float64))
                  for f, n, v in re.findall(r"^FRAME (\d+) (\d+) (.*)$", out, re.M)}
    assert set(got_frames) == {1, 2, 4}, out[-3000:]  # frame 3 lost a chunk: never delivered
    for frame, (n, values) in got_frames.items():
        sent, fmt = frames[frame]
        reference = np.concatenate([_decoded(c) for c in encode_vector("/immersions/activations", frame, sent, fmt,
                                                                         512)])
        assert n == len(sent) == len(values)
        assert values == pytest.approx(reference.astype(np.float64), rel=1e-6, abs=1e-6), fmt


def _decoded(datagram: bytes) -> np.ndarray:
    from immersions_osc.osc.protocol import decode_values, parse_chunk

    (address, tags, args), = decode_packet(datagram)
    return decode_values(parse_chunk(tags, args))


@pytest.mark.slow
@pytest.mark.skipif(not (SCLANG and SCSYNTH), reason="SuperCollider is not installed "
                    "(apt-get install supercollider-language supercollider-server)")
@pytest.mark.skipif(not HAVE_JACKD, reason="jackd is not installed (apt-get install jackd2)")
def test_quark_selftest_against_the_service(installed, tmp_path):
    """The installed Quark's examples/selftest.scd against the real service, scsynth and the service
    on one dummy JACK server: status, energy and whole activation frames arrive, a control set by name
    is acknowledged and is the service's value, learn mode, the loop heard on loopBus and recorded
    into loopBuffer, auth with a token."""
    home, folder = installed
    jack = JackServer()
    service = ServiceProcess("--audio", "jack", "--loops-dir", str(tmp_path / "loops"), env=jack.env)
    try:
        osc = OSCClient(service.port)
        try:
            osc.wait_ready()
        finally:
            osc.close()
        code, out, volumes = run_quark_selftest(home, folder, service.port, jack.env)
        env = dict(jack.env, IMMERSIONS_PORT=str(service.port), IMMERSIONS_TOKEN="a-token")
        mixer_code, mixer_out = sclang(MIXER.replace("@EXAMPLE@", str(folder / "examples" / "mixer.scd")), home,
                                       env=env, timeout=120)
        osc = OSCClient(service.port)
        try:
            osc.send("/immersions/status/request")
            status = osc.wait_for("/immersions/status", timeout=5)[1]
            osc.send("/immersions/layout/request")  # the layer table comes back to the sender
            layers = [m[2][1] for m in osc.receive_until_quiet(1.0, 10) if m[0] == "/immersions/layout/layer"]
        finally:
            osc.close()
    finally:
        stopped = service.stop()
        jack.stop()
    check_quark_selftest(code, out, volumes, status)
    # the mixer example: sound at its output, its encoders and learn mode move the filter, its last
    # layer button made the deepest layer the service's target
    lines = "\n".join(line for line in mixer_out.splitlines() if line.startswith("EXAMPLE"))
    print(lines)
    checks = dict(re.findall(r"^EXAMPLE (\w+) (PASS|FAIL)", mixer_out, re.M))
    assert checks == {"output": "PASS", "filter": "PASS", "learn": "PASS", "layer": "PASS"}, \
        lines + "\n" + mixer_out[-4000:]
    assert mixer_code == 0, mixer_out[-4000:]
    deepest = re.search(r"^EXAMPLE layer PASS target=(\S+)", mixer_out, re.M).group(1)
    assert layers and deepest == layers[-1], (deepest, layers)
    assert status[3].split()[0] == deepest, status
    assert stopped == 0, service.output[-3000:]


# Runs examples/mixer.scd as a user would (executing the file), then drives it through the hook it
# calls when its synths run; exits 0 when it could check everything.
MIXER = r"""
~immersionsOnReady = { |imm, mixer|
    Routine {
        var level = 0, meter, f, t0 = Main.elapsedTime, acks, name, report = { |n, ok, details|
            "EXAMPLE % % %".format(n, if(ok) { "PASS" } { "FAIL" }, details).postln };
        imm.verbose = false;
        f = OSCFunc({ |m| level = max(level, m[3]) }, '/example/level', s.addr);
        meter = { SendReply.kr(Impulse.kr(10), '/example/level', Amplitude.kr(In.ar(0, 2).sum, 0.01, 0.3)); Silent.ar }
            .play(s, addAction: \addToTail);
        while { (level < 1e-3 or: { imm.layerNames.isEmpty }) and: { Main.elapsedTime - t0 < 20 } } { 0.2.wait };
        report.("output", level > 1e-3, "peak=%".format(level));
        imm.handleCC(6, 0);   // encoder 6: the filter, to its bottom
        report.("filter", ~mixerState[\cutoff].equalWithPrecision(60), "cutoff=%".format(~mixerState[\cutoff]));
        imm.learn(\filter);
        imm.handleCC(20, 64);
        imm.handleCC(20, 127);
        report.("learn", ~mixerState[\cutoff].equalWithPrecision(18000) and: { imm.ccFor(\filter) == 20 }
            and: { imm.handleCC(6, 0).isNil and: { ~mixerState[\cutoff].equalWithPrecision(18000) } },
            "cutoff=% cc=%".format(~mixerState[\cutoff], imm.ccFor(\filter)));
        acks = imm.acks['/immersions/target/layer'] ? 0;
        name = imm.layerForSlot(7);
        imm.handleCC(80, 127);   // the last layer button
        t0 = Main.elapsedTime;
        while { (imm.acks['/immersions/target/layer'] ? 0) <= acks and: { Main.elapsedTime - t0 < 5 } } { 0.1.wait };
        report.("layer", name.notNil and: { (imm.acks['/immersions/target/layer'] ? 0) > acks }, "target=%".format(name));
        meter.free; f.free;
        imm.free; ~mixerFree.();
        1.wait; s.quit; 1.wait;
        0.exit;
    }.play(SystemClock);
};
SystemClock.sched(90, { "EXAMPLE timeout FAIL".postln; 2.exit; nil });  // nil: not again
thisProcess.interpreter.executeFile("@EXAMPLE@");
"""
