"""TouchDesigner decoding: the service's real datagrams (captured from a running service) through the
shared decoder (immersions_osc/osc/decoder.py) and through the TouchDesigner client's callbacks, outside TD."""
import os
import random
import socket
import time

import numpy as np
import pytest

from immersions_osc.osc.decoder import (ActivationReceiver, brightness, layer_colors, load_layout_npz,
                                            normalized_positions)
from immersions_osc.osc.protocol import FrameAssembler, decode_packet, decode_values, encode_vector, parse_chunk

from service_harness import REPO, OSCClient, ServiceProcess, free_udp_port
from td_fakes import (LAYOUT, FakeComp, FakeDat, FakePar, FakeScriptCHOP, FakeScriptCHOP2021,
                      load_td)

ACT = "/immersions/activations"


def record(osc: OSCClient, seconds: float) -> list[bytes]:
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        osc.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            out.append(osc.sock.recvfrom(65536)[0])
        except socket.timeout:
            break
    return out


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    """Raw datagrams: {'uint8': [...], 'float16': [...]} (activations at ~30 fps, the summary, the layout)."""
    service = ServiceProcess("--audio", "none", "--loops-dir", str(tmp_path_factory.mktemp("loops")))
    osc = OSCClient(service.port)
    out = {}
    try:
        osc.wait_ready()
        osc.send("/immersions/stream/max_datagram", "i", 2048)  # several chunks per frame
        osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/stream/max_datagram"])
        osc.subscribe("all")
        osc.send("/immersions/layout/request")
        out["uint8"] = record(osc, 2.5)
        osc.send("/immersions/stream/format", "s", "float16")
        osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/stream/format"])
        out["float16"] = record(osc, 2.0)
    finally:
        osc.close()
        service.stop()
    return out


def frames_of(datagrams):
    """{frame: [datagram, ...]} of the activation chunks, in arrival order; and the frame order."""
    frames, order = {}, []
    for d in datagrams:
        (address, tags, args), = decode_packet(d)
        if address == ACT:
            f = args[0]
            if f not in frames:
                frames[f] = []
                order.append(f)
            frames[f].append(d)
    return frames, order


def reference(chunks):
    """A frame's values straight from its chunks, independently of FrameAssembler: each chunk's
    decoded values placed at its offset."""
    parsed = [parse_chunk(*decode_packet(d)[0][1:]) for d in chunks]
    values = np.full(parsed[0].total, np.nan, np.float32)
    for c in parsed:
        v = decode_values(c)
        values[c.offset:c.offset + len(v)] = v
    return values


def complete_frames(datagrams, min_frames=6):
    frames, order = frames_of(datagrams)
    done = [f for f in order if len(frames[f]) == parse_chunk(*decode_packet(frames[f][0])[0][1:]).count]
    assert len(done) >= min_frames, f"only {len(done)} complete frames captured"
    return frames, done


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["uint8", "float16"])
def test_decoder_gives_back_the_exact_vectors(captured, fmt):
    datagrams = captured[fmt]
    frames, done = complete_frames(datagrams)
    n = len(load_layout_npz(LAYOUT)[0])
    assert all(len(frames[f]) > 1 for f in done)  # really chunked
    receiver, got = ActivationReceiver(), {}
    for d in datagrams:
        if receiver.feed_datagram(d):
            got[receiver.frame] = receiver.values.copy()
    assert receiver.malformed == 0
    for f in done:
        ref = reference(frames[f])
        assert ref.shape == (n,) and np.isfinite(ref).all()
        assert np.array_equal(got[f], ref)
        assembler = FrameAssembler()
        results = [assembler.add(parse_chunk(*decode_packet(d)[0][1:])) for d in frames[f]]
        assert np.array_equal(results[-1][1], ref)


