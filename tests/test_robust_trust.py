"""Issue 29: trust on stage and on a network.  DNS rebinding against a wildcard bind, descriptor
exhaustion at the viewer's accept loop, a frozen or killed audio child, and datagrams that must be
refused (or cut short) before they are decoded."""
import socket
import time
import urllib.request

import pytest

from service_harness import running_viewer, wait_until

P = "/immersions"


@pytest.fixture(scope="module")
def web():
    yield from running_viewer(subscription_seconds=5.0)


def _get(port: int, host_header: str, path: str = "/controls.json", peer: str = "127.0.0.1") -> bytes:
    with socket.create_connection((peer, port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\n\r\n".encode())
        return sock.recv(1024).split(b"\r\n")[0]


# --- 1. DNS rebinding, whatever the bind address -----------------------------------------------------

@pytest.mark.parametrize("bind", ["0.0.0.0", "127.0.0.1"])
def test_dns_rebinding_is_refused_for_every_bind_address(web, bind):
    """``--host 0.0.0.0 --allow-remote``: a page of evil.example that re-resolves to 127.0.0.1 comes from a
    loopback peer (no token needed) but sends its own Host: 403, as on the default bind."""
    from immersions_osc.web.server import WebServer

    server = WebServer(web.service, bind, 0, log=lambda line: None)
    server.token = "k" * 24  # as --allow-remote makes it
    server.start()
    try:
        port = server.port
        assert b" 403 " in _get(port, f"evil.example:{port}")
        assert b" 403 " in _get(port, "evil.example")
        assert b" 403 " in _get(port, f"evil.example:{port}", path="/ws")
        assert b" 403 " in _get(port, "[::1")  # a malformed Host names nothing
        assert b" 200 " in _get(port, f"127.0.0.1:{port}")
        assert b" 200 " in _get(port, f"localhost:{port}")
        assert b" 200 " in _get(port, f"192.0.2.1:{port}")  # an address: opened by address, not by a domain
        assert b" 200 " in _get(port, f"{socket.gethostname()}:{port}")  # this machine's own name
        # a remote user's own DNS name for this host: only with the token
        assert b" 200 " in _get(port, f"studio.example:{port}", path="/controls.json?token=" + "k" * 24)
        assert b" 403 " in _get(port, f"studio.example:{port}", path="/controls.json?token=" + "x" * 24)
    finally:
        server.close()


# --- 2. descriptor exhaustion at the viewer ----------------------------------------------------------

_LOW_FD_VIEWER = r"""
import os, resource, sys
from types import SimpleNamespace
from immersions_osc.web.server import WebServer

def errors(line):
    print("ERR", line, flush=True)
def add_sink(*args):
    raise RuntimeError("no stream in this test")
service = SimpleNamespace(errors=errors, log=lambda line: None, add_sink=add_sink, remove_sink=lambda key: None,
                          access=None)
web = WebServer(service, "127.0.0.1", 0).start()
web.warmed.wait(30)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 40, hard))
print("PORT", web.port, flush=True)
sys.stdin.readline()
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
web.close()
print("CLOSED", flush=True)
"""


def test_the_viewer_survives_descriptor_exhaustion_and_accepts_again():
    """``prlimit --nofile`` low, a flood of idle connections: the accept loop hits EMFILE, says so in
    one line, backs off and, once the flood ends, answers again (within 10 s), without a traceback."""
    import os
    import subprocess
    import sys
    import threading

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen([sys.executable, "-c", _LOW_FD_VIEWER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONPATH=repo))
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(child.stdout.readline, "")), daemon=True)
    reader.start()
    flood: list[socket.socket] = []
    try:
        assert wait_until(lambda: any(line.startswith("PORT") for line in out), timeout=120), out
        port = int(next(line for line in out if line.startswith("PORT")).split()[1])
        for _ in range(100):  # idle: connected, never a byte
            flood.append(socket.create_connection(("127.0.0.1", port), timeout=30))
        assert wait_until(lambda: any("cannot accept" in line for line in out), timeout=30), out
        for sock in flood:
            sock.close()
        flood.clear()
        ended = time.monotonic()
        status = b""
        while time.monotonic() - ended < 10 and b" 404 " not in status:
            try:
                status = _get(port, f"127.0.0.1:{port}", path="/nothing-here", peer="127.0.0.1")
            except OSError:
                time.sleep(0.2)
        assert b" 404 " in status, f"the viewer does not accept again within 10 s: {out}"
        child.stdin.write("\n")
        child.stdin.flush()
        assert wait_until(lambda: any("CLOSED" in line for line in out), timeout=30), out
        text = "".join(out)
        assert "Traceback" not in text, text
        assert sum("cannot accept" in line for line in out) <= 3, out  # one line per flood, not one per try
    finally:
        for sock in flood:
            sock.close()
        child.kill()
        child.wait(30)


