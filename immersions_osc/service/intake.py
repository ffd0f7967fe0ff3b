"""The UDP control port's intake: every sender gets its turn.

One socket takes every client's datagrams, and the kernel drops new ones, whoever sent them,
once its receive buffer is full.  Read and applied in arrival order (first in, first out), one
client's flood (5 000 unknown addresses, a bundle of 1 800 layout requests, fuzz) made another
client's control wait behind all of it, or lost it in the full buffer (issue 29: a status round
trip of 300 ms to 1 s during another client's abuse).

:class:`FairIntake` separates reading from applying, on the one ``immersions-osc-in`` thread:

* **Reading** costs a few microseconds a datagram: the socket is emptied (non-blocking) before
  every turn into one queue per sender -- a client on this machine by address and port, a remote
  one by host (as the reply budget counts them) -- so the kernel's buffer stays nearly empty and
  a second client's datagram is not dropped there.  A sender's queue holds at most
  ``per_sender`` datagrams and ``per_sender_bytes`` bytes, all queues together ``total_bytes``:
  beyond that the sender's new datagrams are dropped as they are read, before any decoding (one
  rate-limited log line), so a flood costs its sender's share and nothing more.
* **Applying** takes the senders in turn (round robin): at most ``slice_messages`` messages of
  one sender (a large bundle is applied in slices, its messages in order), then the next sender.
  A control of a second client waits for at most one slice of each other busy sender, whatever
  they send.

Memory is bounded by ``total_bytes`` plus the senders remembered (``max_senders``).
"""
from __future__ import annotations

import collections
import socket
from typing import Callable, Iterator, Optional

Steps = Callable[[bytes, tuple], Iterator[None]]  # (datagram, sender address) -> a generator of its messages
PER_SENDER = 256  # datagrams waiting per sender
PER_SENDER_BYTES = 1 << 20
TOTAL_BYTES = 8 << 20  # all queues together
SLICE_MESSAGES = 8  # messages of one sender applied per turn
DRAIN = 4096  # datagrams read at most between two turns (the socket is emptied again after the turn)
MAX_SENDERS = 4096  # senders with datagrams waiting at once (more: dropped like an overflow)


def sender_key(addr: tuple) -> object:
    """Whose queue a datagram joins: a sender on this machine by address and port (each local
    client gets its turn), a remote one by host (more ports do not buy more turns)."""
    host = addr[0]
    if host.startswith("127.") or host == "::1":
        return (host, addr[1])
    return host


class _Queue:
    __slots__ = ("datagrams", "nbytes", "current")

    def __init__(self):
        self.datagrams: collections.deque = collections.deque()
        self.nbytes = 0
        self.current: Optional[Iterator[None]] = None  # the datagram being applied (its generator)


