"""The SuperCollider and Pure Data examples that browse a layer of the gallery
(the Quark's examples/gallery_browse.scd, immersions_osc/clients/pd/immersions/gallery_browse.pd): what they send is in the control table
with its argument types, and run headless against a stand-in service (a UDP socket here that
answers like the service) they ask for a channel's examples, print the answer and play example 0."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading

import pytest

from immersions_osc.osc.controls import CONTROL_BY_ADDRESS, MESSAGES
from immersions_osc.osc.protocol import decode_packet, encode_message

from fixtures import REPO

SCLANG = shutil.which("sclang")
PD = shutil.which("pd")
SCD = os.path.join(REPO, "immersions_osc", "clients", "supercollider", "Immersions", "examples", "gallery_browse.scd")
PDP = os.path.join(REPO, "immersions_osc", "clients", "pd", "immersions", "gallery_browse.pd")


def test_the_examples_send_what_the_table_declares():
    scd = open(SCD, encoding="utf-8").read()
    sent = re.findall(r"sendMsg\('(/immersions/[^']+)', ([^)]*)\)", scd)
    assert {a for a, _ in sent} == {"/immersions/gallery/examples", "/immersions/gallery/audition"}
    for address, args in sent:
        assert len(args.split(",")) == len(CONTROL_BY_ADDRESS[address].args), address
    heard = set(re.findall(r"'(/immersions/[^']+)'\);", scd))
    assert heard <= {m.address for m in MESSAGES}
    lines = open(PDP, encoding="utf-8").read().split(";\n")
    boxes = [line for line in lines if line.startswith(("#X obj", "#X msg", "#X text"))]
    formats = [re.search(r"oscformat -f (\w+) (.*)$", b).groups() for b in boxes if "oscformat" in b]
    assert formats
    for types, path in formats:
        control = CONTROL_BY_ADDRESS["/" + path.strip().replace(" ", "/")]
        assert types == "".join(a.type for a in control.args), path
    for line in lines:  # every connection joins boxes that exist
        m = re.match(r"#X connect (\d+) (\d+) (\d+) (\d+)", line)
        if m:
            assert int(m.group(1)) < len(boxes) and int(m.group(3)) < len(boxes), line


class StandIn:
    """A UDP socket that answers /immersions/gallery/examples with two examples, like the service
    (to the sender), and records everything it gets."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got: list[tuple[str, list]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            for address, _, args in decode_packet(data):
                self.got.append((address, args))
                if address == "/immersions/gallery/examples":
                    layer, channel = args
                    for rank in range(2):
                        self.sock.sendto(encode_message("/immersions/gallery/example", "siisfff",
                                                        [layer, channel, rank, f"/music/song{rank}.ogg",
                                                         12.5 + rank, 4.09, 0.25 - 0.1 * rank]), addr)

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.mark.skipif(not SCLANG, reason="SuperCollider is not installed (apt-get install supercollider-language)")
def test_supercollider_browses_a_layer(tmp_path):
    service = StandIn()
    try:
        env = dict(os.environ, IMMERSIONS_PORT=str(service.port), IMMERSIONS_GALLERY_LAYER="encoder.blocks.2.relu1",
                   IMMERSIONS_GALLERY_CHANNELS="2", IMMERSIONS_GALLERY_SECONDS="0.2", IMMERSIONS_GALLERY_QUIT="1",
                   QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1", HOME=str(tmp_path))
        proc = subprocess.run(["nice", "-n", "10", SCLANG, SCD], env=env, cwd=str(tmp_path), capture_output=True,
                              text=True, timeout=120)
    finally:
        service.close()
    out = proc.stdout + proc.stderr
    assert ("/immersions/gallery/examples", ["encoder.blocks.2.relu1", 0]) in service.got, out[-3000:]
    assert ("/immersions/gallery/audition", ["encoder.blocks.2.relu1", 1, 0]) in service.got, out[-3000:]
    assert re.search(r"^gallery: encoder.blocks.2.relu1 ch 1 #1 /music/song1.ogg @ 13.5 s", out, re.M), out[-3000:]
    assert "gallery: done" in out


@pytest.mark.skipif(not PD, reason="Pure Data is not installed (apt-get install puredata-core)")
def test_pure_data_browses_a_layer(tmp_path):
    from service_harness import free_udp_port

    service = StandIn()
    driver = tmp_path / "driver.pd"
    driver.write_text("#N canvas 0 0 400 300 12;\n#X obj 10 10 loadbang;\n#X obj 10 40 delay 300;\n"
                      "#X msg 10 70 \\; gallery-next bang;\n#X obj 10 100 delay 600;\n#X msg 10 130 \\; gallery-next bang;\n"
                      "#X obj 10 160 delay 1500;\n#X msg 10 190 \\; pd quit;\n"
                      "#X connect 0 0 1 0;\n#X connect 1 0 2 0;\n#X connect 0 0 3 0;\n#X connect 3 0 4 0;\n"
                      "#X connect 0 0 5 0;\n#X connect 5 0 6 0;\n")
    try:
        proc = subprocess.run(["nice", "-n", "10", PD, "-nogui", "-nosound", "-nomidi", "-nrt", "-stderr",
                               "-open", PDP, "-open", str(driver),
                               "-send", f"gallery-service 127.0.0.1 {service.port} {free_udp_port()}",
                               "-send", "gallery-layer symbol ar.blocks.3.relu"],
                              capture_output=True, text=True, timeout=60)
    finally:
        service.close()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    examples = [a for a, args in service.got if a == "/immersions/gallery/examples"]
    assert ("/immersions/gallery/examples", ["ar.blocks.3.relu", 0]) in service.got, (service.got, out[-3000:])
    assert ("/immersions/gallery/examples", ["ar.blocks.3.relu", 1]) in service.got, (service.got, out[-3000:])
    assert ("/immersions/gallery/audition", ["ar.blocks.3.relu", 1, 0]) in service.got and len(examples) == 2
    assert re.search(r"^gallery-example: ar.blocks.3.relu 1 1 /music/song1.ogg 13.5", out, re.M), out[-3000:]
