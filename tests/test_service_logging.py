"""The service's log: stdlib logging, timestamps and levels, -v/-q/--log-level, one line per
subscribe/unsubscribe/viewer connection, rate-limited, control characters escaped."""
import io
import logging
import re

import pytest

from immersions_osc.cli import build_parser
from immersions_osc.service.logs import (EscapingFormatter, RateLimitedLog, escape_controls, level_from_args,
                                         setup_logging)
from immersions_osc.osc.protocol import encode_message
from immersions_osc.service.server import EVENT_BURST, Service
from immersions_osc.service.sinks import Sink

from service_harness import in_process_config

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR) +immersions_osc[.\w]*: ")


def test_control_characters_are_escaped():
    assert escape_controls("a\nb\x1b[31m\x00\u202ez\x7f") == "a\\nb\\x1b[31m\\x00\\u202ez\\x7f"
    assert escape_controls("plain é ü 音") == "plain é ü 音"
    record = logging.LogRecord("immersions_osc.service", logging.WARNING, __file__, 1, "bad %s", ("x\ry",), None)
    line = EscapingFormatter().format(record)
    assert LINE.match(line) and line.endswith("bad x\\ry") and "\n" not in line


def test_levels_from_the_command_line():
    parser = build_parser()

    def level(*argv):
        a = parser.parse_args(["serve", *argv])
        return level_from_args(a.log_level, a.verbose, a.quiet)

    assert level() == logging.INFO and level("-v") == logging.DEBUG and level("-q") == logging.WARNING
    assert level("-qq") == logging.ERROR and level("--log-level", "ERROR") == logging.ERROR
    assert level("--log-level", "debug", "-q") == logging.DEBUG  # the explicit level wins
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--log-level", "loud"])


def test_rate_limit_counts_what_it_held_back():
    lines = []
    log = RateLimitedLog(lines.append, interval=3600, burst=3)
    for i in range(10):
        log(f"line {i}")
    assert lines == ["line 0", "line 1", "line 2"] and log.suppressed == 7 and log.total == 10
    log._window -= 3600  # the interval has passed
    log("line 10")
    assert lines[-1] == "line 10 (+7 more since the last report)"


@pytest.fixture(scope="module")
def logged():
    """An in-process service logging through ``logging`` into a buffer (rate-limit interval: 1 h,
    so that what is held back does not depend on how fast the machine is)."""
    buffer = io.StringIO()
    handler = setup_logging(logging.DEBUG, buffer)
    service = Service(in_process_config(error_log_interval=3600.0))
    yield service, buffer
    service.close()
    logging.getLogger("immersions_osc").removeHandler(handler)


class FakeViewer:
    def __init__(self, peer):
        self.peer = peer


def test_one_line_per_subscribe_unsubscribe_and_viewer_connection(logged):
    service, buffer = logged
    start = len(buffer.getvalue())
    reply = service.udp_reply(("127.0.0.1", 40000))
    service.handle_datagram(encode_message("/immersions/stream/subscribe", "sis", ["127.0.0.1", 9, "summary"]), reply)
    service.handle_datagram(encode_message("/immersions/stream/unsubscribe", "si", ["127.0.0.1", 9]), reply)
    viewer = FakeViewer("10.0.0.5:51234")
    service.add_sink(viewer, Sink(lambda d: None, "all", group="viewer"))
    service.remove_sink(viewer)
    internal = object()  # the service's own sinks (a snapshot taker): debug lines only
    service.add_sink(internal, Sink(lambda d: None, "all"))
    service.remove_sink(internal)
    service.handle_datagram(encode_message("/immersions/player/volume\x1b[2J\nFAKE", "f", [0.5]), reply)
    lines = buffer.getvalue()[start:].splitlines()
    assert all(LINE.match(line) for line in lines), lines
    events = [line.split(": ", 1)[1] for line in lines if " INFO " in line]
    assert events == ["subscriber 127.0.0.1:9 (summary) subscribed (asked by 127.0.0.1:40000); 1 subscribers and viewers",
                      "subscriber 127.0.0.1:9 unsubscribed (asked by 127.0.0.1:40000); 0 subscribers and viewers",
                      "viewer 10.0.0.5:51234 connected; 1 subscribers and viewers",
                      "viewer 10.0.0.5:51234 disconnected; 0 subscribers and viewers"]
    debug = [line for line in lines if " DEBUG " in line]
    assert len(debug) == 4 and "applied /immersions/stream/subscribe '127.0.0.1' 9 'summary'" in debug[0]
    assert " (all) subscribed; " in debug[2] and " (all) unsubscribed; " in debug[3] and "sink <object" in debug[2]
    warning = [line for line in lines if " WARNING " in line]
    assert len(warning) == 1 and "/immersions/player/volume\\x1b[2J\\nFAKE" in warning[0]  # escaped: one line


def test_a_subscribe_flood_is_rate_limited(logged):
    service, buffer = logged
    start = len(buffer.getvalue())
    service.events._window = -1e9  # a fresh interval
    for port in range(20000, 20000 + 3 * EVENT_BURST):
        service.handle_datagram(encode_message("/immersions/stream/subscribe", "si", ["127.0.0.1", port]))
    lines = [line for line in buffer.getvalue()[start:].splitlines() if " INFO " in line]
    assert len(lines) == EVENT_BURST and len(service.sinks) == 3 * EVENT_BURST
    assert service.events.suppressed == 2 * EVENT_BURST
    for port in range(20000, 20000 + 3 * EVENT_BURST):
        service.remove_sink(("udp", "127.0.0.1", port))


def test_an_expired_subscription_is_one_line(logged):
    import time

    service, buffer = logged
    start = len(buffer.getvalue())
    service.events._window = -1e9  # a fresh rate-limit interval
    service.handle_datagram(encode_message("/immersions/stream/subscribe", "si", ["127.0.0.1", 9]))
    service.sinks.expire(now=time.monotonic() + 1e6)  # long after it should have been renewed
    lines = [line.split(": ", 1)[1] for line in buffer.getvalue()[start:].splitlines() if " INFO " in line]
    assert lines[-1] == "subscriber 127.0.0.1:9 (all) expired (not renewed); 0 subscribers and viewers"