@pytest.mark.slow
def test_decoded_vectors_match_the_services_own_summary(captured):
    """The energy and top-neuron messages that follow each frame were computed by the service from
    the unquantized vector: the decoded vector agrees within the uint8 step."""
    receiver, checked = ActivationReceiver(), 0
    current, scale, latest, receiver_top, n_layer = None, None, None, None, None
    positions, layer_of, names = load_layout_npz(LAYOUT)
    for d in captured["uint8"]:
        (address, tags, args), = decode_packet(d)
        if address == ACT:
            latest, scale = args[0], args[6]
        if receiver.feed_datagram(d):
            current = receiver.values.copy()
        if current is None or receiver.frame != latest:  # this summary belongs to a frame we lost
            continue
        if address == "/immersions/summary/energy":
            n_layer = len(args)
            means = np.array([current[layer_of == k].mean() for k in range(len(names))])
            assert np.allclose(means, args, atol=scale * 0.51 + 1e-6)
            checked += 1
        elif address == "/immersions/summary/top_values":
            top = receiver_top
            assert np.allclose(current[top], args, atol=scale * 0.51 + 1e-6)
        if address == "/immersions/summary/top_neurons":
            receiver_top = np.array(args)
    assert n_layer == len(names)
    assert checked >= 5


@pytest.mark.slow
def test_shuffled_chunks_and_a_lost_chunk(captured):
    frames, done = complete_frames(captured["uint8"])
    rng = random.Random(7)
    a, b, c = done[1], done[2], done[3]
    # out of order: every frame's chunks shuffled, and the first chunk of the next frame arriving
    # before the last chunk of this one
    stream = []
    for f in (a, b, c):
        chunks = frames[f][:]
        rng.shuffle(chunks)
        stream.append(chunks)
    stream[0].insert(len(stream[0]) - 1, stream[1].pop(0))
    receiver, got = ActivationReceiver(), {}
    for d in [d for chunks in stream for d in chunks]:
        if receiver.feed_datagram(d):
            got[receiver.frame] = receiver.values.copy()
    assert sorted(got) == [a, b, c]
    assert all(np.array_equal(got[f], reference(frames[f])) for f in (a, b, c))
    # a lost chunk: frame b never appears (not even partly), frame c is intact
    lost = frames[b][:]
    del lost[rng.randrange(len(lost))]
    receiver, got = ActivationReceiver(), {}
    for d in frames[a] + lost + frames[c]:
        if receiver.feed_datagram(d):
            got[receiver.frame] = receiver.values.copy()
    assert sorted(got) == [a, c]
    assert np.array_equal(got[c], reference(frames[c]))
    assert receiver.dropped_frames == 1
    # late chunks of an old frame after a newer one completed change nothing
    for d in frames[b]:
        assert not receiver.feed_datagram(d)
    assert receiver.frame == c and np.array_equal(receiver.values, reference(frames[c]))


@pytest.mark.slow
def test_streamed_layout_matches_the_shipped_file(captured):
    receiver = ActivationReceiver()
    for d in captured["uint8"]:
        receiver.feed_datagram(d)
    positions, layer_of, names = load_layout_npz(LAYOUT)
    assert receiver.positions is not None and np.array_equal(receiver.positions, positions)
    assert [receiver.layers[i].name for i in sorted(receiver.layers)] == names
    assert np.array_equal(receiver.layer_of_neuron(len(positions)), layer_of)


def test_garbage_is_counted_not_raised():
    receiver = ActivationReceiver()
    assert not receiver.feed_datagram(b"\x00\x01\x02")
    assert not receiver.feed_datagram(b"/immersions/activations\0,iiiiisffb\0\0\0")  # truncated
    assert not receiver.feed_message("/immersions/activations", [1, 0, 1, 0, 4, "int7", 1.0, 0.0, b"\0\0\0\0"])  # no such format
    assert receiver.malformed == 3 and receiver.values is None


# --- the TouchDesigner callbacks, with stand-ins for TouchDesigner's operators ---------------------------------------

