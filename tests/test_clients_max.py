"""The Max abstraction's logic, run by a small interpreter of the Max objects it uses (tests/max_sim.py):
Max cannot run here, but its patch cords, outlet numbers, hot/cold inlets and the learn mode's steps
can.  What it sends is read where Max would send it: [udpsend]."""
import math
import os
import random

import pytest

from max_sim import Sim
from service_harness import REPO

PATCH = os.path.join(REPO, "immersions_osc", "clients", "max", "Immersions", "patchers", "immersions.maxpat")


@pytest.fixture
def sim():
    s = Sim(PATCH)
    s.load()
    return s


def sent_to(s, address):
    return [m[1:] for m in s.sent if m[0] == address]


def test_subscribes_on_load_renews_and_unsubscribes_when_closed():
    s = Sim(PATCH, "@listen 57134 @myhost 10.0.0.5")
    s.load()
    assert s.listen_port == 57134
    assert sent_to(s, "/immersions/stream/subscribe") == [["10.0.0.5", 57134, "summary"]]
    s.tick()
    s.tick()
    assert len(sent_to(s, "/immersions/stream/subscribe")) == 3  # renewed every period
    s.close()
    assert sent_to(s, "/immersions/stream/unsubscribe") == [["10.0.0.5", 57134]]
    # the defaults: no token, no auth
    d = Sim(PATCH)
    d.load()
    assert d.listen_port == 57133 and sent_to(d, "/immersions/stream/subscribe") == [["127.0.0.1", 57133, "summary"]]
    assert not sent_to(d, "/immersions/auth")


def test_a_token_goes_before_every_subscribe():
    """A service on another machine (--allow-remote): /immersions/auth <token> before each subscribe."""
    s = Sim(PATCH, "@host 192.168.1.20 @myhost 192.168.1.30 @token s3cret")
    s.load()
    s.tick()
    s.send_inlet(1, "subscribe")
    session = [m for m in s.sent if m[0] in ("/immersions/auth", "/immersions/stream/subscribe")]
    assert session == [["/immersions/auth", "s3cret"], ["/immersions/stream/subscribe", "192.168.1.30", 57133, "summary"]] * 3
    assert s.udpsend["host"] == "192.168.1.20"


def test_controls_by_name_and_raw_osc(sim):
    sim.send_inlet(1, "volume 0.8")
    sim.send_inlet(1, "play 1")
    sim.send_inlet(1, "random")
    sim.send_inlet(1, "noise")
    sim.send_inlet(1, "layer encoder.blocks.3.relu2")
    sim.send_inlet(1, "/immersions/optimize/publish_every 20")
    assert sim.sent[-6:] == [["/immersions/player/volume", 0.8], ["/immersions/player/play", 1],
                             ["/immersions/target/random"], ["/immersions/optimize/start", "noise"],
                             ["/immersions/target/layer", "encoder.blocks.3.relu2"],
                             ["/immersions/optimize/publish_every", 20]]
    assert isinstance(sim.sent[-6][1], float) and isinstance(sim.sent[-5][1], int)


def test_cc_mappings(sim):
    rng = random.Random(5)
    for value in rng.sample(range(128), 6):
        sim.send_inlet(1, f"cc 83 {value}")
        assert sim.sent[-1][0] == "/immersions/optimize/learning_rate"
        assert sim.sent[-1][1] == pytest.approx(1e-4 * 1000 ** (value / 127), rel=1e-9)  # exponential
        sim.send_inlet(2, [81, value])  # the right inlet: CC pairs
        assert sim.sent[-1] == ["/immersions/player/volume", pytest.approx(1.5 * (value / 127) ** 2)]
    sent = len(sim.sent)
    sim.send_inlet(1, "cc 99 64")  # unmapped CC: nothing
    assert len(sim.sent) == sent


def test_learn_mode_like_supercollider(sim):
    """The next CC after 'learn' takes over the control (that move only learns); the control's old
    CC is freed; the map and the events outlet say so; an unknown name is one clear line."""
    sim.send_inlet(1, "learn learning_rate")
    sent = len(sim.sent)
    sim.send_inlet(1, "cc 20 64")
    assert len(sim.sent) == sent  # the learning move sends nothing
    sim.send_inlet(1, "cc 20 127")
    assert sim.sent[-1] == ["/immersions/optimize/learning_rate", pytest.approx(0.1)]
    sim.send_inlet(1, "cc 83 0")  # the old CC no longer does anything
    assert len(sim.sent) == sent + 1
    assert ("immersions", "CC 20 now controls learning_rate") in sim.printed
    assert sim.outlets[4][-1] == ["learned", 20, "learning_rate"]
    # learning a CC that had another control moves it: CC 81 (volume) becomes the mask
    sim.send_inlet(1, "learn mask")
    sim.send_inlet(1, "cc 81 1")
    sim.send_inlet(1, "cc 81 127")
    assert sim.sent[-1] == ["/immersions/optimize/mask", pytest.approx(1.0)]
    sim.printed.clear()
    sim.send_inlet(1, "map")
    mapped = dict(line.split()[1:3][::-1] for _, line in sim.printed if line.startswith("CC "))
    assert mapped["learning_rate"] == "20" and mapped["mask"] == "81" and "volume" not in mapped
    sim.send_inlet(1, "learn no_such_control")
    assert sim.printed[-1] == ("immersions", "learn: no control called no_such_control")
    sim.send_inlet(1, "cc 30 100")  # not learning: CC 30 stays unmapped
    assert not any(line.startswith("CC 30") for _, line in sim.printed)


