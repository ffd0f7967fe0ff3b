"""What each control does: one ``on_<address>`` method per row of the control table
(``/immersions/player/volume`` -> ``on_player_volume``), with arguments already checked by
:func:`.controls.parse_args`.  A handler raises UserError for a request that cannot be met (the
dispatcher answers it with ``/immersions/error``).

``ControlHandlers`` is a part of :class:`~.server.Service`: it changes the service's targets,
generator, player, sinks and settings.
"""
from __future__ import annotations

import dataclasses
import socket

import torch

from ..errors import UserError
from ..optimize.start import fit_length, start_clip
from ..optimize.targets import Target, check_targets, neuron_mask
from .controls import CONTROLS, OPTIMIZE_FIELDS
from .sinks import MAX_SINKS, Sink


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
        previous = self.generator.current_loop()
        self.generator.set_start(start_clip(kind, self.loop_samples, self.sample_rate, self.rng.randrange(1 << 30),
                                            previous=previous))

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
        self.loop_samples = int(seconds * self.sample_rate)
        self.generator.set_start(fit_length(self.generator.current_loop(), self.loop_samples))

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
        addr = self._udp_address(host, port)
        own = self.sock.getsockname() if self.sock is not None else None
        if own is not None and port == own[1] and (addr[0] == own[0] or own[0] == "0.0.0.0" or addr[0] == "0.0.0.0"
                                                   or addr[0].startswith("127.") and own[0].startswith("127.")):
            raise UserError("cannot subscribe the service to its own port")
        self.add_sink(("udp",) + addr, Sink(self.udp_reply(addr), kind), limit=MAX_SINKS, origin=_origin(reply))

    def on_stream_unsubscribe(self, host, port, reply=None):
        addr = self._udp_address(host, port)
        if ("udp",) + addr not in self.sinks:
            raise UserError(f"{host}:{port} is not subscribed")
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
        datagrams = self.layout_datagrams(chunks)
        if not self.paced.submit(self.sinks.reply_targets(reply), datagrams):
            raise UserError("layout requests come faster than the layout can be sent; ask again in a moment")

    def on_status_request(self, reply=None):
        self._reply(reply, self.status_datagram())


for _name, *_ in OPTIMIZE_FIELDS:  # /immersions/optimize/<field> -> generator.set_params(<field>=value)
    def _make(name):
        def handler(self, value, reply=None):
            self.generator.set_params(**{name: bool(value) if name == "normalize_gradient" else value})
        handler.__name__ = f"on_optimize_{name}"
        return handler
    setattr(ControlHandlers, f"on_optimize_{_name}", _make(_name))


def check_dispatch() -> list[str]:
    """Controls without a handler (should be none; a test checks)."""
    return [c.address for c in CONTROLS if not callable(getattr(ControlHandlers, c.handler, None))]


def _origin(reply) -> str:
    addr = getattr(reply, "addr", None)  # a UDP sender (sinks.UdpReply)
    return f"{addr[0]}:{addr[1]}" if addr else ""