@pytest.mark.slow
def test_td_callbacks_on_real_datagrams(captured):
    osc_in, chop = load_td("osc_in_callbacks"), load_td("script_chop_callbacks")
    frames, done = complete_frames(captured["uint8"])
    comp = FakeComp(gain=random.Random(3).uniform(0.5, 3.0))
    dat = FakeDat(comp)
    for d in captured["uint8"]:
        (address, tags, args), = decode_packet(d)
        osc_in.onReceiveOSC(dat, 0, "", d, 0.0, address, args, None)
    receiver = comp.fetch("immersions")
    assert comp.cooks >= len(done)  # the Script CHOP is asked to cook once per completed frame
    last = done[-1]
    assert receiver.frame == last and np.array_equal(receiver.values, reference(frames[last]))
    script = FakeScriptCHOP2021(comp)
    chop.onCook(script)
    n = len(receiver.values)
    assert script.copies == 1  # one numpy copy, no lists
    assert script.numSamples == n and list(script.channels) == ["tx", "ty", "r", "g", "b", "activation"]
    positions, layer_of, names = load_layout_npz(LAYOUT)
    xy = normalized_positions(positions)
    assert np.allclose(script.channels["tx"].vals, xy[:, 0])
    assert np.allclose(script.channels["ty"].vals, xy[:, 1])
    # the Gain parameter reaches the brightness (left at 0, the picture would be black)
    light = brightness(receiver.values, comp.par.Gain.eval())
    assert np.allclose(script.channels["activation"].vals, light)
    assert light.max() > 0
    colours = layer_colors(len(names))[layer_of] * light[:, None]
    for k, c in enumerate("rgb"):
        assert np.allclose(script.channels[c].vals, colours[:, k])
    # the next frame reuses the prepared layout (positions not recomputed) and gives the new values
    prepared = chop._layouts[script.path]
    receiver.values = receiver.values[::-1].copy()
    chop.onCook(script)
    assert chop._layouts[script.path] is prepared
    assert np.allclose(script.channels["activation"].vals, brightness(receiver.values, comp.par.Gain.eval()))
    assert np.allclose(script.channels["tx"].vals, xy[:, 0])
    # a new streamed layout (another object) is prepared afresh
    receiver.positions = positions[::-1].copy()
    chop.onCook(script)
    assert chop._layouts[script.path] is not prepared
    assert np.allclose(script.channels["tx"].vals, normalized_positions(receiver.positions)[:, 0])
    # without raw bytes (older TD builds): the parsed address + arguments decode the same
    comp2 = FakeComp()
    for d in captured["uint8"]:
        (address, tags, args), = decode_packet(d)
        osc_in.onReceiveOSC(FakeDat(comp2), 0, "", b"", 0.0, address, args, None)
    assert np.array_equal(comp2.fetch("immersions").values, receiver.values[::-1])


def build_in_fake_td(monkeypatch, path="/project1/visuals", **kwargs):
    """build_network.build() against td_fakes' stand-in for TouchDesigner: (the root, the built COMP,
    the builder module)."""
    import sys

    from td_fakes import TDOp, fake_td_module

    root = TDOp("root", "")
    root.create("baseCOMP", "project1")
    monkeypatch.setitem(sys.modules, "td", fake_td_module(root))  # build_network takes op, baseCOMP, ... from it
    builder = load_td("build_network")
    return root, builder.build(path, **kwargs), builder


