# The TouchDesigner network's side of the conversation with the service: what it sends, and when.
#
# The service sends the streams only to subscribers that keep renewing their subscription, and a
# restarted service knows nobody.  So, every frame, the 'renew' Execute DAT calls tick(), which
#   * sends /immersions/stream/subscribe every RENEW_SECONDS (renewal; after a service restart this
#     is what brings the pictures back, within RENEW_SECONDS),
#   * asks for the layout (/immersions/layout/request) while none has arrived -- only the chunks
#     still missing when some arrived --, and again when the
#     service came back (the status resumes after a gap, or its "seconds up" went down: a restarted
#     service may run another model).
# The decisions are in Session.due(), plain Python (tests/test_clients_td.py drives it, and a real
# service restart); tick() only reads the clock and the parameters and sends.
#
# Imported as td_network.session (build_network.py puts the repository folder on sys.path).

import time

RENEW_SECONDS = 5.0
LAYOUT_RETRY_SECONDS = 5.0
STATUS_GAP_SECONDS = 3.0  # the status comes once a second: silence this long means the service was away

# Every message this network sends, with its OSC type tags (checked against docs/osc.md by
# tests/test_clients_static.py; send() refuses anything else).
SENT = {
    '/immersions/stream/subscribe': 'sis',  # host, port, kind ('all': activation blobs too)
    '/immersions/layout/request': '[i*]',  # no argument: the whole layout; chunk numbers: only those
    '/immersions/status/request': '',
}


class Session:
    """When to (re)subscribe and (re)request the layout."""

    def __init__(self, renew=RENEW_SECONDS, layout_retry=LAYOUT_RETRY_SECONDS, gap=STATUS_GAP_SECONDS):
        self.renew, self.layout_retry, self.gap = renew, layout_retry, gap
        self.last_subscribe = None
        self.last_layout_request = None
        self.seconds_up = None  # the service's uptime in the last status seen
        self.last_status = None  # that status (the receiver replaces the dict on every status message)
        self.last_status_time = None
        self.restarts = 0  # times the service came back (restart, or the network was away)

    def due(self, now, receiver=None):
        """[(address, kind)] to send now: kind 'subscribe', 'layout' or 'status'."""
        out = []
        restarted = False
        status = getattr(receiver, 'status', None) or {}
        if status and status is not self.last_status:  # a new status message
            up = status.get('seconds_up')
            back = self.last_status_time is not None and now - self.last_status_time > self.gap
            younger = up is not None and self.seconds_up is not None and up + 0.5 < self.seconds_up
            if back or younger:
                restarted = True
                self.restarts += 1
            self.last_status, self.last_status_time, self.seconds_up = status, now, up
        if self.last_subscribe is None or now - self.last_subscribe >= self.renew:
            out.append('subscribe')
            self.last_subscribe = now
        have_layout = receiver is not None and getattr(receiver, 'positions', None) is not None \
            and not restarted
        if restarted or (not have_layout and (self.last_layout_request is None
                                              or now - self.last_layout_request >= self.layout_retry)):
            out.append('layout')
            self.last_layout_request = now
            if restarted and receiver is not None:
                receiver.forget_layout()  # the new service's layout replaces the old one when it arrives
        return out


def send(osc_out, address, *args):
    """Send one message to the service, typed as SENT says (OSC Out DAT: sendOSC)."""
    tags = SENT[address]
    if tags == '[i*]':  # any number of ints
        tags = 'i' * len(args)
    if len(args) != len(tags):
        raise ValueError('%s takes %d arguments' % (address, len(tags)))
    cast = {'i': int, 'f': float, 's': str}
    osc_out.sendOSC(address, [cast[t](a) for t, a in zip(tags, args)])


def perform(comp, actions):
    """Send the actions due() chose, with the host and port of comp's Immersions page."""
    osc_out = comp.op('osc_out')
    for action in actions:
        if action == 'subscribe':
            send(osc_out, '/immersions/stream/subscribe', comp.par.Host.eval(), comp.par.Listenport.eval(), 'all')
        elif action == 'layout':
            # part of the layout arrived: ask for the chunks still missing, else for all of it
            receiver = comp.fetch('immersions', None, search=False)
            missing = receiver.missing_position_chunks() if receiver is not None else []
            send(osc_out, '/immersions/layout/request', *missing)
        elif action == 'status':
            send(osc_out, '/immersions/status/request')


def tick(comp, now=None):
    """Called every frame (the 'renew' Execute DAT): renew and re-request as due."""
    session = comp.fetch('immersions_session', None, search=False)
    if session is None:
        session = Session()
        comp.store('immersions_session', session)
    receiver = comp.fetch('immersions', None, search=False)
    actions = session.due(time.monotonic() if now is None else now, receiver)
    if actions:
        perform(comp, actions)
    return actions
