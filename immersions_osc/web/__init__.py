"""The browser viewer: an HTTP page + a WebSocket that carries the service's OSC datagrams.

* :mod:`.server`: ``WebServer(service, host, port)`` on the ``websockets`` library (HTTP and the
  WebSocket on one port): the page, its assets (``static/``, plain ES modules + WebGL, no build
  step, nothing from the network), the control table as JSON, PNG endpoints (snapshot,
  scaleogram), the layout, and the WebSocket (``/ws``).

The headless-Chromium driver the tests use lives in ``tests/browser.py`` (not installed).

One format, two transports: the WebSocket's binary messages are exactly the OSC datagrams of the
UDP stream (``docs/osc.md``), both ways.
"""