def test_idle_connections_from_one_address_are_capped(web):
    from immersions_osc.web.server import MAX_PER_PEER

    before = web.over_peer_limit
    flood = [socket.create_connection(("127.0.0.1", web.port), timeout=30) for _ in range(MAX_PER_PEER + 16)]
    try:
        assert wait_until(lambda: web.over_peer_limit >= before + 16, timeout=30)
        assert web._per_peer.get("127.0.0.1", 0) <= MAX_PER_PEER
    finally:
        for sock in flood:
            sock.close()
    assert wait_until(lambda: web._per_peer.get("127.0.0.1", 0) == 0, timeout=30)
    assert b" 200 " in _get(web.port, f"127.0.0.1:{web.port}")


# --- 3. a frozen or killed audio process -------------------------------------------------------------

def _audio_process(lines):
    from types import SimpleNamespace

    from immersions_osc.audio.process import AUDIO_SETTINGS, AudioProcess, RemotePlayer

    settings = dict.fromkeys(AUDIO_SETTINGS, None)
    settings.update(audio="none", jack_client="trust", start_jack=False, output_device=None, input_device=None,
                    block_size=512, latency="low", audio_priority=0, loops_dir="")
    player = RemotePlayer(48000, input_seconds=1.0)
    audio = AudioProcess(player, SimpleNamespace(**settings), log=lines.append, warn=lines.append, timeout=120)
    return player, audio


def _bounded(call, timeout: float) -> bool:
    """Run ``call`` in a thread; True when it returned within ``timeout`` seconds."""
    import threading

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive()


