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
# With the service's viewer port set (parameter Viewer Port = the service's --web-port), the layout is
# fetched over HTTP (/layout.npz) in a background thread instead of as a burst of OSC datagrams;
# OSC remains the fallback when the fetch fails.
#
# Imported as immersions_osc.clients.touchdesigner.session (from the installed package).

import io
import threading
import time
import urllib.parse
import urllib.request

RENEW_SECONDS = 5.0
LAYOUT_RETRY_SECONDS = 5.0
STATUS_GAP_SECONDS = 3.0  # the status comes once a second: silence this long means the service was away

# Every message this network sends, with its OSC type tags (checked against docs/osc.md by
# tests/test_clients_static.py; send() refuses anything else).
SENT = {
    '/immersions/stream/subscribe': 'sis',  # host, port, kind ('all': activation blobs too)
    '/immersions/layout/request': '[i*]',  # no argument: the whole layout; chunk numbers: only those
    '/immersions/status/request': '',
    '/immersions/auth': 's',  # a service on another machine (--allow-remote): its token, before subscribing
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
        self.fetch = None  # the LayoutFetch in flight
        self.http_failed = False  # the viewer port did not answer: OSC from now on (until a restart)

    def due(self, now, receiver=None):
        """[(address, kind)] to send now: kind 'subscribe', 'layout' or 'status'."""
        out = []
        restarted = False
        status = getattr(receiver, 'status', None) or {}
        if status and status is not self.last_status:  # a new status message
            up = status.get('seconds_up')
            back = self.last_status_time is not None and now - self.last_status_time > self.gap
            # a running service's uptime grows with the clock: one that is more than a second behind
            # what the last status plus the time since predicts is a new process (a restart, however
            # quick; a gap of silence alone misses a restart faster than STATUS_GAP_SECONDS)
            younger = (up is not None and self.seconds_up is not None
                       and up + 1.0 < self.seconds_up + (now - self.last_status_time))
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
            if restarted:
                self.http_failed = False
                if receiver is not None:
                    receiver.forget_layout()  # the new service's layout replaces the old one when it arrives
        return out


def layout_url(host, port, token=''):
    """The service's /layout.npz on its viewer port (with the token a remote service wants)."""
    url = 'http://%s:%d/layout.npz' % (host if ':' not in host else '[%s]' % host, int(port))
    return url + ('?' + urllib.parse.urlencode({'token': token}) if token else '')


def fetch_layout(url, timeout=5.0):
    """(positions [N, 2], layer per neuron [N], layer names) from a /layout.npz URL (numpy only)."""
    from immersions_osc.osc.decoder import load_layout_npz
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return load_layout_npz(io.BytesIO(response.read()))


class LayoutFetch:
    """One HTTP fetch of the layout in a background thread (TouchDesigner's frame never waits);
    ``result`` is the layout or the error once ``done``."""

    def __init__(self, url):
        self.url, self.result, self.done = url, None, False
        threading.Thread(target=self._run, daemon=True, name='immersions-layout').start()

    def _run(self):
        try:
            self.result = fetch_layout(self.url)
        except Exception as exc:  # noqa: BLE001 -- any failure: fall back to OSC
            self.result = exc
        self.done = True


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
            token = getattr(comp.par, 'Token', None)
            if token is not None and token.eval():
                send(osc_out, '/immersions/auth', token.eval())
            send(osc_out, '/immersions/stream/subscribe', comp.par.Host.eval(), comp.par.Listenport.eval(), 'all')
        elif action == 'layout':
            viewer = getattr(comp.par, 'Viewerport', None)
            session = comp.fetch('immersions_session', None, search=False)
            if viewer is not None and viewer.eval() and session is not None and not session.http_failed:
                if session.fetch is None:  # over HTTP, in the background (tick() collects it)
                    token = getattr(comp.par, 'Token', None)
                    session.fetch = LayoutFetch(layout_url(comp.par.Servicehost.eval(), viewer.eval(),
                                                           token.eval() if token is not None else ''))
                continue
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
    if session.fetch is not None and session.fetch.done:  # the HTTP layout came back
        result, session.fetch = session.fetch.result, None
        if isinstance(result, Exception):
            print('immersions: no layout over HTTP (%s); asking over OSC' % result)
            session.http_failed = True
        elif receiver is not None:
            positions, layers, _names = result
            receiver.set_layout(positions, layers)
    actions = session.due(time.monotonic() if now is None else now, receiver)
    if actions:
        perform(comp, actions)
    return actions