def test_td_builds_into_the_named_component_with_custom_parameters(monkeypatch, capsys):
    """The network is built into the COMP the user names, its settings (host, ports, colour) are custom
    parameters the nodes read live, the glow's uniform uses the GLSL TOP's documented parameter names
    (vec0name / vec0valuex), and the subscription goes out at once to the parameters' port."""
    from immersions_osc.shipped import shipped_file

    root, comp, builder = build_in_fake_td(monkeypatch, service_host="10.0.0.2", service_port=47300,
                                           host="10.0.0.7", listen_port=47321, colour=(1.0, 0.5, 0.25))
    out = capsys.readouterr().out
    assert comp.path == "/project1/visuals" and root.op("project1/visuals") is comp
    assert "has no parameter" not in out and "no vector uniform" not in out, out
    par = comp.par
    assert (par.Servicehost.eval(), par.Serviceport.eval(), par.Host.eval(), par.Listenport.eval()) == \
        ("10.0.0.2", 47300, "10.0.0.7", 47321)
    assert (par.Colourr.eval(), par.Colourg.eval(), par.Colourb.eval()) == (1.0, 0.5, 0.25)
    assert par.Gain.eval() == 1.0 and par.Layoutfile.eval() == shipped_file("small_layout.npz", "checkpoints")
    # the nodes follow the parameters (expressions), so changing them later takes effect
    assert comp.op("osc_in").par.port.eval() == 47321
    assert (comp.op("osc_out").par.address.eval(), comp.op("osc_out").par.port.eval()) == ("10.0.0.2", 47300)
    material = comp.op("dot_colour")
    assert [material.par.colorr.eval(), material.par.colorg.eval(), material.par.colorb.eval()] == [1.0, 0.5, 0.25]
    par.Colourg.val = 0.9
    assert material.par.colorg.eval() == 0.9
    glow = comp.op("glow")
    assert (glow.par.vec0name.val, glow.par.vec0valuex.val) == ("uGlow", 1.5)
    assert "uniform float uGlow;" in comp.op("glow_shader").text
    assert glow.inputConnectors[0].connected is comp.op("render")
    assert comp.op("osc_out").sent[0] == ("/immersions/stream/subscribe", ["10.0.0.7", 47321, "all"])
    # built again at the same path: replaced, not doubled
    again = builder.build("/project1/visuals")
    assert root.op("project1/visuals") is again and again is not comp and len(root.op("project1").children) == 1


def test_td_glow_on_an_older_build_uses_its_parameter_names(monkeypatch, capsys):
    """TouchDesigner builds before the sequential parameters name the same fields uniname0 / value0x."""
    import td_fakes

    monkeypatch.setitem(td_fakes.OP_PARS, "glslTOP", ("pixeldat", "uniname0", "value0x"))
    _, comp, _ = build_in_fake_td(monkeypatch)
    assert (comp.op("glow").par.uniname0.val, comp.op("glow").par.value0x.val) == ("uGlow", 1.5)
    assert "has no parameter" not in capsys.readouterr().out


