"""What a hostile or broken client can do to the running service, tried for real (loopback only):
audio bombs as start clips, subscriptions that are never renewed, someone else's unsubscribe,
floods of requests and errors, many clients at once against the one limit, a page that stops
reading, snapshots, remote senders without the token, requests from other web sites."""
import dataclasses
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from immersions_osc.config import ConfigError, parse_config
from immersions_osc.service.access import Access
from immersions_osc.osc.protocol import decode_packet, encode_message
from immersions_osc.service.sinks import (MAX_FAILURES, MAX_SINKS, MAX_SUBSCRIBERS, MAX_VIEWERS, Sink, Sinks,
                                          TokenBucket, UdpReply)

from robust_attacks import bombs, rss_mb, stalled_websocket
from service_harness import OSCClient, running_viewer, wait_until

P = "/immersions"


@pytest.fixture(scope="module")
def web():
    yield from running_viewer(subscription_seconds=5.0)


def apply(service, address, tags="", *args, reply=None):
    replies = []
    service.handle_datagram(encode_message(address, tags, list(args)), reply or replies.append, "test")
    return [decode_packet(r)[0] for r in replies]


# --- start clips ------------------------------------------------------------------------------------

def test_audio_bombs_are_refused_from_their_header_without_decoding(web, tmp_path):
    import numpy as np
    import soundfile as sf

    service = web.service
    files = bombs(str(tmp_path / "bombs"))
    warm = tmp_path / "warm.wav"  # the first clip imports the decoders and the resampler: not counted
    sf.write(warm, np.zeros(4800, np.float32), 48000)
    loaded = service.clips.loaded
    apply(service, f"{P}/optimize/start", "s", str(warm))
    assert wait_until(lambda: service.clips.loaded == loaded + 1)
    before = rss_mb()
    messages = {}
    for name, path in files.items():
        replies = []
        service.handle_datagram(encode_message(f"{P}/optimize/start", "s", [path]), replies.append, "test")
        # the control thread only queued it: acknowledged at once, the error follows from the loader
        assert [decode_packet(r)[0][0] for r in replies] == [f"{P}/ack"], (name, replies)
        assert wait_until(lambda: any(decode_packet(r)[0][0] == f"{P}/error" for r in replies)), name
        why = next(decode_packet(r)[0][2][1] for r in replies if decode_packet(r)[0][0] == f"{P}/error")
        messages[name] = why.replace(repr(path), "PATH")
    grown = rss_mb() - before
    assert grown < 50, f"{grown:.0f} MB"  # not one bomb was decoded (the 30 min FLAC alone is 300 MB)
    # the same answer whatever the reason: nothing about the service's disk is revealed
    assert len(set(messages.values())) == 1, messages
    assert "cannot use PATH" in messages["missing"]


def test_a_good_clip_loads_in_the_background(web, tmp_path):
    import numpy as np
    import soundfile as sf

    service = web.service
    path = tmp_path / "good.wav"
    sf.write(path, (np.sin(np.arange(48000) / 7.0) * 0.5).astype(np.float32), 48000)
    loaded = service.clips.loaded
    replies = apply(service, f"{P}/optimize/start", "s", str(path))
    assert replies[0][0] == f"{P}/ack"
    assert wait_until(lambda: service.clips.loaded == loaded + 1)


# --- subscriptions ----------------------------------------------------------------------------------

def test_subscriptions_expire_unless_renewed(web):
    service = web.service
    silent, renewing = OSCClient(service.port), OSCClient(service.port)
    try:
        for c in (silent, renewing):
            c.subscribe("summary")
            c.wait_for(f"{P}/ack", timeout=10, predicate=lambda a: a == [f"{P}/stream/subscribe"])
        started = time.monotonic()
        while time.monotonic() - started < 8:  # subscription_seconds is 5 in this fixture
            renewing.subscribe("summary")
            time.sleep(1.0)
        assert ("udp", "127.0.0.1", silent.port) not in service.sinks  # expired
        assert ("udp", "127.0.0.1", renewing.port) in service.sinks  # renewed
        silent.receive(0.3)
        assert not [m for m in silent.receive(1.5) if m[0] == f"{P}/summary/energy"]
    finally:
        silent.close()
        renewing.close()
        service.sinks.remove(("udp", "127.0.0.1", renewing.port))


def test_unreachable_subscribers_are_dropped():
    def fail(_):
        raise ConnectionRefusedError()
    sinks = Sinks()
    sinks.add("x", Sink(fail, group="udp"))
    for _ in range(MAX_FAILURES):
        sinks.broadcast([b"d"])
    assert sinks.expire() == ["x"]