def test_a_frozen_audio_process_blocks_neither_loops_nor_controls_nor_close():
    """SIGSTOP the audio process, then publish loops far bigger than the pipe's buffer (~700 KB each)
    and set the volume: every call returns at once; the stall is logged; close is bounded."""
    import os
    import signal

    import numpy as np

    lines: list[str] = []
    player, audio = _audio_process(lines)
    pid = audio.proc.pid
    try:
        os.kill(pid, signal.SIGSTOP)
        stopped = time.monotonic()
        assert wait_until(lambda: audio.health == "stalled", timeout=30), lines
        print(f"stall logged after {time.monotonic() - stopped:.2f} s")
        loop = np.zeros(180_000, np.float32)  # 720 KB
        assert _bounded(lambda: [player.queue(loop, v) for v in range(5)], 10), "a loop publish blocks"
        assert _bounded(lambda: [setattr(player, "volume", v / 10) for v in range(7)], 10), "a control blocks"
        assert any("stalled" in line for line in lines), lines
        began = time.monotonic()
        assert _bounded(audio.close, 20), "close hangs on the frozen audio process"
        print(f"close took {time.monotonic() - began:.2f} s")
        assert time.monotonic() - began < 10
        assert not audio.proc.is_alive()
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_killed_audio_process_is_logged_and_reported():
    import os
    import signal

    lines: list[str] = []
    player, audio = _audio_process(lines)
    try:
        os.kill(audio.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        assert wait_until(lambda: any("audio process died" in line for line in lines), timeout=30), lines
        print(f"death logged after {time.monotonic() - killed:.2f} s")
        assert audio.health == "dead"
        assert audio.proc.exitcode == -signal.SIGKILL  # reaped: no zombie
        assert _bounded(lambda: setattr(player, "volume", 0.3), 5)
        assert _bounded(audio.close, 20)
    finally:
        if audio.proc.is_alive():
            audio.proc.kill()


# --- 4. refused before decoding; megabyte addresses ----------------------------------------------------

def _dispatcher(allowed=lambda host: True):
    import threading

    from immersions_osc.service.dispatch import Dispatcher

    lines, replies = [], []
    d = Dispatcher(handler=lambda control: (lambda *values, sender: None), allowed=allowed,
                   reply=lambda send, datagram: replies.append(datagram) if send is not None else None,
                   errors=lines.append, trace=lambda line: None, lock=threading.Lock())
    return d, lines, replies


def test_unauthorized_remote_datagrams_are_dropped_before_decoding(monkeypatch):
    from immersions_osc.osc.protocol import encode_message
    from immersions_osc.service import dispatch
    from immersions_osc.service.sinks import UdpReply

    decoded = []
    real = dispatch.split  # the first look at a packet's structure (each message is parsed after it)
    monkeypatch.setattr(dispatch, "split", lambda data: decoded.append(len(data)) or real(data))
    d, lines, replies = _dispatcher(allowed=lambda host: host is None or host.startswith("127."))
    remote = UdpReply(lambda: None, ("192.0.2.7", 5000))
    message = encode_message(f"{P}/player/volume", "f", [0.5])
    bundle = b"#bundle\0" + (1).to_bytes(8, "big") + b"".join(
        len(message).to_bytes(4, "big") + message for _ in range((65000 - 16) // (len(message) + 4)))
    for _ in range(50):
        d.handle_datagram(bundle, remote)
        d.handle_datagram(message, remote)
    assert decoded == [] and d.dropped == 100 and replies == []
    d.handle_datagram(encode_message(f"{P}/auth", "s", ["x" * 24]), remote)  # the one thing it may send
    assert len(decoded) == 1
    local = UdpReply(lambda: None, ("127.0.0.1", 5000))
    d.handle_datagram(message, local)
    assert len(decoded) == 2


def test_megabyte_addresses_cost_no_regex_and_are_logged_short():
    from immersions_osc.osc.protocol import decode_packet, encode_message

    d, lines, replies = _dispatcher()
    began = time.thread_time()
    for i in range(10):  # ten 1 MB addresses, each new (a regex per address cost 30 CPU-s each)
        address = f"/immersions/{i}" + "a" * (1 << 20)
        d.handle_datagram(encode_message(address, "", []), replies.append, "ws test")
    for i in range(2000):  # 2 000 UDP-sized ones (60 KB)
        d.handle_datagram(encode_message(f"/x{i}" + "b" * 60000, "", []), replies.append, "ws test")
    spent = time.thread_time() - began
    mb = (10 * (1 << 20) + 2000 * 60000) / 1e6
    print(f"{spent:.2f} CPU-s for {mb:.0f} MB of addresses ({spent / mb:.3f} s/MB)")
    assert spent / mb < 0.5, spent
    assert len(replies) == 2010
    for r in replies:
        what, args = decode_packet(r)[0][0], decode_packet(r)[0][2]
        assert what == f"{P}/error" and len(args[0]) < 200 and "longer than 256" in args[1]
    assert all(len(line) < 400 for line in lines), max(map(len, lines))


def test_a_bundle_of_too_many_messages_is_one_error():
    from immersions_osc.osc.incoming import MAX_MESSAGES
    from immersions_osc.osc.protocol import encode_message

    d, lines, replies = _dispatcher()
    message = encode_message("/a", "", [])
    bundle = b"#bundle\0" + (1).to_bytes(8, "big") + b"".join(
        len(message).to_bytes(4, "big") + message for _ in range(MAX_MESSAGES * 50))
    began = time.thread_time()
    d.handle_datagram(bundle, replies.append, "ws test")
    assert len(replies) == 1 and d.received == 0
    assert time.thread_time() - began < 0.5 * len(bundle) / 1e6 + 0.5


def test_a_wrong_token_is_never_answered(web):
    from immersions_osc.osc.protocol import encode_message
    from immersions_osc.service.access import Access
    from immersions_osc.service.sinks import UdpReply

    service = web.service
    replies = []

    class Remote(UdpReply):
        def __call__(self, datagram):
            replies.append(datagram)

    remote = Remote(lambda: None, ("192.0.2.9", 5000))
    saved = service.access
    service.access = Access(allow_remote=True, token="t" * 20, ttl=5.0)
    try:
        for guess in ("wrong-token-xxxxxx", "", "t" * 19):
            service.handle_datagram(encode_message(f"{P}/auth", "s", [guess]), remote, "test")
        assert replies == [] and service.access.refused >= 3
        service.handle_datagram(encode_message(f"{P}/auth", "s", ["t" * 20]), remote, "test")
        assert len(replies) == 1  # the right one is acknowledged
    finally:
        service.access = saved


def test_a_page_can_subscribe_only_its_own_host(web):
    """A WebSocket page (a local one here) may not stream to a third-party host (one 40-byte
    message used to start ~4 Mbit/s to any victim); its own host it may."""
    from websockets.sync.client import connect

    from immersions_osc.osc.protocol import decode_packet, encode_message

    ws = connect(f"ws://127.0.0.1:{web.port}/ws", open_timeout=30, max_size=None, legacy=True)
    try:
        def ask(host, port):
            ws.send(encode_message(f"{P}/stream/subscribe", "sis", [host, port, "summary"]))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                (address, _, args), *_ = decode_packet(ws.recv(timeout=30))
                if address in (f"{P}/ack", f"{P}/error") and args[0] == f"{P}/stream/subscribe":
                    return address, args
            raise TimeoutError
        what, args = ask("192.0.2.5", 9000)
        assert what == f"{P}/error" and "own host" in args[1], args
        what, args = ask("127.0.0.1", 9)
        assert what == f"{P}/ack", args
        ws.send(encode_message(f"{P}/stream/unsubscribe", "si", ["127.0.0.1", 9]))
    finally:
        ws.close()


def test_token_guesses_are_limited_per_host():
    from immersions_osc.service.access import MAX_ATTEMPTS, Access

    access = Access(allow_remote=True, token="t" * 24, ttl=5.0)
    for i in range(MAX_ATTEMPTS):
        assert not access.check_token(f"guess-{i}", "192.0.2.7")
    assert not access.check_token("t" * 24, "192.0.2.7")  # locked out for the window, even the right one
    assert access.check_token("t" * 24, "192.0.2.8")  # another host is not
    assert access.check_token("t" * 24, "127.0.0.1") and access.check_token("t" * 24)


def test_serve_exits_non_zero_when_the_last_loop_cannot_be_saved(tmp_path):
    from service_harness import serving

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the loops folder should be")
    with serving("--audio", "none", "--loops-dir", str(blocker)) as (service, osc):
        pass
    assert service.proc.returncode == 1, service.output[-2000:]
    assert "could not save the last loop" in service.output and "Traceback" not in service.output


def test_a_start_clip_swapped_for_a_fifo_cannot_block_the_loader(tmp_path, monkeypatch):
    """The clip is opened once (O_NONBLOCK) and checked on that descriptor: a FIFO swapped in after a
    check of the path (simulated: the path's stat says "regular file") is refused at once."""
    import os
    import stat as stat_module
    import threading

    from immersions_osc.optimize import start

    fifo = tmp_path / "clip.wav"
    os.mkfifo(fifo)
    real_stat = os.stat
    regular = real_stat(__file__)
    monkeypatch.setattr(start.os, "stat", lambda p, *a, **k: regular if str(p) == str(fifo) else real_stat(p, *a, **k))
    assert stat_module.S_ISREG(os.stat(fifo).st_mode)  # the swap, as a check of the path sees it
    result = []

    def load():
        try:
            start.read_clip(str(fifo), 48000, 48000, detail=True)
        except Exception as exc:
            result.append(exc)
    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(20)
    blocked = t.is_alive()
    if blocked:  # unblock the loader (a writer on the FIFO), then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    assert not blocked, "the loader blocks on a FIFO"
    assert result and "not a regular file" in str(result[0])


def test_yaml_alias_bombs_and_huge_numbers_are_one_line(tmp_path):
    from immersions_osc.config import ConfigError, load_config

    bomb = tmp_path / "bomb.yaml"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    lines.append("service: {tempo: *i}")
    bomb.write_text("\n".join(lines) + "\n")
    assert len(bomb.read_bytes()) < 600
    began = time.thread_time()
    with pytest.raises(ConfigError) as info:
        load_config(str(bomb))
    assert "aliases" in str(info.value) and len(str(info.value)) < 400
    assert time.thread_time() - began < 5
    digits = tmp_path / "digits.yaml"
    digits.write_text("service:\n  port: " + "9" * 5000 + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(digits))
    assert len(str(info.value)) < 400
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than"):
        load_config(str(big))


def test_an_npz_header_claiming_a_huge_array_is_refused_before_allocation(tmp_path):
    import io
    import os
    import zipfile

    import numpy as np

    from immersions_osc.errors import UserError
    from immersions_osc.layout.export import load_layout

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(repo, "checkpoints", "small_layout.npz")
    out = tmp_path / "huge.npz"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "positions.npy":
                buf = io.BytesIO()
                np.lib.format.write_array_header_2_0(buf, {"descr": "<f4", "fortran_order": False,
                                                           "shape": (1 << 40, 2)})
                data = np.lib.format.magic(2, 0) + buf.getvalue()[8:] + b"\0" * 64
            zout.writestr(info.filename, data)
    with pytest.raises(UserError) as info:
        load_layout(out)
    assert "claims" in str(info.value) or "corrupt" in str(info.value)
    load_layout(src)  # the real one still loads


def test_one_local_clients_flood_does_not_starve_anothers_answers():
    """Reply budgets per local client (address and port): a client that spent its budget is refused,
    another local client is still answered; remote senders keep one budget per host (a spoofed
    source cannot multiply the reflection by ports)."""
    from immersions_osc.service.sinks import Sinks, UdpReply

    sent = []

    class Fake(UdpReply):
        def __call__(self, datagram):
            sent.append((self.addr, len(datagram)))

    sinks = Sinks()
    flooder, other = Fake(lambda: None, ("127.0.0.1", 40001)), Fake(lambda: None, ("127.0.0.1", 40002))
    big = b"x" * 60000
    results = [sinks.reply(flooder, big, echo=False) for _ in range(40)]
    assert not all(results)  # its burst is spent
    assert sinks.reply(other, big, echo=False)  # the other local client still gets its answer
    remote_a, remote_b = Fake(lambda: None, ("192.0.2.7", 1)), Fake(lambda: None, ("192.0.2.7", 2))
    results = [sinks.reply(remote_a, big, echo=False) for _ in range(40)]
    assert not all(results)
    assert not sinks.reply(remote_b, big, echo=False)  # same remote host: same budget