def status(sim, playing, steps, volume=0.8):
    sim.receive("/immersions/status", 30.0, float(steps), 0, "encoder.blocks.3.relu2 all", 2, playing, volume, 1,
                12.0)


def test_toggles_follow_the_status(sim):
    """A button press toggles what the service does now (not a state of its own): the play and run
    buttons flip the status's values; the status comes out of outlet 2 for the UI."""
    status(sim, playing=1, steps=9.5)
    sim.send_inlet(1, "cc 66 127")
    sim.send_inlet(1, "cc 66 0")  # release: nothing
    assert sent_to(sim, "/immersions/player/play") == [[0]]
    status(sim, playing=0, steps=0.0)
    sim.send_inlet(1, "cc 66 127")
    sim.send_inlet(1, "cc 65 127")  # the optimizer is paused (0 steps/s): run 1
    assert sent_to(sim, "/immersions/player/play") == [[0], [1]]
    assert sent_to(sim, "/immersions/optimize/run") == [[1]]
    out = {m[0]: m[1:] for m in sim.outlets[2]}
    assert out["playing"] == [0] and out["volume"] == [0.8] and out["running"] == [0]
    assert out["target"] == ["encoder.blocks.3.relu2 all"] and out["connected"] == [1]
    sim.fire_delays()  # 3 s without a status
    assert sim.outlets[2][-1] == ["connected", 0]


def test_replies_come_out_of_their_outlets(sim):
    sim.receive("/immersions/ack", "/immersions/player/volume")
    sim.receive("/immersions/error", "/immersions/player/volume", "gain 3 is out of range 0..2")
    sim.receive("/immersions/loop/new", 4, 200, 4.0, "encoder.blocks.3.relu2 all")
    energies = [random.Random(2).random() * 1.4 for _ in range(25)]
    sim.receive("/immersions/summary/energy", *energies)
    assert sim.outlets[4][-3:] == [["ack", "/immersions/player/volume"],
                                   ["error", "/immersions/player/volume", "gain 3 is out of range 0..2"],
                                   ["loop", 4, 200, 4.0, "encoder.blocks.3.relu2 all"]]
    assert sim.outlets[3][-1] == energies
    assert sim.printed[-1][0] == "immersions-error"


def test_audio_input_channel(sim):
    adc = sim.of("adc~")[0]
    sim.send_inlet(1, "input 3")
    assert adc.state["channels"] == [3]
    assert any(b.box["maxclass"] == "outlet" and b.box["index"] == 1 for b in sim.boxes.values())
    assert math.isfinite(adc.x)


HELP = os.path.join(REPO, "immersions_osc", "clients", "max", "Immersions", "help", "immersions.maxhelp")


def test_help_ui_follows_the_status_and_the_energies():
    """The help's basic tab: the play toggle and the volume take the status's values without sending
    anything (so the first click flips what the service does); the multislider's size and range
    follow the live energies (which exceed 1)."""
    sim = Sim(HELP, subpatcher="basic")
    imm = sim.of("immersions")[0]
    toggles = sorted(sim.of("toggle"), key=lambda b: (b.box["patching_rect"][1], b.x))
    play, run = toggles[0], toggles[1]
    imm.out(1, ["playing", 1])
    imm.out(1, ["running", 1])
    imm.out(1, ["volume", 0.8])
    assert not sim.into_objects[0]  # set: nothing sent back
    assert play.state["v"] == 1 and run.state["v"] == 1 and sim.of("flonum")[0].state["v"] == 0.8
    sim.click(play)
    assert sim.into_objects[0] == [["play", 0]]
    energies = [1.37] + [0.2] * 24
    imm.out(2, energies)
    slider = sim.of("multislider")[0]
    assert slider.state["values"] == energies and slider.state["size"] == [25]
    assert slider.state["setminmax"] == [0.0, 1.5]  # 1.37 rounded up to a quarter
    imm.out(2, [0.3] * 25)  # smaller values later: the range stays (no jumping scale)
    assert slider.state["setminmax"] == [0.0, 1.5]
    imm.out(2, [0.1] * 12)  # another network (12 layers): size follows, the range starts again
    assert slider.state["size"] == [12] and slider.state["setminmax"] == [0.0, 0.25]
    # events: the errors are printed once (by [immersions] itself), the rest by the help
    imm.out(3, ["error", "/immersions/player/volume", "out of range"])
    imm.out(3, ["ack", "/immersions/player/volume"])
    assert sim.printed == [("immersions-events", "ack /immersions/player/volume")]