def test_clients_subscribe_and_unsubscribe_only_their_own_host(web):
    service = web.service
    port = 40000 + os.getpid() % 20000
    other = UdpReply(lambda: None, ("192.0.2.7", 5000))  # a sender on another machine (nothing is sent)
    service.handle_datagram(encode_message(f"{P}/stream/subscribe", "si", ["127.0.0.1", port]), other, "test")
    assert ("udp", "127.0.0.1", port) not in service.sinks
    apply(service, f"{P}/stream/subscribe", "si", "127.0.0.1", port)
    assert ("udp", "127.0.0.1", port) in service.sinks
    service.handle_datagram(encode_message(f"{P}/stream/unsubscribe", "si", ["127.0.0.1", port]), other, "test")
    assert ("udp", "127.0.0.1", port) in service.sinks  # someone else cannot
    local = UdpReply(lambda: None, ("127.0.0.1", 5001))  # the same host, another port (oscsend): can
    service.handle_datagram(encode_message(f"{P}/stream/unsubscribe", "si", ["127.0.0.1", port]), local, "test")
    assert ("udp", "127.0.0.1", port) not in service.sinks


# --- one limit, no races ----------------------------------------------------------------------------

def test_the_limit_holds_under_simultaneous_adds():
    sinks = Sinks()
    barrier = threading.Barrier(200)
    results = []

    def add(i):
        barrier.wait()
        try:
            sinks.add(i, Sink(lambda d: None, group="viewer" if i % 2 else "udp"))
            results.append(True)
        except Exception:
            results.append(False)
    threads = [threading.Thread(target=add, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sinks.counted() == sum(results) == MAX_SINKS
    assert sinks.counted("viewer") == MAX_VIEWERS and sinks.counted("udp") == MAX_SUBSCRIBERS


@pytest.mark.slow
def test_subscribers_and_viewers_share_one_limit(web, monkeypatch):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    service = web.service
    # the module's 5 s subscriptions could expire while a busy machine opens the 20 pages: this
    # test is about the limit, not about expiry
    monkeypatch.setattr(service, "scfg", dataclasses.replace(service.scfg, subscription_seconds=3600.0))
    base = 41000 + os.getpid() % 10000
    for i in range(MAX_SUBSCRIBERS):
        apply(service, f"{P}/stream/subscribe", "sis", "127.0.0.1", base + i, "summary")
    assert service.sinks.counted() == MAX_SUBSCRIBERS
    assert apply(service, f"{P}/stream/subscribe", "sis", "127.0.0.1", base - 1, "summary")[0][0] == f"{P}/error"
    barrier = threading.Barrier(20)
    open_pages, refused = [], []

    def page():
        barrier.wait()
        try:
            ws = connect(web.url.replace("http", "ws") + "ws", open_timeout=30, max_size=None, legacy=True)
        except Exception:
            refused.append("http")
            return
        try:
            ws.recv(timeout=30)
            time.sleep(1.0)
            ws.recv(timeout=30)
            open_pages.append(ws)
        except (ConnectionClosed, TimeoutError):
            refused.append(ws.close_code)
            ws.close()
    threads = [threading.Thread(target=page) for _ in range(20)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(open_pages) == MAX_VIEWERS and service.sinks.counted() == MAX_SINKS
        assert refused.count(1013) == 20 - MAX_VIEWERS, refused
    finally:
        for ws in open_pages:
            ws.close()
        for i in range(MAX_SUBSCRIBERS):
            service.sinks.remove(("udp", "127.0.0.1", base + i))


# --- floods -----------------------------------------------------------------------------------------

def test_a_bundle_of_layout_requests_gets_a_bounded_answer(web):
    service = web.service
    client = OSCClient(service.port)
    try:
        request = encode_message(f"{P}/layout/request", "", [])
        n = (65000 - 16) // (len(request) + 4)
        data = b"#bundle\0" + (1).to_bytes(8, "big") + b"".join(len(request).to_bytes(4, "big") + request
                                                               for _ in range(n))
        started = time.monotonic()
        client.send_raw(data)
        got = client.receive_until_quiet(quiet=2.0, timeout=60.0)  # a busy machine answers late
        elapsed = time.monotonic() - started
        layouts = sum(m[0] == f"{P}/layout/layer" for m in got) / len(service.vector.layer_names)
        # what the sender's budget allows: its burst plus its rate over the time the answers took
        budget = service.sinks.budget
        size = sum(len(d) + 64 for d in service.stream.layout_datagrams(None))
        allowed = (budget.burst + budget.per_sender * elapsed) / size
        assert n >= 1500 and 1 <= layouts <= allowed, (layouts, allowed)  # a few layouts, not 1800
        client.send(f"{P}/status/request")
        client.wait_for(f"{P}/status", timeout=10)  # and control still answers
    finally:
        client.close()


def test_errors_echoed_to_subscribers_are_limited(web):
    service = web.service
    listener, attacker = OSCClient(service.port), OSCClient(service.port)
    try:
        listener.subscribe("summary")
        listener.wait_for(f"{P}/ack", timeout=10)
        time.sleep(1.5)  # the echo budget refills
        for _ in range(300):
            attacker.send(f"{P}/no/such/address")
        echoed = [m for m in listener.receive(2.0) if m[0] == f"{P}/error"]
        assert 0 < len(echoed) <= 60, len(echoed)
    finally:
        service.sinks.remove(("udp", "127.0.0.1", listener.port))
        listener.close()
        attacker.close()


def test_token_buckets_refill():
    bucket = TokenBucket(rate=100.0, burst=100.0)
    now = time.monotonic()
    assert bucket.take(100, now) and not bucket.take(1, now)
    assert bucket.take(50, now + 0.5) and not bucket.take(1, now + 0.5)


# --- remote senders ---------------------------------------------------------------------------------

def test_remote_senders_need_the_token():
    access = Access(allow_remote=True, token="", ttl=5.0)
    assert len(access.token) >= 24  # a random one when none is given
    assert access.allowed("127.0.0.1") and access.allowed(None)
    assert not access.allowed("192.0.2.7")
    assert not access.check_token("wrong") and access.check_token(access.token)
    access.authorize("192.0.2.7")
    assert access.allowed("192.0.2.7")


def test_remote_osc_is_dropped_until_auth(web):
    service = web.service
    remote = UdpReply(lambda: None, ("192.0.2.7", 5000))
    saved = service.access
    service.access = Access(allow_remote=True, token="t" * 20, ttl=5.0)
    try:
        volume = service.player.volume
        service.handle_datagram(encode_message(f"{P}/player/volume", "f", [0.123]), remote, "test")
        assert service.player.volume == volume
        service.handle_datagram(encode_message(f"{P}/auth", "s", ["wrong-token-xxxxxx"]), remote, "test")
        service.handle_datagram(encode_message(f"{P}/player/volume", "f", [0.123]), remote, "test")
        assert service.player.volume == volume
        service.handle_datagram(encode_message(f"{P}/auth", "s", ["t" * 20]), remote, "test")
        service.handle_datagram(encode_message(f"{P}/player/volume", "f", [0.123]), remote, "test")
        assert service.player.volume == pytest.approx(0.123)
    finally:
        service.access = saved


def test_listening_beyond_this_machine_needs_the_explicit_flag():
    with pytest.raises(ConfigError, match="--allow-remote"):
        parse_config({"service": {"host": "0.0.0.0"}})
    parse_config({"service": {"host": "0.0.0.0", "allow_remote": True}})
    with pytest.raises(ConfigError, match="at least 16"):
        parse_config({"service": {"host": "0.0.0.0", "allow_remote": True, "token": "short"}})


def test_the_viewer_wants_the_token_from_other_machines(web):
    from types import SimpleNamespace

    from websockets.datastructures import Headers
    from websockets.http11 import Request

    def ask(peer, path="/info.json", **headers):
        request = Request(path, Headers({"Host": f"127.0.0.1:{web.port}", **headers}))
        return web._refusal(SimpleNamespace(remote_address=(peer, 5555)), request)

    saved = web.token
    web.token = "k" * 24
    try:
        assert ask("192.0.2.7").status_code == 401
        assert ask("192.0.2.7", path="/?token=" + "x" * 24).status_code == 401
        assert ask("192.0.2.7", path="/?token=" + "k" * 24) is None
        assert ask("192.0.2.7", Cookie="a=b; immersions_token=" + "k" * 24) is None
        assert ask("127.0.0.1") is None  # this machine needs none
    finally:
        web.token = saved


def test_requests_from_other_web_sites_are_refused(web):
    def status(path, **headers):
        request = urllib.request.Request(web.url.rstrip("/") + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
    assert status("/snapshot.png?size=64", **{"Sec-Fetch-Site": "cross-site"}) == 403  # an <img> on a web page
    assert status("/controls.json", Origin="http://evil.example") == 403
    assert status("/controls.json", **{"Sec-Fetch-Site": "same-origin"}) == 200


# --- slow sinks and heavy requests --------------------------------------------------------------------

@pytest.mark.slow
def test_concurrent_snapshots_are_drawn_one_at_a_time(web):
    results = []

    def get():
        try:
            with urllib.request.urlopen(web.url + "snapshot.png?size=2048", timeout=120) as r:
                results.append(r.status)
        except urllib.error.HTTPError as exc:
            results.append(exc.code)
    before = rss_mb()
    threads = [threading.Thread(target=get) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert results.count(200) >= 1 and results.count(503) >= 1, results
    assert rss_mb() - before < 300
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(web.url + "snapshot.png?size=4096", timeout=30)
    assert info.value.code == 400


@pytest.mark.slow
def test_a_page_that_stops_reading_delays_neither_the_others_nor_the_shutdown():
    from websockets.sync.client import connect

    gen = running_viewer()
    web = next(gen)
    stalled = stalled_websocket("127.0.0.1", web.port)
    healthy = connect(web.url.replace("http", "ws") + "ws", open_timeout=30, max_size=None, legacy=True)
    try:
        deadline = time.monotonic() + 60  # the healthy page keeps getting the stream meanwhile
        frames = 0
        while frames < 60 and time.monotonic() < deadline:
            if decode_packet(healthy.recv(timeout=30))[0][0] == f"{P}/activations":
                frames += 1
        assert frames >= 60
        closer = threading.Thread(target=lambda: next(gen, None))  # web.close() then service.close()
        closer.start()
        closer.join(60)
        assert not closer.is_alive(), "shutdown hangs on the stalled page"
    finally:
        stalled.close()
        healthy.close()
