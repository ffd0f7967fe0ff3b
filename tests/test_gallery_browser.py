"""The gallery in the viewer, in headless Chromium against the real service in process: clicking
a neuron shows its channel's examples and plays the best one (a WAV from the viewer's server),
hovering shows its percentile now, the layer gallery shows every channel of the layer, and the
server never opens a path a client names."""
import json
import urllib.error
import urllib.request

import pytest

from browser import Chromium, find_chromium
from service_harness import running_viewer
from test_gallery_service import make_gallery

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_chromium() is None,
                                 reason="Chromium is not installed (apt-get install chromium)")]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    path = make_gallery(tmp_path_factory.mktemp("gallery_browser"), loops=("encoder.blocks.0.relu1",))
    yield from running_viewer(gallery=path)


@pytest.fixture(scope="module")
def page(web):
    browser = Chromium(1200, 800, extra_args=("--autoplay-policy=no-user-gesture-required",))
    try:
        browser.navigate(web.url)
        browser.wait_for("window.viewer && window.viewer.stats.frames >= 1 && window.viewer.gallery", timeout=60)
        yield browser
    finally:
        if browser.console:
            print("browser console:\n  " + "\n  ".join(browser.console[-30:]))
        browser.close()


def _point_of(page, index):
    """Viewport coordinates of neuron ``index`` as drawn."""
    return page.evaluate(f"""(() => {{
        const r = document.getElementById('overlay').getBoundingClientRect(), p = viewer.screenPoints();
        return [r.left + p[{2 * index}], r.top + p[{2 * index + 1}], p[{2 * index}], p[{2 * index + 1}]];
    }})()""")


def test_click_a_neuron_shows_its_examples_and_plays_audio(page, web):
    service = web.service
    layer = service.vector.layer_names[-1]
    index = int(service.vector.offsets[service.vector.layer_names.index(layer)]) + 7  # a 1D layer: channel 7
    x, y, cx, cy = _point_of(page, index)
    picked = page.evaluate(f"viewer.nearest({cx}, {cy})")  # the neuron drawn there (points may overlap)
    page.drag([(x, y)])  # a click
    current = page.wait_for("viewer.gallery.current && viewer.gallery.current.index", timeout=20)
    assert current == picked
    nrn = page.evaluate("viewer.gallery.current")
    expected = service.gallery.examples(nrn["layer"], nrn["channel"])
    assert [e["rank"] for e in nrn["data"]["examples"]] == [e.rank for e in expected] and expected
    assert page.evaluate("document.querySelectorAll('#gallery-examples li').length") == len(expected) + 1
    assert f"channel {nrn['channel']}" in page.evaluate("document.getElementById('gallery-neuron').textContent")
    # the best example plays: the audio element got the example's WAV and its clock advances
    src = page.evaluate("viewer.gallery.audio.src")
    assert "gallery/example.wav" in src and "rank=0" in src
    page.wait_for("viewer.gallery.audio.currentTime > 0.2 && !viewer.gallery.audio.paused", timeout=20)
    head = page.evaluate("fetch(viewer.gallery.audio.src).then(r => r.arrayBuffer()).then(b => "
                         "String.fromCharCode(...new Uint8Array(b.slice(0, 4))) + ' ' + b.byteLength)")
    assert head.startswith("RIFF ") and int(head.split()[1]) > 44100
    # the percentile now is shown (a gallery is loaded and frames flow)
    assert nrn["data"]["loaded"] and nrn["data"]["percentile"] is not None


def test_hover_shows_percentile_and_layer_gallery(page, web):
    service = web.service
    index = int(service.vector.offsets[len(service.vector.layer_names) // 2]) + 3
    x, y, _, _ = _point_of(page, index)
    page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x + 1, "y": y, "buttons": 0})
    text = page.wait_for("!document.getElementById('tooltip').hidden && "
                         "document.getElementById('tooltip').textContent.includes('percentile now') && "
                         "document.getElementById('tooltip').textContent", timeout=20)
    assert "channel" in text
    layer = page.evaluate("viewer.gallery.current ? viewer.gallery.current.layer : null")
    if layer is None:  # this test alone: pick a neuron first
        page.evaluate("viewer.gallery.select(3, false)")
        layer = page.wait_for("viewer.gallery.current && viewer.gallery.current.layer")
    page.evaluate("document.getElementById('gallery-layer').click()")
    page.wait_for("!document.getElementById('gallery-view').hidden", timeout=20)
    cells = page.evaluate("document.querySelectorAll('#gallery-grid .cell').length")
    assert cells == service.vector.shapes[layer][0]
    # a layer with rendered loops: each channel's loop scaleogram beside its examples
    page.evaluate("viewer.gallery.showLayer('encoder.blocks.0.relu1')")
    page.wait_for("document.getElementById('gallery-title').textContent.startsWith('encoder.blocks.0.relu1')")
    shown = page.wait_for("(() => { const im = [...document.querySelectorAll('#gallery-grid .cell img')]; "
                          "return im.length && im.every(i => i.complete && i.naturalWidth > 0) && im.length; })()",
                          timeout=30)
    assert shown == service.vector.shapes["encoder.blocks.0.relu1"][0]


def test_example_audio_is_named_never_a_path(web):
    base = web.url
    for query in ("layer=../../etc/passwd&channel=0&rank=0", "layer=x&channel=0&rank=0&path=/etc/passwd",
                  f"layer={web.service.vector.layer_names[0]}&channel=0&rank=99"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "gallery/example.wav?" + query, timeout=20)
        assert err.value.code == 404
    with urllib.request.urlopen(base + "gallery/channel.json?layer=nope&channel=0", timeout=20) as r:
        assert "error" in json.loads(r.read())
    # the viewer's rules hold here too: another web site cannot fetch the user's music
    layer0 = web.service.vector.layer_names[-1]
    request = urllib.request.Request(base + f"gallery/example.wav?layer={layer0}&channel=0&rank=0",
                                     headers={"Sec-Fetch-Site": "cross-site"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=20)
    assert err.value.code == 403
    # a rendered loop is served; a channel without one is a 404
    with urllib.request.urlopen(base + "gallery/channel.json?layer=encoder.blocks.0.relu1&channel=1", timeout=20) as r:
        loop = json.loads(r.read())["loop"]
    with urllib.request.urlopen(base + loop, timeout=20) as r:
        assert r.headers["Content-Type"] == "audio/wav" and r.read(4) == b"RIFF"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + f"gallery/loop.wav?layer={web.service.vector.layer_names[-1]}&channel=0", timeout=20)
    assert err.value.code == 404
