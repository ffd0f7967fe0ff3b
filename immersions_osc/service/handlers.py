"""What each control does: one ``on_<address>`` method per row of the control table
(``/immersions/player/volume`` -> ``on_player_volume``), called by the dispatcher with arguments
already checked by :func:`..osc.controls.parse_args` and the :class:`.dispatch.Sender`.  A
handler raises UserError for a request that cannot be met (the dispatcher answers it with
``/immersions/error``).

Every control that only sets an optimizer setting (``Control.setting`` = ``optimize.<field>``,
without an ``on_`` method here) is applied by one generic handler:
``generator.set_params(<field>=value)``.  So a new optimizer setting needs a row in the table,
not code here.

:class:`ControlHandlers` is handed the service and changes it through the service's own
operations (targets, tempo, settings, sinks); it keeps no state of its own.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import socket
import time
from typing import Callable

import numpy as np
import torch

from ..config import setting_type
from ..errors import Unanswered, UserError
from ..optimize.start import START_KINDS, start_clip
from ..optimize.targets import Target, neuron_mask
from ..osc.controls import CONTROLS, PREFIX, Control
from ..osc.protocol import encode_message
from ..audio.tempo import bars_for
from .dispatch import Sender
from .sinks import Sink

OPTIMIZE = "optimize."


class ControlHandlers:
    def __init__(self, service):
        self.service = service
        # address -> the generic setter of every optimizer setting without an on_ method
        self._setters = {c.address: self._optimize_setter(c.setting) for c in CONTROLS
                         if c.setting.startswith(OPTIMIZE) and not hasattr(self, c.handler)}

    def for_control(self, control: Control) -> Callable:
        """The callable that applies ``control``: its ``on_`` method, or the generic optimizer setter."""
        method = getattr(self, control.handler, None) or self._setters.get(control.address)
        if method is None:
            raise LookupError(f"no handler for {control.address}")
        return method

    def _optimize_setter(self, setting: str) -> Callable:
        name = setting[len(OPTIMIZE):]
        cast = bool if setting_type(setting) is bool else (lambda v: v)

        def set_param(value, sender: Sender = Sender()) -> None:
            self.service.generator.set_params(**{name: cast(value)})
        return set_param

    # --- targets ---------------------------------------------------------------------------------------
    def _layer(self, layer: str) -> str:
        vector = self.service.vector
        if layer not in vector.shapes:
            raise UserError(f"unknown layer {layer!r}; layers: {', '.join(vector.layer_names)}")
        return layer

    def on_target_layer(self, layer, weight, sender=Sender()):
        self.service.set_targets([Target(self._layer(layer), weight=weight)])

    def on_target_channel(self, layer, channel, weight, sender=Sender()):
        self.service.set_targets([Target(self._layer(layer), channels=[channel], weight=weight)])

    def on_target_channels(self, layer, channels, sender=Sender()):
        self.service.set_targets([Target(self._layer(layer), channels=sorted(set(channels)))])

    def _neuron_targets(self, neurons: list[int]) -> list[Target]:
        vector = self.service.vector
        bad = [i for i in neurons if i >= vector.size]
        if bad:
            raise UserError(f"neuron {bad[0]} out of range (0..{vector.size - 1})")
        return [Target(layer, neurons=local) for layer, local in vector.split(neurons).items()]

    def on_target_neurons(self, neurons, sender=Sender()):
        self.service.set_targets(self._neuron_targets(neurons))

    def on_target_add_neurons(self, neurons, sender=Sender()):
        s = self.service
        merged: dict[str, set[int]] = {}
        for t in s.targets + self._neuron_targets(neurons):
            local = t.neurons if t.neurons is not None else \
                torch.nonzero(neuron_mask(t, s.vector.shapes).view(-1)).view(-1).tolist()
            merged.setdefault(t.layer, set()).update(local)
        s.set_targets([Target(layer, neurons=sorted(local)) for layer, local in merged.items()])

    def on_target_weight(self, weight, sender=Sender()):
        s = self.service
        s.set_targets([dataclasses.replace(t, weight=weight) for t in s.targets])

    def on_target_random(self, sender=Sender()):
        s = self.service
        layer = s.rng.choice(s.vector.layer_names)
        s.set_targets([Target(layer, channels=[s.rng.randrange(s.vector.shapes[layer][0])])])

    # --- optimization (the optimizer settings: the generic setter above) ----------------------------------
    def on_optimize_start(self, kind, sender=Sender()):
        """silence / noise / previous at once; an audio file on the clip loader's thread (the ack
        says it was taken, an error follows if it cannot be used)."""
        s = self.service
        if kind in START_KINDS:
            previous = s.generator.current_loop()
            s.generator.set_start(start_clip(kind, s.loop_samples, s.sample_rate, s.rng.randrange(1 << 30),
                                             previous=previous))
        else:
            s.clips.request(kind, sender.reply, sender.udp_origin or "?")

    def on_optimize_run(self, on, sender=Sender()):
        self.service.generator.set_running(bool(on))

    def on_optimize_publish_every(self, steps, sender=Sender()):
        self.service.generator.publish_every = steps

    # --- player ----------------------------------------------------------------------------------------
    def on_player_volume(self, gain, sender=Sender()):
        self.service.player.volume = gain

    def on_player_play(self, on, sender=Sender()):
        self.service.player.playing = bool(on)

    def on_player_loop_seconds(self, seconds, sender=Sender()):
        s = self.service
        if s.scfg.tempo > 0:  # with a tempo: the whole number of bars nearest to it
            s.set_tempo(s.scfg.tempo, bars_for(seconds, s.scfg.tempo, s.scfg.beats_per_bar))
        else:
            s.set_settings(loop_seconds=seconds)
            s.refit()

    def on_player_tempo(self, bpm, sender=Sender()):
        s = self.service
        s.set_tempo(bpm, s.scfg.bars)
        if s.link is not None and bpm > 0:
            s.link.commit_tempo(bpm)

    def on_player_bars(self, bars, sender=Sender()):
        s = self.service
        if s.scfg.tempo <= 0:
            raise UserError("set a tempo first (/immersions/player/tempo bpm): bars need one")
        s.set_tempo(s.scfg.tempo, bars)

    def on_player_crossfade_ms(self, ms, sender=Sender()):
        self.service.player.set_crossfade(ms)

    def on_player_sync(self, sender=Sender()):
        """A bar line now, or at the bundle's time tag (a wall-clock time, here on the monotonic clock)."""
        s = self.service
        now = time.monotonic()
        bar_time = now if sender.when is None else now + (sender.when - time.time())
        s.barsync.sync(bar_time)

    def on_player_latency_offset(self, ms, sender=Sender()):
        self.service.set_settings(latency_offset_ms=float(ms))

    # --- streams ---------------------------------------------------------------------------------------
    @staticmethod
    def _udp_address(host: str, port: int) -> tuple[str, int]:
        try:
            return socket.gethostbyname(host), port
        except (OSError, UnicodeError):
            raise UserError(f"cannot resolve host {host!r}") from None

    def on_stream_subscribe(self, host, port, kind, sender=Sender()):
        """Subscribe (or renew: the same message again) ``host:port`` for ``subscription_seconds``.
        A UDP sender, or a viewer page, may subscribe only an address of its own host (no streaming
        to a third party)."""
        s = self.service
        addr = self._udp_address(host, port)
        own = s.sock.getsockname() if s.sock is not None else None
        if own is not None and port == own[1] and (addr[0] == own[0] or own[0] == "0.0.0.0" or addr[0] == "0.0.0.0"
                                                   or addr[0].startswith("127.") and own[0].startswith("127.")):
            raise UserError("cannot subscribe the service to its own port")
        if sender.host is not None and not _same_host(sender.host, addr[0]):
            raise UserError(f"a client can subscribe only its own host ({sender.host}), not {addr[0]}")
        owners = frozenset({addr[0]} | ({sender.udp[0]} if sender.udp else set()))
        s.add_sink(("udp",) + addr, Sink(s.udp_reply(addr), kind, group="udp", owners=owners,
                                         expires=time.monotonic() + s.scfg.subscription_seconds),
                   origin=sender.udp_origin)

    def on_stream_unsubscribe(self, host, port, sender=Sender()):
        """Over UDP, only the subscribed host itself, or the host that subscribed it, may
        unsubscribe it (a client's one-shot tools send from other ports); in-process callers and
        the viewer's pages (on this machine, or holding the token) may."""
        s = self.service
        addr = self._udp_address(host, port)
        sink = s.sinks.get(("udp",) + addr)
        if sink is None:
            raise UserError(f"{host}:{port} is not subscribed")
        if sender.udp and not any(_same_host(sender.udp[0], owner) for owner in sink.owners):
            raise UserError(f"only the host of {addr[0]}:{addr[1]} (or the host that subscribed it) can unsubscribe it")
        s.remove_sink(("udp",) + addr, origin=sender.udp_origin)

    def on_stream_frame_rate(self, fps, sender=Sender()):
        self.service.set_settings(frame_rate=fps)

    def on_stream_format(self, fmt, sender=Sender()):
        self.service.set_settings(format=fmt)

    def on_stream_source(self, source, sender=Sender()):
        self.service.set_settings(source=source)

    def on_stream_max_datagram(self, size, sender=Sender()):
        self.service.set_settings(max_datagram=size)

    def on_stream_summary_top(self, k, sender=Sender()):
        self.service.set_settings(summary_top=k)

    # --- requests --------------------------------------------------------------------------------------
    def on_layout_request(self, chunks, sender=Sender()):
        """The layout (or some of its chunks) to the sender and its host's subscriptions, within the
        sender's reply budget, paced (``pacing.py``)."""
        s = self.service
        datagrams = s.stream.layout_datagrams(chunks)
        targets = s.sinks.request_targets(sender.reply, datagrams)
        if targets is None:
            raise UserError("layout requested too often; try again in a few seconds")
        if not s.paced.submit(targets, datagrams):
            raise UserError("layout requests come faster than the layout can be sent; ask again in a moment")

    def on_status_request(self, sender=Sender()):
        s = self.service
        s.sinks.reply_many(sender.reply, [s.stream.status_datagram(), s.stream.audio_datagram()])

    # --- the gallery ----------------------------------------------------------------------------------
    def _gallery(self):
        gallery = self.service.gallery
        if gallery is None:
            raise UserError("no gallery loaded: make one with `immersions-osc gallery MUSIC --out DIR` and start "
                            "the service with --gallery DIR")
        return gallery

    def on_gallery_examples(self, layer, channel, sender=Sender()):
        examples = self._gallery().examples(layer, channel)
        if not examples:
            raise UserError(f"{layer} channel {channel} has no example in the gallery")
        datagrams = [encode_message(f"{PREFIX}/gallery/example", "siisfff",
                                    [layer, channel, e.rank, e.origin, e.start, e.seconds, e.activation])
                     for e in examples]
        if not self.service.sinks.reply_many(sender.reply, datagrams) and sender.reply is not None:
            raise UserError("examples requested too often; try again in a moment")

    def on_gallery_audition(self, layer, channel, example, sender=Sender()):
        """The example (or rendered loop) is read on the gallery loader's thread: the ack says the
        request was taken, an error follows if its file cannot be read."""
        s, gallery = self.service, self._gallery()
        gallery.row(layer, channel)  # a clear error for an unknown layer or channel, now
        if example < 0 and not gallery.has_loop(layer, channel):  # no rendered loop: the live optimizer makes it
            s.set_targets([Target(self._layer(layer), channels=[channel])])
            s.generator.set_running(True)
            return
        if example >= 0:
            gallery.example(layer, channel, example)  # one that exists
        s.play_gallery(layer, channel, example, sender.reply, sender.udp_origin or "?")

    def on_gallery_percentiles_request(self, layer, sender=Sender()):
        s, gallery = self.service, self._gallery()
        gallery.row(layer, 0)
        values = s.channel_values()
        if values is None:
            raise UserError("no activation frame yet")
        p = gallery.layer_percentiles({layer: values[layer]})[layer]
        datagram = encode_message(f"{PREFIX}/gallery/percentiles", "s" + "f" * len(p),
                                  [layer, *np.nan_to_num(p, nan=0.0).tolist()])
        s.sinks.reply_many(sender.reply, [datagram])

    # --- access ----------------------------------------------------------------------------------------
    def on_auth(self, token, sender=Sender()):
        """A remote sender identifies itself with the shared token (service/access.py)."""
        access = self.service.access
        if not access.remote:
            return  # nothing to authorize: only this machine can reach the service
        if not access.check_token(token, sender.host):
            access.refused += 1
            raise Unanswered("wrong token")  # dropped: logged, never answered (docs/osc.md)
        if sender.host is not None:
            access.authorize(sender.host)


def _same_host(a: str, b: str) -> bool:
    try:
        ia, ib = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return a == b
    return ia == ib or (ia.is_loopback and ib.is_loopback)


def check_dispatch() -> list[str]:
    """Controls without a handler (should be none; a test checks)."""
    handlers = ControlHandlers(None)
    missing = []
    for c in CONTROLS:
        try:
            handlers.for_control(c)
        except LookupError:
            missing.append(c.address)
    return missing
