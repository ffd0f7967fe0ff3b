"""The xruns this machine gives a JACK graph with nothing in it: a dummy ``jackd -R`` (period 512)
and one Python client whose process callback only writes silence, counted over a while.

What ``benchmarks/studio_sync.py`` counts during its idle minute is JACK's xrun count for the
graph, so the service's own share is what it shows beyond this floor.

    PYTHONPATH=. python benchmarks/xrun_floor.py --rates 48000 96000 --seconds 60
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from service_harness import HAVE_JACKD, JackServer  # noqa: E402


def floor(rate: int, seconds: float) -> int:
    import jack

    server = JackServer(sample_rate=rate, period=512, prefix="floor-", realtime=True)
    saved = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    try:
        client = jack.Client("floor", no_start_server=True)
        xruns = [0]
        client.set_xrun_callback(lambda delayed: xruns.__setitem__(0, xruns[0] + 1))
        out = client.outports.register("out")

        def process(frames):
            out.get_array()[:] = 0

        client.set_process_callback(process)
        client.activate()
        time.sleep(seconds)
        client.deactivate()
        client.close()
        return xruns[0]
    finally:
        if saved is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = saved
        server.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rates", type=int, nargs="+", default=[48000, 96000])
    p.add_argument("--seconds", type=float, default=60.0)
    args = p.parse_args()
    if not HAVE_JACKD:
        print("needs jackd (Debian jackd2)")
        return 1
    for rate in args.rates:
        before = os.getloadavg()[0]
        n = floor(rate, args.seconds)
        print(f"{rate} Hz: {n} xruns in {args.seconds:g} s with nothing but one empty Python client "
              f"(load {before:.2f} before, {os.getloadavg()[0]:.2f} after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
