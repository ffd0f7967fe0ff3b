"""Drive a headless Chromium through the DevTools protocol (the ``websockets`` client + JSON).
A test helper (not part of the installed package): used by the browser tests and to take
screenshots of the viewer::

    python tests/browser.py http://127.0.0.1:8130/ viewer.png

WebGL runs on SwiftShader (software) in headless mode, so no GPU is needed.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Optional

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Optional[str]:
    for name in (os.environ.get("CHROMIUM") or "",) + BINARIES:
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium with one page, controlled through the DevTools protocol."""

    def __init__(self, width: int = 1440, height: int = 900, binary: Optional[str] = None, timeout: float = 30.0,
                 extra_args: tuple[str, ...] = ()):
        self.binary = binary or find_chromium()
        if self.binary is None:
            raise BrowserError("no Chromium found (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="immersions-chromium-")
        args = [self.binary, "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
                "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                f"--window-size={width},{height}", f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0", *extra_args, "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        found: "queue.Queue[str]" = queue.Queue()

        def read_stderr():
            for line in self.proc.stderr:
                self.stderr.append(line.rstrip())
                if "DevTools listening on " in line:
                    found.put(line.split("DevTools listening on ", 1)[1].strip())
        threading.Thread(target=read_stderr, name="chromium-stderr", daemon=True).start()
        try:
            browser_url = found.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise BrowserError("Chromium did not start:\n" + "\n".join(self.stderr[-20:])) from None
        self.http = "http://" + browser_url.split("/")[2]
        with urllib.request.urlopen(self.http + "/json/list", timeout=timeout) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        if not pages:
            self.close()
            raise BrowserError("Chromium has no page")
        # DevTools messages (screenshots) exceed websockets' default 1 MiB message limit
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], open_timeout=timeout, max_size=64 << 20,
                          compression=None, ping_interval=None, legacy=True)
        self._next_id = 0
        self._results: dict[int, dict] = {}
        self._cond = threading.Condition()
        self.events: list[dict] = []
        self.console: list[str] = []
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()
        for domain in ("Page", "Runtime"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False})

    def _read(self) -> None:
        try:
            while True:
                msg = json.loads(self.ws.recv())
                with self._cond:
                    if "id" in msg:
                        self._results[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                        if msg.get("method") == "Runtime.consoleAPICalled":
                            p = msg["params"]
                            self.console.append(f"{p['type']}: " + " ".join(str(a.get("value", a.get("description", "")))
                                                                            for a in p.get("args", [])))
                        elif msg.get("method") == "Runtime.exceptionThrown":
                            d = msg["params"]["exceptionDetails"]
                            self.console.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
                    self._cond.notify_all()
        except (ConnectionClosed, OSError, ValueError):
            with self._cond:
                self._results[-1] = {}
                self._cond.notify_all()

    def call(self, method: str, params: Optional[dict] = None, timeout: float = 30.0) -> dict:
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        try:
            self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        except ConnectionClosed:
            raise BrowserError("the DevTools connection closed") from None
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._results:
                if -1 in self._results:
                    raise BrowserError("the DevTools connection closed")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"{method}: no answer within {timeout} s")
                self._cond.wait(left)
            msg = self._results.pop(mid)
        if "error" in msg:
            raise BrowserError(f"{method}: {msg['error'].get('message')}")
        return msg.get("result", {})

    def navigate(self, url: str, timeout: float = 30.0) -> None:
        with self._cond:
            start = len(self.events)
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(e.get("method") == "Page.loadEventFired" for e in self.events[start:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"{url} did not load within {timeout} s")
                self._cond.wait(left)

    def evaluate(self, expression: str, timeout: float = 30.0):
        """The value of a JS expression (promises awaited), as JSON."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError(f"JS error: {d.get('exception', {}).get('description', d.get('text'))}")
        return r.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30.0, interval: float = 0.05):
        """Poll until the JS expression is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for: {expression}\nconsole:\n" + "\n".join(self.console[-20:]))
            time.sleep(interval)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])

    def drag(self, points: list[tuple[float, float]], modifiers: int = 0) -> None:
        """A real left-button mouse drag through ``points`` (CSS pixels of the viewport)."""
        def mouse(kind, x, y, buttons):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "buttons": buttons, "clickCount": 1, "modifiers": modifiers})
        x, y = points[0]
        mouse("mouseMoved", x, y, 0)
        mouse("mousePressed", x, y, 1)
        for x, y in points[1:]:
            mouse("mouseMoved", x, y, 1)
        mouse("mouseReleased", x, y, 0)

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            try:
                self.call("Browser.close", timeout=5)
            except BrowserError:
                pass
            ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python tests/browser.py",
                                description="screenshot of the viewer (headless Chromium)")
    p.add_argument("url", help="the viewer, e.g. http://127.0.0.1:8130/")
    p.add_argument("out", help="PNG file to write")
    p.add_argument("--width", type=int, default=1440)
    p.add_argument("--height", type=int, default=900)
    p.add_argument("--frames", type=int, default=30, help="activation frames to wait for (default: %(default)s)")
    args = p.parse_args(argv)
    browser = Chromium(args.width, args.height)
    try:
        browser.navigate(args.url)
        browser.wait_for(f"window.viewer && window.viewer.stats.frames >= {args.frames}", timeout=60)
        with open(args.out, "wb") as fh:
            fh.write(browser.screenshot())
    finally:
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