def test_td_dats_import_the_installed_package_without_path_lines(monkeypatch, tmp_path):
    """The DATs hold no sys.path lines: their Python imports the package by name, so it runs wherever
    TouchDesigner's Python finds immersions_osc (here a fresh Python given only the package's folder,
    as TouchDesigner's Python 64-bit Module Path would; tests/test_wheel.py installs the wheel itself)."""
    import subprocess
    import sys

    _, comp, _ = build_in_fake_td(monkeypatch)
    texts = {name: comp.op(name).text for name in ("osc_in_callbacks", "chop_callbacks", "renew", "subscribe")}
    for name, text in texts.items():
        assert "sys.path" not in text, name
    assert "onFrameStart" in texts["renew"] and "onCook" in texts["chop_callbacks"]
    assert "onReceiveOSC" in texts["osc_in_callbacks"]
    assert "from immersions_osc.clients.touchdesigner import session" in texts["renew"]
    env = dict({k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, PYTHONPATH=REPO)
    for name in ("osc_in_callbacks", "chop_callbacks", "renew"):  # 'subscribe' runs parent() at once: TD only
        path = tmp_path / f"{name}.py"
        path.write_text(texts[name] + "\nimport immersions_osc\nprint('imported', immersions_osc.__file__)\n")
        done = subprocess.run([sys.executable, str(path)], cwd=str(tmp_path), env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and "imported" in done.stdout, (name, done.stderr[-2000:])


def test_td_cook_without_copy_numpy_array():
    """Older TouchDesigner builds without copyNumpyArray: channel by channel, same values."""
    chop = load_td("script_chop_callbacks")
    comp = FakeComp(gain=2.0)
    positions, layer_of, names = load_layout_npz(LAYOUT)
    receiver = ActivationReceiver()
    receiver.values = np.random.default_rng(0).gamma(0.5, 1.0, len(positions)).astype(np.float32)
    comp.store("immersions", receiver)
    script = FakeScriptCHOP(comp, path="/old")
    assert not hasattr(script, "copyNumpyArray")
    chop.onCook(script)
    assert np.allclose(script.channels["activation"].vals, brightness(receiver.values, 2.0))
    assert np.allclose(script.channels["ty"].vals, normalized_positions(positions)[:, 1])


# --- the TouchDesigner session.py: renewal and re-subscription --------------------------------------------------------

def test_session_renews_and_rerequests_the_layout():
    session = load_td("session")
    s = session.Session(renew=5.0, layout_retry=5.0, gap=3.0)
    receiver = ActivationReceiver()
    assert s.due(100.0, receiver) == ["subscribe", "layout"]
    assert s.due(101.0, receiver) == []
    assert s.due(105.0, receiver) == ["subscribe", "layout"]  # no layout yet: asked again
    receiver.positions = np.zeros((4, 2), np.float32)
    receiver.status = {"seconds_up": 30.0}
    assert s.due(106.0, receiver) == []
    receiver.status = {"seconds_up": 31.0}
    assert s.due(107.0, receiver) == []
    assert s.due(110.0, receiver) == ["subscribe"]  # renewal only: the layout is there
    # the service restarted quickly (uptime went down): the layout is requested again at once
    receiver.status = {"seconds_up": 2.0}
    assert s.due(111.0, receiver) == ["layout"] and s.restarts == 1
    assert receiver.positions is None and receiver.missing_position_chunks() == []
    assert s.due(115.0, receiver) == ["subscribe"]  # layout asked 4 s ago: not yet again
    assert s.due(116.5, receiver) == ["layout"]
    receiver.positions = np.zeros((4, 2), np.float32)
    # the status stops (service away) and comes back later, even older than before: a comeback
    receiver.status = {"seconds_up": 40.0}
    assert s.due(130.0, receiver) == ["subscribe", "layout"] and s.restarts == 2
    assert s.due(131.0, receiver) == []  # the same status object again: nothing new


def test_td_sends_the_token_before_subscribing():
    session = load_td("session")
    comp = FakeComp(listen_port=57140)
    session.perform(comp, ["subscribe"])
    assert comp.sent == [("/immersions/stream/subscribe", ["127.0.0.1", 57140, "all"])]
    comp.par.Token = FakePar("s3cret")
    comp.sent.clear()
    session.perform(comp, ["subscribe"])
    assert comp.sent == [("/immersions/auth", ["s3cret"]), ("/immersions/stream/subscribe", ["127.0.0.1", 57140, "all"])]


def test_td_fetches_the_layout_over_http_when_it_knows_the_viewer_port():
    """Viewer Port set: the layout comes from the service's /layout.npz (in a background thread, the
    token in the URL), not as OSC datagrams; a port that does not answer falls back to OSC."""
    import http.server
    import threading
    from urllib.parse import parse_qs, urlsplit

    session = load_td("session")
    with open(LAYOUT, "rb") as f:
        npz = f.read()
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            url = urlsplit(self.path)
            if url.path != "/layout.npz" or parse_qs(url.query).get("token") != ["s3cret"]:
                self.send_error(404 if url.path != "/layout.npz" else 401)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(npz)))
            self.end_headers()
            self.wfile.write(npz)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        comp = FakeComp(listen_port=57140)
        comp.par.Viewerport = FakePar(server.server_address[1])
        comp.par.Token = FakePar("s3cret")
        receiver = ActivationReceiver()
        comp.store("immersions", receiver)
        session.tick(comp, now=0.0)
        deadline = time.monotonic() + 10
        while receiver.positions is None and time.monotonic() < deadline:
            time.sleep(0.01)
            session.tick(comp, now=1.0)
        positions, layer_of, _ = load_layout_npz(LAYOUT)
        assert np.array_equal(receiver.positions, positions)
        assert np.array_equal(receiver.layer_of_neuron(len(positions)), layer_of)
        assert asked == ["/layout.npz?token=s3cret"]
        assert not [a for a, _ in comp.sent if a == "/immersions/layout/request"]  # no OSC burst
        # a viewer port that does not answer: OSC after all
        comp2 = FakeComp()
        comp2.par.Viewerport = FakePar(free_udp_port())
        comp2.store("immersions", ActivationReceiver())
        session.tick(comp2, now=0.0)
        deadline = time.monotonic() + 10
        while not comp2.fetch("immersions_session").http_failed and time.monotonic() < deadline:
            time.sleep(0.01)
            session.tick(comp2, now=1.0)
        session.tick(comp2, now=6.0)
        assert ("/immersions/layout/request", []) in comp2.sent
    finally:
        server.shutdown()