class FairIntake:
    """Reads ``sock`` (a bound UDP socket) and applies each datagram through ``steps`` (the
    dispatcher's per-message generator), fairly between senders.  ``on_drop(addr, why)`` is told of
    the datagrams dropped for their sender's queue being full (once per read of the socket; rate-limit it)."""

    def __init__(self, sock: socket.socket, steps: Steps, on_drop: Optional[Callable[[tuple, str], None]] = None,
                 per_sender: int = PER_SENDER, per_sender_bytes: int = PER_SENDER_BYTES,
                 total_bytes: int = TOTAL_BYTES, slice_messages: int = SLICE_MESSAGES):
        self.sock = sock  # waited on (its timeout): the loop's pace when nothing is queued
        self.reader = sock.dup()  # read without waiting (the same socket)
        self.reader.setblocking(False)
        self._buffer = memoryview(bytearray(65536))
        self.steps, self.on_drop = steps, on_drop
        self.per_sender, self.per_sender_bytes, self.total_bytes = per_sender, per_sender_bytes, total_bytes
        self.slice_messages = slice_messages
        self._queues: collections.OrderedDict[object, _Queue] = collections.OrderedDict()  # turn order
        self.nbytes = 0  # bytes waiting, all queues
        self.dropped = 0  # datagrams dropped at the intake (a sender's queue full)
        self.read = 0  # datagrams read
        self._last_drop: tuple = ("?", 0)  # the sender of the last datagram dropped

    def close(self) -> None:
        self.reader.close()
        self._queues.clear()
        self.nbytes = 0

    @property
    def waiting(self) -> int:
        return sum(len(q.datagrams) + (q.current is not None) for q in self._queues.values())

    def offer(self, data: bytes, addr: tuple) -> bool:
        """Queue one datagram for its sender; False (dropped, counted) when that sender's queue, or
        all of them together, are full.  (Nothing else is done for a dropped one: a flood's excess
        costs a read and this test; :meth:`drain` tells ``on_drop`` once.)"""
        queue = self._room(addr, len(data))
        if queue is None:
            return False
        self._append(queue, data, addr)
        return True

    def _room(self, addr: tuple, size: int) -> Optional[_Queue]:
        """The queue of ``addr``'s sender when it has room for ``size`` more bytes, else None (counted)."""
        key = sender_key(addr)
        queue = self._queues.get(key)
        if queue is None:
            if len(self._queues) < MAX_SENDERS and self.nbytes + size <= self.total_bytes:
                queue = self._queues[key] = _Queue()
                return queue
        elif len(queue.datagrams) < self.per_sender and queue.nbytes + size <= self.per_sender_bytes \
                and self.nbytes + size <= self.total_bytes:
            return queue
        self.dropped += 1
        self._last_drop = addr
        return None

    def _append(self, queue: _Queue, data: bytes, addr: tuple) -> None:
        queue.datagrams.append((data, addr))
        queue.nbytes += len(data)
        self.nbytes += len(data)

    def drain(self, limit: int = DRAIN) -> int:
        """Read what the socket holds now (at most ``limit`` datagrams) into the queues: each into
        one reused 64 KB buffer, copied out at its own size only when its sender's queue has room
        (a dropped datagram allocates nothing)."""
        n, dropped = 0, self.dropped
        recv, buf, room, append = self.reader.recvfrom_into, self._buffer, self._room, self._append
        while n < limit:
            try:
                size, addr = recv(buf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # e.g. ECONNREFUSED from an earlier send's ICMP: nothing to read
                break
            n += 1
            queue = room(addr, size)
            if queue is not None:
                append(queue, bytes(buf[:size]), addr)
        self.read += n
        if self.dropped > dropped and self.on_drop is not None:
            self.on_drop(self._last_drop, f"{self.dropped - dropped} datagram(s) dropped: its datagrams come "
                                          f"faster than they can be applied")
        return n

    def turn(self) -> bool:
        """Apply up to ``slice_messages`` messages of the sender whose turn it is; False when no
        datagram waits."""
        while self._queues:
            key, queue = next(iter(self._queues.items()))
            budget = self.slice_messages
            while budget > 0:
                if queue.current is None:
                    if not queue.datagrams:
                        break
                    data, addr = queue.datagrams.popleft()
                    queue.nbytes -= len(data)
                    self.nbytes -= len(data)
                    queue.current = self.steps(data, addr)
                try:
                    next(queue.current)
                except StopIteration:
                    queue.current = None  # (a datagram refused whole counts as one message)
                except Exception:  # the dispatcher never raises; a bug ends this datagram only
                    queue.current = None
                budget -= 1
            if queue.current is None and not queue.datagrams:
                del self._queues[key]
            else:
                self._queues.move_to_end(key)
            if budget < self.slice_messages:
                return True
        return False

    def run(self, stopping) -> None:
        """The loop of the ``immersions-osc-in`` thread, until ``stopping`` (an Event) is set."""
        while not stopping.is_set():
            if not self._queues:  # nothing waits: sleep on the socket
                try:
                    data, addr = self.sock.recvfrom(65536)
                except socket.timeout:
                    continue
                except OSError:
                    if stopping.is_set():
                        break
                    continue
                self.read += 1
                if not self.offer(data, addr) and self.on_drop is not None:
                    self.on_drop(addr, "1 datagram dropped: too many datagrams waiting")
            self.drain()
            self.turn()
