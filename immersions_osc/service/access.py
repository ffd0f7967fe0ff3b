"""Who may talk to the service.

By default the service listens on loopback only (``service.host`` 127.0.0.1): every local process
may control it, as with any local audio server.  Listening beyond this machine needs
``--allow-remote`` (``service.allow_remote``) and a shared secret (``service.token``, or a random
one printed at start):

* OSC over UDP: a sender on another machine sends ``/immersions/auth <token>`` first; its host is
  then allowed for ``subscription_seconds`` after its last message (any message renews it).  Until
  then its datagrams are dropped without an answer (no reflection to a spoofed address).
* The viewer: a page from another machine opens ``http://HOST:PORT/?token=<token>``; the server
  answers with a ``SameSite=Strict`` cookie that every later request and the WebSocket carry
  (``web/server.py``).  Pages on this machine need no token, but requests from another web site
  (``Sec-Fetch-Site: cross-site``, an ``Origin`` that is not the viewer's) are refused.
"""
from __future__ import annotations

import collections
import hmac
import secrets
import threading
import time
from typing import Optional

from ..config import is_loopback

MAX_HOSTS = 256  # remote hosts remembered as authorized (and as having guessed wrong)
MAX_ATTEMPTS = 10  # wrong tokens a remote host may send within ATTEMPT_WINDOW seconds
ATTEMPT_WINDOW = 60.0


def is_loopback_address(host: str) -> bool:
    return is_loopback(host.split("%")[0])  # (an IPv6 scope id, "%eth0", is not part of the address)


class Access:
    def __init__(self, allow_remote: bool, token: str, ttl: float):
        self.remote = allow_remote
        self.token = token or (secrets.token_urlsafe(24) if allow_remote else "")
        self.ttl = ttl
        self._hosts: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._failures: collections.OrderedDict[str, collections.deque] = collections.OrderedDict()
        self.refused = 0

    def check_token(self, token: Optional[str], host: Optional[str] = None) -> bool:
        """Is ``token`` the token?  From a ``host`` that guessed wrong MAX_ATTEMPTS times within
        ATTEMPT_WINDOW seconds, not even the right one is taken until the window has passed."""
        if host is not None and not is_loopback_address(host):
            now = time.monotonic()
            with self._lock:
                fails = self._failures.get(host)
                while fails and fails[0] < now - ATTEMPT_WINDOW:
                    fails.popleft()
                if fails is not None and len(fails) >= MAX_ATTEMPTS:
                    fails.append(now)
                    while len(fails) > MAX_ATTEMPTS:
                        fails.popleft()
                    return False
        ok = bool(self.token) and token is not None and hmac.compare_digest(
            token.encode("utf-8", "replace"), self.token.encode("utf-8"))
        if not ok and host is not None and not is_loopback_address(host):
            with self._lock:
                self._failures.setdefault(host, collections.deque()).append(time.monotonic())
                self._failures.move_to_end(host)
                while len(self._failures) > MAX_HOSTS:
                    self._failures.popitem(last=False)
        return ok

    def allowed(self, host: Optional[str]) -> bool:
        """May a datagram from ``host`` (None: in process or a viewer already checked) be applied?"""
        if host is None or is_loopback_address(host):
            return True
        now = time.monotonic()
        with self._lock:
            expires = self._hosts.get(host)
            if expires is None or expires < now:
                self._hosts.pop(host, None)
                self.refused += 1
                return False
            self._hosts[host] = now + self.ttl
            self._hosts.move_to_end(host)
            return True

    def authorize(self, host: str) -> None:
        with self._lock:
            self._hosts[host] = time.monotonic() + self.ttl
            self._hosts.move_to_end(host)
            while len(self._hosts) > MAX_HOSTS:
                self._hosts.popitem(last=False)