# --- one map and one socket per instance ---------------------------------------------------------------------------

def with_shared_names(text: str) -> str:
    """The patch as it was named before (issue 27): its maps called '---ccmap' / '---names'."""
    assert "#0_" in text
    return text.replace("#0_", "---")


def learn_in_one_instance(text: str, m4l_device: bool = False):
    """Two [immersions] in one Max (World); the first learns CC 20 for the learning rate.  Returns what the
    second then sends for CC 20 at 0 and for fader 3 (CC 83, its own default) at 127: its own map gives one
    learning rate of 0.1 (CC 20 is not mapped there); a map shared with the first gives 0.0001 from CC 20 and
    nothing from CC 83 (learning freed it)."""
    from max_sim import World

    world = World()
    a = Sim(PATCH, "@listen 47301", world=world, m4l_device=m4l_device, text=text)
    b = Sim(PATCH, "@listen 47302", world=world, m4l_device=m4l_device, text=text)
    a.load()
    b.load()
    a.send_inlet(1, "learn learning_rate")
    a.send_inlet(1, "cc 20 64")
    a.send_inlet(1, "cc 20 127")
    assert a.sent[-1] == ["/immersions/optimize/learning_rate", pytest.approx(0.1)]
    before = len(b.sent)
    b.send_inlet(1, "cc 20 0")
    b.send_inlet(1, "cc 83 127")
    return b.sent[before:], world


def test_each_instance_has_its_own_map():
    """#0 names the maps per instance: learning in one [immersions] leaves another's map as it was."""
    with open(PATCH) as f:
        text = f.read()
    sent, world = learn_in_one_instance(text)
    assert sent == [["/immersions/optimize/learning_rate", pytest.approx(0.1)]]  # CC 83 only: its default
    assert not world.bind_errors and sorted(world.ports) == [47301, 47302]


def test_a_shared_map_is_caught():
    """The same patch with the maps named '---' (as before): in plain Max every instance shares them, so
    the second instance's CC 20 plays the first's learned control and its own fader 3 is gone -- the
    check above would fail.  Inside a Max for Live device '---' is per device, and it passes again."""
    with open(PATCH) as f:
        old = with_shared_names(f.read())
    sent, _ = learn_in_one_instance(old)
    assert sent == [["/immersions/optimize/learning_rate", pytest.approx(1e-4)]]  # the first's map, not its own
    in_device, _ = learn_in_one_instance(old, m4l_device=True)
    assert in_device == [["/immersions/optimize/learning_rate", pytest.approx(0.1)]]


def test_nothing_binds_before_the_arguments_are_read():
    """No default port is bound: the socket is made with the @listen port given (here not the default
    57133, which another program may hold), and 'listen N' moves it."""
    from max_sim import World

    world = World()
    world.ports[57133] = "another program"
    s = Sim(PATCH, "@listen 47310", world=world)
    assert s.listen_port is None  # created, not loaded: nothing bound yet
    s.load()
    assert s.listen_port == 47310 and not world.bind_errors and world.ports[47310] is s
    assert sent_to(s, "/immersions/stream/subscribe") == [["127.0.0.1", 47310, "summary"]]
    s.send_inlet(1, "listen 47311")
    assert s.listen_port == 47311 and 47310 not in world.ports and not world.bind_errors
    assert len([b for b in s.boxes.values() if b.name == "udpreceive"]) == 1
    s.receive("/immersions/ack", "/immersions/player/volume")  # the scripted socket feeds the route
    assert s.outlets[4][-1] == ["ack", "/immersions/player/volume"]
    # the help patch beside a patch using the default: two ports, no bind error
    help_instance = Sim(PATCH, "@listen 57134", world=world)
    help_instance.load()
    assert not world.bind_errors


def test_notes_excite_a_channel_of_the_current_target_layer(sim):
    """A note picks a channel of whatever layer the service targets now (from its status, or a 'layer'
    sent from here), not of a fixed layer; before any is known, notes send nothing."""
    sim.note(40, 100)
    assert not sent_to(sim, "/immersions/target/channel")
    status(sim, playing=1, steps=3.0)  # target "encoder.blocks.3.relu2 all"
    sim.note(40, 100)
    sim.note(40, 0)  # note off: nothing
    assert sent_to(sim, "/immersions/target/channel") == [["encoder.blocks.3.relu2", 4]]
    sim.send_inlet(1, "layer ar.blocks.2.relu")
    sim.note(50, 90)
    assert sent_to(sim, "/immersions/target/channel")[-1] == ["ar.blocks.2.relu", 14]
