# OSC In DAT callbacks: every message from the Immersions service arrives here.
#
# build_network.py copies this file into the 'osc_in_callbacks' Text DAT.  All the decoding is
# done by the immersions_osc package (immersions_osc/osc/decoder.py, the same code the tests
# check); this only hands each message over and asks the Script CHOP to redraw.
#
# The receiver (one per network) is kept in the parent COMP's storage under 'immersions'.

from immersions_osc.osc.decoder import ActivationReceiver


def receiver(comp):
    """The network's ActivationReceiver, created on first use."""
    r = comp.fetch('immersions', None, search=False)
    if r is None:
        r = ActivationReceiver()
        comp.store('immersions', r)
    return r


def onReceiveOSC(dat, rowIndex, message, byteData, timeStamp, address, args, peer):
    r = receiver(dat.parent())
    if byteData:  # the raw OSC message: decoded exactly, blobs included
        new_frame = r.feed_datagram(bytes(byteData))
    else:  # older TouchDesigner builds: the already parsed address and arguments
        new_frame = r.feed_message(address, list(args))
    if new_frame:
        dat.parent().op('activations').cook(force=True)
    return