def test_td_asks_only_for_the_missing_layout_chunks():
    """Part of the layout lost: the renewal asks for exactly the chunks still missing (the service
    resends those, with the positions' frame number), and the layout completes."""
    session = load_td("session")
    positions = load_layout_npz(LAYOUT)[0]
    chunks = encode_vector("/immersions/layout/positions", 7, positions.reshape(-1), "float32", 8192)
    assert len(chunks) > 4
    rng = random.Random(11)
    lost = sorted(rng.sample(range(len(chunks)), 3))
    receiver = ActivationReceiver()
    comp = FakeComp()
    comp.store("immersions", receiver)
    assert receiver.missing_position_chunks() == []  # nothing yet: the whole layout is asked for
    session.perform(comp, ["layout"])
    assert comp.sent[-1] == ("/immersions/layout/request", [])
    for k, d in enumerate(chunks):
        if k not in lost:
            receiver.feed_datagram(d)
    assert receiver.positions is None and receiver.missing_position_chunks() == lost
    session.perform(comp, ["layout"])
    assert comp.sent[-1] == ("/immersions/layout/request", lost)
    for k in lost:
        receiver.feed_datagram(chunks[k])
    assert np.array_equal(receiver.positions, positions) and receiver.missing_position_chunks() == []


@pytest.mark.slow
def test_td_network_resubscribes_after_a_service_restart(tmp_path):
    """The TouchDesigner callbacks (osc_in + the renew tick) against a real service that is stopped
    and started again on the same port: frames come back without anyone re-running anything."""
    osc_in, session = load_td("osc_in_callbacks"), load_td("session")
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.bind(("127.0.0.1", 0))
    listen.settimeout(0.05)
    # a big receive buffer, as TouchDesigner's OSC In DAT reads in its own thread: this test is
    # about re-subscribing, not about the layout's burst of datagrams (tests/test_service_*)
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    comp = FakeComp(listen_port=listen.getsockname()[1])
    s = session.Session(renew=1.0, layout_retry=1.0)  # shorter than the 5 s default: a quicker test
    comp.store("immersions_session", s)
    dat = FakeDat(comp)

    def run(seconds, until):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            session.tick(comp)
            try:
                data = listen.recvfrom(65536)[0]
            except socket.timeout:
                continue
            osc_in.onReceiveOSC(dat, 0, "", data, 0.0, "", [], None)  # the raw bytes are what it decodes
            if until():
                return True
        return False

    service = ServiceProcess("--audio", "none", "--loops-dir", str(tmp_path / "a"))
    port = service.port
    comp.service_port = port
    try:
        def ready():
            r = comp.fetch("immersions")
            return r is not None and r.values is not None and r.positions is not None and bool(r.status)
        assert run(120, ready), service.output
        receiver = comp.fetch("immersions")
        before = receiver.new_frames
        assert service.stop() == 0
        service = ServiceProcess("--audio", "none", "--loops-dir", str(tmp_path / "b"), port=port)
        receiver.take_new_frames()
        # frames again, the restart noticed (uptime went down) and the new service's layout received
        assert run(120, lambda: receiver.new_frames >= 5 and s.restarts == 1 and receiver.positions is not None), \
            (receiver.new_frames, s.restarts, receiver.positions is None, receiver.status, service.output[-2000:])
        assert before > 0
    finally:
        listen.close()
        service.stop()
