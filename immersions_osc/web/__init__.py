"""The browser viewer: an HTTP page + a WebSocket that carries the service's OSC datagrams.

* :mod:`.websocket`: a minimal RFC 6455 implementation (server and client side), stdlib only;
* :mod:`.server`: ``WebServer(service, host, port)``: the page, its assets (``static/``, plain ES
  modules + WebGL, no build step, nothing from the network), the control table as JSON, PNG
  endpoints (snapshot, scaleogram) and the WebSocket (``/ws``);
* :mod:`.browser`: drive a headless Chromium through the DevTools protocol (tests, screenshots).

One format, two transports: the WebSocket's binary messages are exactly the OSC datagrams of the
UDP stream (``docs/osc.md``), both ways.
"""
