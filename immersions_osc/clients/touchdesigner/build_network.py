# Builds the Immersions network in TouchDesigner from the INSTALLED immersions-osc package (no
# checkout, nothing written into sys.path).  TouchDesigner's Python must find the package: either
# pip-install immersions-osc into the Python TouchDesigner uses, or add the site-packages folder it is
# installed in under Preferences > General > Python 64-bit Module Path (`immersions-osc clients
# export DIR --host td` prints that folder).  Then, in the Textport (Dialogs > Textport and DATs):
#
#     import immersions_osc.clients.touchdesigner.build_network as b; b.build('/project1/immersions')
#
# build(path, ...) creates the Base COMP at `path` (its parent must exist; a COMP already there is
# replaced) holding:
#
#   osc_in  (OSC In DAT, port Listenport)  --callbacks-->  osc_in_callbacks  (feeds the decoder)
#   activations (Script CHOP)         --callbacks-->  chop_callbacks    (one sample per neuron)
#   neurons (Geometry COMP)  instancing one small square per neuron at tx, ty, coloured r, g, b,
#       tinted by the component's Colour parameter
#   cam, render (Render TOP), glow (GLSL TOP, optional soft glow), out (Null TOP: your picture)
#   osc_out (OSC Out DAT -> the service, Servicehost:Serviceport): sends the subscribe + layout request
#   renew (Execute DAT, every frame): renews the subscription every 5 s and re-requests the layout
#       after a service restart (session.py beside this file), so the picture comes back by itself
#
# The DATs hold this folder's osc_in_callbacks.py / script_chop_callbacks.py, which import the
# package (immersions_osc.osc.decoder): the same code the tests run outside TouchDesigner.
#
# No picture?  The service must know where to send: the renew DAT subscribes every 5 s (check the
# Textport for errors; op('<path>/subscribe').run() does it by hand).  Another machine?  Set the Host
# parameter of the component to this computer's address as the service sees it, and Service Host to
# the service's.

import os

try:
    op  # inside TouchDesigner's Textport these are globals already
except NameError:  # imported as a module: take them from the td module
    from td import *  # noqa: F401,F403  (op, baseCOMP, oscinDAT, ...)

from immersions_osc.shipped import shipped_file

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = 'immersions_osc.clients.touchdesigner'  # what the DATs import (this folder, installed)
SERVICE_PORT = 57130  # where the service listens (docs/osc.md)
LISTEN_PORT = 57140  # where this network listens for the streams

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
    """One of this folder's scripts (the installed package's copy), as a DAT's text."""
    with open(os.path.join(HERE, name)) as f:
        return f.read()


def setpar(node, name, value):
    """Set a parameter if this TouchDesigner version has it (names differ between builds)."""
    par = getattr(node.par, name, None)
    if par is None:
        print('immersions: %s has no parameter %r (skipped)' % (node.path, name))
        return
    par.val = value


RENEW_SCRIPT = """# Every frame: renew the subscription every few seconds, re-request the layout after a service
# restart (immersions_osc/clients/touchdesigner/session.py of the installed package).
from immersions_osc.clients.touchdesigner import session


def onFrameStart(frame):
    session.tick(me.parent())
    return
"""

SUBSCRIBE_SCRIPT = """# run me to subscribe now (the 'renew' DAT does it every few seconds anyway)
from immersions_osc.clients.touchdesigner import session
session.perform(parent(), ['subscribe', 'layout', 'status'])
"""

# The glow's strength, on the GLSL TOP's Vectors page.  TouchDesigner's GLSL TOP documentation
# (docs.derivative.ca/GLSL_TOP, "Parameters - Vectors Page") names the sequence 'vec' with blocks
# vec0name / vec0valuex..w; builds from before the sequential parameters (2021 and older) called
# the same fields uniname0 / value0x: the first pair the node has is used.
GLOW_UNIFORM = (('vec0name', 'vec0valuex'), ('uniname0', 'value0x'))


def set_uniform(glsl, name, value):
    """Give the GLSL TOP's first vector uniform a name and value, with whichever parameter names it has."""
    for name_par, value_par in GLOW_UNIFORM:
        if getattr(glsl.par, name_par, None) is not None:
            setpar(glsl, name_par, name)
            setpar(glsl, value_par, value)
            return name_par, value_par
    print('immersions: %s has no vector uniform parameters (the glow stays off)' % glsl.path)
    return None


def subscribe(comp):
    """Subscribe and ask for the layout and the status now (what the 'subscribe' DAT runs)."""
    from immersions_osc.clients.touchdesigner import session
    session.perform(comp, ['subscribe', 'layout', 'status'])


