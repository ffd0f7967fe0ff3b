"""The robustness suite (benchmarks/robustness.py --quick) in CI: every hostile case against one
service subprocess, on loopback; the service never crashes, logs no traceback, never hangs on the
way out, and saves its last loop.  (Its figures -- latencies, memory -- are reported, not asserted:
the README's table comes from the full run.)"""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_the_quick_robustness_suite(tmp_path):
    out = tmp_path / "suite.json"
    proc = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "robustness.py"), "--quick", "--json",
                           str(out)], capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(out.read_text())["summary"]
    assert summary["crashes"] == 0 and summary["tracebacks"] == 0 and summary["hangs"] == 0, summary
    assert summary["forged_log_lines"] == 0 and summary["raw_escape_codes_in_log"] == 0
    assert summary["last_loops_saved"] is True
    assert summary["datagrams_sent"] > 3000 and summary["bombs_tried"] == 6
