"""What each control does: one ``on_<address>`` method per row of the control table
(``/immersions/player/volume`` -> ``on_player_volume``), with arguments already checked by
:func:`.controls.parse_args`.  A handler raises UserError for a request that cannot be met (the
dispatcher answers it with ``/immersions/error``).

``ControlHandlers`` is a part of :class:`~.server.Service`: it changes the service's targets,
generator, player, sinks and settings.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import socket
import time

import torch

from ..errors import UserError
from ..optimize.start import START_KINDS, fit_length, start_clip
from ..optimize.targets import Target, check_targets, neuron_mask
from ..osc.controls import CONTROLS, OPTIMIZE_FIELDS
from .sinks import Sink, UdpReply
from ..audio.tempo import bars_for, check_tempo, loop_samples


class ControlHandlers:
    # targets
    def _set_targets(self, targets: list[Target]) -> None:
        check_targets(targets, self.vector.shapes)
        self.targets = targets
        self.generator.set_targets(targets)

    def _layer(self, layer: str) -> str:
        if layer not in self.vector.shapes:
            raise UserError(f"unknown layer {layer!r}; layers: {', '.join(self.vector.layer_names)}")
        return layer

    def on_target_layer(self, layer, weight, reply=None):
        self._set_targets([Target(self._layer(layer), weight=weight)])

    def on_target_channel(self, layer, channel, weight, reply=None):
        self._set_targets([Target(self._layer(layer), channels=[channel], weight=weight)])

    def on_target_channels(self, layer, channels, reply=None):
        self._set_targets([Target(self._layer(layer), channels=sorted(set(channels)))])

    def _neuron_targets(self, neurons: list[int]) -> list[Target]:
        n = self.vector.size
        bad = [i for i in neurons if i >= n]
        if bad:
            raise UserError(f"neuron {bad[0]} out of range (0..{n - 1})")
        return [Target(layer, neurons=local) for layer, local in self.vector.split(neurons).items()]

    def on_target_neurons(self, neurons, reply=None):
        self._set_targets(self._neuron_targets(neurons))

    def on_target_add_neurons(self, neurons, reply=None):
        merged: dict[str, set[int]] = {}
        for t in self.targets + self._neuron_targets(neurons):
            local = t.neurons if t.neurons is not None else \
                torch.nonzero(neuron_mask(t, self.vector.shapes).view(-1)).view(-1).tolist()
            merged.setdefault(t.layer, set()).update(local)
        self._set_targets([Target(layer, neurons=sorted(local)) for layer, local in merged.items()])

    def on_target_weight(self, weight, reply=None):
        self._set_targets([dataclasses.replace(t, weight=weight) for t in self.targets])

    def on_target_random(self, reply=None):
        layer = self.rng.choice(self.vector.layer_names)
        self._set_targets([Target(layer, channels=[self.rng.randrange(self.vector.shapes[layer][0])])])

    # optimization (the OPTIMIZE_FIELDS handlers are made below the class)
    def on_optimize_start(self, kind, reply=None):
        """silence / noise / previous at once; an audio file on the clip loader's thread (the ack
        says it was taken, an error follows if it cannot be used)."""
        if kind in START_KINDS:
            previous = self.generator.current_loop()
            self.generator.set_start(start_clip(kind, self.loop_samples, self.sample_rate,
                                                self.rng.randrange(1 << 30), previous=previous))
        else:
            self.clips.request(kind, reply, _describe_sender(reply))

    def on_optimize_run(self, on, reply=None):
        self.generator.set_running(bool(on))

    def on_optimize_publish_every(self, steps, reply=None):
        self.generator.publish_every = steps

    # player
    def on_player_volume(self, gain, reply=None):
        self.player.volume = gain

    def on_player_play(self, on, reply=None):
        self.player.playing = bool(on)

    def on_player_loop_seconds(self, seconds, reply=None):
        if self.scfg.tempo > 0:  # with a tempo: the whole number of bars nearest to it
            self._set_tempo(self.scfg.tempo, bars_for(seconds, self.scfg.tempo, self.scfg.beats_per_bar))
        else:
            self._set_service(loop_seconds=seconds)
            self._refit()

    def on_player_tempo(self, bpm, reply=None):
        self._set_tempo(bpm, self.scfg.bars)
        if self.link is not None and bpm > 0:
            self.link.commit_tempo(bpm)

    def on_player_bars(self, bars, reply=None):
        if self.scfg.tempo <= 0:
            raise UserError("set a tempo first (/immersions/player/tempo bpm): bars need one")
        self._set_tempo(self.scfg.tempo, bars)

    # tempo and loop length (tempo.py has the arithmetic)
    def _loop_length(self) -> int:
        s = self.scfg
        if s.tempo > 0:
            return loop_samples(s.tempo, s.bars, s.beats_per_bar, self.sample_rate)
        return int(s.loop_seconds * self.sample_rate)

    def _tempo(self) -> tuple[float, int, int]:
        return self.scfg.tempo, self.scfg.bars, self.scfg.beats_per_bar

    def _set_tempo(self, bpm: float, bars: int) -> None:
        check_tempo(bpm, bars, self.scfg.beats_per_bar)
        self._set_service(tempo=float(bpm), bars=int(bars))
        self._refit()

    def _follow_tempo(self, bpm: float) -> None:  # the Link thread: a peer changed the tempo
        with self._control_lock:
            try:
                self._set_tempo(bpm, self.scfg.bars)
            except UserError:  # e.g. a loop longer than 60 s at that tempo: fewer bars
                self._set_tempo(bpm, bars_for(30.0, bpm, self.scfg.beats_per_bar))
            self.log(f"link: tempo {bpm:g} bpm -> loops of {self.scfg.bars} bars ({self.loop_samples} samples)")

    def _refit(self) -> None:
        """The optimization restarts from the current loop fitted to the new length; the loop
        playing now finishes first (the boundary stays on the bar)."""
        n = self._loop_length()
        if n != self.loop_samples:
            self.loop_samples = n
            self.generator.set_start(fit_length(self.generator.current_loop(), n))

    def on_player_crossfade_ms(self, ms, reply=None):
        self.player.set_crossfade(ms)

    # streams
    @staticmethod
    def _udp_address(host: str, port: int) -> tuple[str, int]:
        try:
            return socket.gethostbyname(host), port
        except (OSError, UnicodeError):
            raise UserError(f"cannot resolve host {host!r}") from None

    def on_stream_subscribe(self, host, port, kind, reply=None):
        """Subscribe (or renew: the same message again) ``host:port`` for ``subscription_seconds``.
        A UDP sender may subscribe only an address of its own host (no streaming to a third party)."""
        addr = self._udp_address(host, port)
        own = self.sock.getsockname() if self.sock is not None else None
        if own is not None and port == own[1] and (addr[0] == own[0] or own[0] == "0.0.0.0" or addr[0] == "0.0.0.0"
                                                   or addr[0].startswith("127.") and own[0].startswith("127.")):
            raise UserError("cannot subscribe the service to its own port")
        sender = _sender_host(reply)
        if sender is not None and not _same_host(sender, addr[0]):
            raise UserError(f"a client can subscribe only its own host ({sender}), not {addr[0]}")
        owners = frozenset({addr[0]} | ({reply.host} if isinstance(reply, UdpReply) else set()))
        self.add_sink(("udp",) + addr, Sink(self.udp_reply(addr), kind, group="udp", owners=owners,
                                            expires=time.monotonic() + self.scfg.subscription_seconds),
                      origin=_origin(reply))

    def on_stream_unsubscribe(self, host, port, reply=None):
        """Over UDP, only the subscribed host itself, or the host that subscribed it, may
        unsubscribe it (a client's one-shot tools send from other ports); in-process callers and
        the viewer's pages (on this machine, or holding the token) may."""
        addr = self._udp_address(host, port)
        sink = self.sinks.get(("udp",) + addr)
        if sink is None:
            raise UserError(f"{host}:{port} is not subscribed")
        if isinstance(reply, UdpReply) and not any(_same_host(reply.host, owner) for owner in sink.owners):
            raise UserError(f"only the host of {addr[0]}:{addr[1]} (or the host that subscribed it) can unsubscribe it")
        self.remove_sink(("udp",) + addr, origin=_origin(reply))

    def _set_service(self, **changes) -> None:
        self.scfg = dataclasses.replace(self.scfg, **changes)

    def on_stream_frame_rate(self, fps, reply=None):
        self._set_service(frame_rate=fps)

    def on_stream_format(self, fmt, reply=None):
        self._set_service(format=fmt)

    def on_stream_source(self, source, reply=None):
        self._set_service(source=source)

    def on_stream_max_datagram(self, size, reply=None):
        self._set_service(max_datagram=size)

    def on_stream_summary_top(self, k, reply=None):
        self._set_service(summary_top=k)

    # requests
    def on_layout_request(self, chunks, reply=None):
        """The layout (or some of its chunks) to the sender and its host's subscriptions, within the
        sender's reply budget, paced (``pacing.py``)."""
        datagrams = self.layout_datagrams(chunks)
        targets = self.sinks.request_targets(reply, datagrams)
        if targets is None:
            raise UserError("layout requested too often; try again in a few seconds")
        if not self.paced.submit(targets, datagrams):
            raise UserError("layout requests come faster than the layout can be sent; ask again in a moment")

    # access
    def on_auth(self, token, reply=None):
        """A remote sender identifies itself with the shared token (service/access.py)."""
        if not self.access.remote:
            return  # nothing to authorize: only this machine can reach the service
        if not self.access.check_token(token):
            raise UserError("wrong token")
        host = _sender_host(reply)
        if host is not None:
            self.access.authorize(host)

    def on_status_request(self, reply=None):
        self.sinks.reply_many(reply, [self.status_datagram()])


for _name, *_ in OPTIMIZE_FIELDS:  # /immersions/optimize/<field> -> generator.set_params(<field>=value)
    def _make(name):
        def handler(self, value, reply=None):
            self.generator.set_params(**{name: bool(value) if name == "normalize_gradient" else value})
        handler.__name__ = f"on_optimize_{name}"
        return handler
    setattr(ControlHandlers, f"on_optimize_{_name}", _make(_name))


def _sender_host(reply) -> "str | None":
    """The IP address a reply goes to (a UDP sender, a viewer page); None for in-process callers."""
    return getattr(reply, "host", None) if reply is not None else None


def _describe_sender(reply) -> str:
    addr = getattr(reply, "addr", None)
    return f"{addr[0]}:{addr[1]}" if addr else "?"


def _same_host(a: str, b: str) -> bool:
    try:
        ia, ib = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return a == b
    return ia == ib or (ia.is_loopback and ib.is_loopback)


def check_dispatch() -> list[str]:
    """Controls without a handler (should be none; a test checks)."""
    return [c.address for c in CONTROLS if not callable(getattr(ControlHandlers, c.handler, None))]


def _origin(reply) -> str:
    addr = getattr(reply, "addr", None)  # a UDP sender (sinks.UdpReply)
    return f"{addr[0]}:{addr[1]}" if addr else ""
