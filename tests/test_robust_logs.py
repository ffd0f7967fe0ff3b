"""The service's log cannot be forged or garbled by a client: OSC addresses and strings with
newlines or terminal escape codes are escaped, and connections reset by viewer clients leave no
traceback."""
import socket
import struct
import time

import pytest

from service_harness import OSCClient, ServiceProcess


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_clients_cannot_forge_log_lines_or_leave_tracebacks(tmp_path):
    web_port = free_tcp_port()
    service = ServiceProcess("--audio", "none", "--loops-dir", "", "--web-port", str(web_port))
    osc = OSCClient(service.port)
    try:
        osc.wait_ready()
        forged = "FORGED 12:00:00 INFO immersions_osc.service: all is well"
        osc.send("/immersions/\x1b[2J\x1b[31mred\n" + forged)
        osc.send("/immersions/optimize/start", "s", "\x1b]0;title\x07/no/file\n" + forged)
        time.sleep(1.2)  # past the error log's rate limit
        osc.send("/immersions/player/volume", "s", "\r" + forged)
        for _ in range(20):  # viewer connections reset in the middle of a request (RST, SO_LINGER 0)
            with socket.create_connection(("127.0.0.1", web_port), timeout=10) as s:
                s.sendall(b"GET /info.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        osc.wait_ready(timeout=10)
    finally:
        osc.close()
        code = service.stop()
    out = service.output
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert not [line for line in out.splitlines() if line.startswith("FORGED")], out[-2000:]
    assert "\\x1b" in out or "\\x1B" in out  # the escape codes were logged, escaped
    assert "Traceback" not in out
