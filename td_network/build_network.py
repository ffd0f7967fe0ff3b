# Builds the Immersions network in TouchDesigner.  Run it once, in the Textport
# (Dialogs > Textport and DATs), with the path of your copy of the repository:
#
#     import runpy; runpy.run_path(r'/path/to/immersions-osc/td_network/build_network.py')
#
# It creates /project1/immersions (a Base COMP) holding:
#
#   osc_in  (OSC In DAT, port 57140)  --callbacks-->  osc_in_callbacks  (feeds the decoder)
#   activations (Script CHOP)         --callbacks-->  chop_callbacks    (one sample per neuron)
#   neurons (Geometry COMP)  instancing one small square per neuron at tx, ty, coloured r, g, b
#   cam, render (Render TOP), glow (GLSL TOP, optional soft glow), out (Null TOP: your picture)
#   osc_out (OSC Out DAT -> the service, port 57130): sends the subscribe + layout request
#   renew (Execute DAT, every frame): renews the subscription every 5 s and re-requests the layout
#       after a service restart (td_network/session.py), so the picture comes back by itself
#
# The decoding (reassembling the chunked activation blobs) is done by the immersions_osc package,
# so the repository folder is put on TouchDesigner's Python path; it needs numpy only (TD ships it).
#
# No picture?  The service must know where to send: the renew DAT subscribes every 5 s (check the
# Textport for errors; op('/project1/immersions/subscribe').run() does it by hand).  Another machine?  Set the Host parameter of
# /project1/immersions to this computer's address as the service sees it, and Service Host to the
# service's.

import os
import sys

try:
    op  # inside TouchDesigner's Textport these are globals already
except NameError:  # run as a module (runpy): take them from the td module
    from td import *  # noqa: F401,F403  (op, baseCOMP, oscinDAT, ...)

try:
    REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
except NameError:  # pasted into a Text DAT: set IMMERSIONS_REPO or edit this line
    REPO = os.environ.get('IMMERSIONS_REPO', '')

SERVICE_PORT = 57130  # where the service listens (docs/osc.md)
LISTEN_PORT = 57140  # where this network listens for the streams
LAYOUT_FILE = os.path.join(REPO, 'checkpoints', 'small_layout.npz')

GLOW_SHADER = '''// soft glow: the picture plus a blurred copy of itself
uniform float uGlow;
out vec4 fragColor;
void main()
{
    vec2 px = 1.0 / uTD2DInfos[0].res.zw;
    vec4 sum = vec4(0.0);
    for (int x = -3; x <= 3; x++)
        for (int y = -3; y <= 3; y++)
            sum += texture(sTD2DInputs[0], vUV.st + vec2(x, y) * px * 2.0);
    vec4 base = texture(sTD2DInputs[0], vUV.st);
    fragColor = TDOutputSwizzle(base + uGlow * sum / 49.0);
}
'''


def read(name):
    with open(os.path.join(REPO, 'td_network', name)) as f:
        return f.read()


def on_path(text):
    """A DAT's Python with the repository put on sys.path first: the DATs import immersions_osc and
    td_network, also after the project is saved and opened again (sys.path starts afresh then)."""
    return ("import sys  # added by build_network.py\n"
            "if %r not in sys.path:\n"
            "    sys.path.insert(0, %r)\n\n" % (REPO, REPO)) + text


def setpar(node, name, value):
    """Set a parameter if this TouchDesigner version has it (names differ between builds)."""
    par = getattr(node.par, name, None)
    if par is None:
        print('immersions: %s has no parameter %r (skipped)' % (node.path, name))
        return
    par.val = value


RENEW_SCRIPT = """# Every frame: renew the subscription every few seconds, re-request the layout after a service
# restart (td_network/session.py).
from td_network import session


def onFrameStart(frame):
    session.tick(me.parent())
    return
"""


def subscribe(comp):
    """Subscribe and ask for the layout and the status now (what the 'subscribe' DAT runs)."""
    from td_network import session
    session.perform(comp, ['subscribe', 'layout', 'status'])