def build(path='/project1/immersions', service_host='127.0.0.1', service_port=SERVICE_PORT, host='127.0.0.1',
          listen_port=LISTEN_PORT, colour=(1.0, 1.0, 1.0), layout_file=None):
    """Build the network into a Base COMP at ``path`` (its parent must exist; a COMP already there is
    replaced).  The arguments are the starting values of the component's custom parameters (page
    Immersions), which the network reads live: change them there afterwards."""
    import immersions_osc.osc.decoder  # noqa: F401  (fails here, loudly, if numpy is missing)

    parent_path, _, name = path.rstrip('/').rpartition('/')
    parent = op(parent_path or '/')
    if parent is None or not name:
        raise ValueError('immersions: no component %r to build into (give a path like /project1/immersions)' % path)
    old = parent.op(name)
    if old is not None:
        old.destroy()
    comp = parent.create(baseCOMP, name)

    # settings a performer may change, on the Immersions page of the Base COMP
    page = comp.appendCustomPage('Immersions')
    page.appendStr('Servicehost', label='Service Host')[0].val = service_host
    page.appendInt('Serviceport', label='Service Port')[0].val = int(service_port)
    page.appendStr('Host', label='Host (this computer, as the service sees it)')[0].val = host
    page.appendInt('Listenport', label='Listen Port')[0].val = int(listen_port)
    page.appendStr('Token', label='Token (a service started with --allow-remote)')[0].val = ''
    page.appendInt('Viewerport', label="Viewer Port (the service's --web-port: layout over HTTP; 0 = OSC)")[0].val = 0
    page.appendFile('Layoutfile', label='Layout File')[0].val = layout_file or shipped_file('small_layout.npz',
                                                                                          'checkpoints')
    gain = page.appendFloat('Gain', label='Brightness Gain')[0]
    gain.default = 1.0
    gain.val = 1.0  # a new parameter's value is 0 whatever its default: set both (0 = black picture)
    gain.normMin, gain.normMax = 0.0, 4.0
    gain.clampMin, gain.min = True, 0.0
    for par, value in zip(page.appendRGB('Colour', label='Colour (tints every neuron)'), colour):
        par.default = float(value)
        par.val = float(value)

    # receiving: OSC In DAT -> callbacks -> the package's decoder
    callbacks = comp.create(textDAT, 'osc_in_callbacks')
    callbacks.text = read('osc_in_callbacks.py')
    osc_in = comp.create(oscinDAT, 'osc_in')
    osc_in.par.port.expr = "parent().par.Listenport"
    setpar(osc_in, 'callbacks', callbacks.name)
    setpar(osc_in, 'maxlines', 10)  # do not keep thousands of rows of blobs

    # one sample per neuron
    chop_callbacks = comp.create(textDAT, 'chop_callbacks')
    chop_callbacks.text = read('script_chop_callbacks.py')
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
    for channel in 'rgb':  # the Colour parameter tints the instance colours (live: expressions)
        getattr(material.par, 'color' + channel).expr = "parent().par.Colour" + channel
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

    # optional glow (set the uGlow value on the glow TOP's Vectors page to 0 to switch it off)
    shader = comp.create(textDAT, 'glow_shader')
    shader.text = GLOW_SHADER
    glow = comp.create(glslTOP, 'glow')
    glow.inputConnectors[0].connect(render)
    setpar(glow, 'pixeldat', shader.name)
    set_uniform(glow, 'uGlow', 1.5)
    out = comp.create(nullTOP, 'out')
    out.inputConnectors[0].connect(glow)

    # sending: the subscription, renewed by the 'renew' Execute DAT every few seconds
    osc_out = comp.create(oscoutDAT, 'osc_out')
    osc_out.par.address.expr = "parent().par.Servicehost"
    osc_out.par.port.expr = "parent().par.Serviceport"
    resubscribe = comp.create(textDAT, 'subscribe')
    resubscribe.text = SUBSCRIBE_SCRIPT
    renew = comp.create(executeDAT, 'renew')
    renew.text = RENEW_SCRIPT
    setpar(renew, 'framestart', True)
    setpar(renew, 'active', True)
    subscribe(comp)

    for i, node in enumerate([callbacks, osc_in, chop_callbacks, activations, geo, material, cam, render, shader,
                              glow, out, osc_out, resubscribe, renew]):
        node.nodeX, node.nodeY = 200 * (i % 5), -150 * (i // 5)
    print('immersions: built %s, listening on %d; the picture is %s' % (comp.path, int(listen_port), out.path))
    return comp