def build(parent_path='/project1', name='immersions'):
    if not REPO or not os.path.isdir(os.path.join(REPO, 'immersions_osc')):
        raise RuntimeError('set REPO (or the IMMERSIONS_REPO environment variable) to the repository folder')
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    import immersions_osc.osc.decoder  # noqa: F401  (fails here, loudly, if numpy is missing)
    import td_network.session  # noqa: F401

    parent = op(parent_path)
    old = parent.op(name)
    if old is not None:
        old.destroy()
    comp = parent.create(baseCOMP, name)

    # settings a performer may change, on the Immersions page of the Base COMP
    page = comp.appendCustomPage('Immersions')
    page.appendStr('Servicehost', label='Service Host')[0].val = '127.0.0.1'
    page.appendInt('Serviceport', label='Service Port')[0].val = SERVICE_PORT
    page.appendStr('Host', label='Host (this computer, as the service sees it)')[0].val = '127.0.0.1'
    page.appendInt('Listenport', label='Listen Port')[0].val = LISTEN_PORT
    page.appendStr('Token', label='Token (a service started with --allow-remote)')[0].val = ''
    page.appendInt('Viewerport', label="Viewer Port (the service's --web-port: layout over HTTP; 0 = OSC)")[0].val = 0
    page.appendFile('Layoutfile', label='Layout File')[0].val = LAYOUT_FILE
    gain = page.appendFloat('Gain', label='Brightness Gain')[0]
    gain.default = 1.0
    gain.val = 1.0  # a new parameter's value is 0 whatever its default: set both (0 = black picture)
    gain.normMin, gain.normMax = 0.0, 4.0
    gain.clampMin, gain.min = True, 0.0

    # receiving: OSC In DAT -> callbacks -> the package's decoder
    callbacks = comp.create(textDAT, 'osc_in_callbacks')
    callbacks.text = on_path(read('osc_in_callbacks.py'))
    osc_in = comp.create(oscinDAT, 'osc_in')
    osc_in.par.port.expr = "parent().par.Listenport"
    setpar(osc_in, 'callbacks', callbacks.name)
    setpar(osc_in, 'maxlines', 10)  # do not keep thousands of rows of blobs

    # one sample per neuron
    chop_callbacks = comp.create(textDAT, 'chop_callbacks')
    chop_callbacks.text = on_path(read('script_chop_callbacks.py'))
    activations = comp.create(scriptCHOP, 'activations')
    setpar(activations, 'callbacks', chop_callbacks.name)

    # the picture: one instanced square per neuron
    geo = comp.create(geometryCOMP, 'neurons')
    for child in list(geo.children):
        child.destroy()
    shape = geo.create(rectangleSOP, 'dot')
    setpar(shape, 'sizex', 0.012)
    setpar(shape, 'sizey', 0.012)
    shape.render = True
    shape.display = True
    material = comp.create(constantMAT, 'dot_colour')
    setpar(geo, 'material', material.name)
    setpar(geo, 'instancing', True)
    setpar(geo, 'instanceop', activations.name)
    setpar(geo, 'instancetx', 'tx')
    setpar(geo, 'instancety', 'ty')
    setpar(geo, 'instancecolorop', activations.name)
    setpar(geo, 'instancer', 'r')
    setpar(geo, 'instanceg', 'g')
    setpar(geo, 'instanceb', 'b')
    cam = comp.create(cameraCOMP, 'cam')
    setpar(cam, 'tz', 2.6)
    render = comp.create(renderTOP, 'render')
    setpar(render, 'camera', cam.name)
    setpar(render, 'geometry', geo.name)
    setpar(render, 'resolutionw', 1280)
    setpar(render, 'resolutionh', 1280)
    setpar(render, 'bgcolorr', 0)
    setpar(render, 'bgcolorg', 0)
    setpar(render, 'bgcolorb', 0)

    # optional glow (set Glow to 0 on the glow TOP to switch it off)
    shader = comp.create(textDAT, 'glow_shader')
    shader.text = GLOW_SHADER
    glow = comp.create(glslTOP, 'glow')
    glow.inputConnectors[0].connect(render)
    setpar(glow, 'pixeldat', shader.name)
    setpar(glow, 'uniname0', 'uGlow')
    setpar(glow, 'value0x', 1.5)
    out = comp.create(nullTOP, 'out')
    out.inputConnectors[0].connect(glow)

    # sending: the subscription, renewed by the 'renew' Execute DAT every few seconds
    osc_out = comp.create(oscoutDAT, 'osc_out')
    osc_out.par.address.expr = "parent().par.Servicehost"
    osc_out.par.port.expr = "parent().par.Serviceport"
    resubscribe = comp.create(textDAT, 'subscribe')
    resubscribe.text = on_path("# run me to subscribe now (the 'renew' DAT does it every few seconds anyway)\n"
                               "from td_network import session\n"
                               "session.perform(parent(), ['subscribe', 'layout', 'status'])\n")
    renew = comp.create(executeDAT, 'renew')
    renew.text = on_path(RENEW_SCRIPT)
    setpar(renew, 'framestart', True)
    setpar(renew, 'active', True)
    subscribe(comp)

    for i, node in enumerate([callbacks, osc_in, chop_callbacks, activations, geo, material, cam, render, shader,
                              glow, out, osc_out, resubscribe, renew]):
        node.nodeX, node.nodeY = 200 * (i % 5), -150 * (i // 5)
    print('immersions: built %s, listening on %d; the picture is %s' % (comp.path, LISTEN_PORT, out.path))
    return comp


if __name__ in ('__main__', '<run_path>'):  # runpy.run_path(...) from the Textport
    build()
