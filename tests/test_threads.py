"""The thread policy (immersions_osc/threads.py): one rule for every command, overridable."""
import os
import subprocess
import sys

import pytest
import torch

from immersions_osc import threads
from immersions_osc.cli import apply_thread_policy, build_parser
from immersions_osc.config import ConfigError, parse_config
from immersions_osc.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("cores, expected", [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (64, threads.MAX_DEFAULT_THREADS)])
def test_default_is_half_the_cores_at_least_one(cores, expected):
    assert threads.default_threads(cores) == expected


def test_flag_wins_over_config_which_wins_over_the_policy():
    assert threads.resolve_threads(3, 2) == 3
    assert threads.resolve_threads(None, 2) == 2
    assert threads.resolve_threads(None, 0) == threads.default_threads()


@pytest.mark.parametrize("flag, configured", [(0, 0), (-1, 0), (None, 1000)])
def test_bad_counts_are_user_errors(flag, configured):
    with pytest.raises(UserError, match="must be 1..256"):
        threads.resolve_threads(flag, configured)


def test_config_rejects_negative_threads():
    with pytest.raises(ConfigError, match="threads.intra_op must be 0..256"):
        parse_config({"threads": {"intra_op": -1}})


@pytest.mark.parametrize("argv, expected", [(["layout", "--threads", "2"], 2), (["render"], "config"),
                                            (["serve", "--threads", "1"], 1)])
def test_every_command_applies_the_flag_or_the_config(tmp_path, restore_threads, argv, expected):
    config = tmp_path / "c.yaml"
    config.write_text("threads:\n  intra_op: 3\n")
    args = build_parser().parse_args(argv + ["--config", str(config)])
    apply_thread_policy(args)
    assert torch.get_num_threads() == (3 if expected == "config" else expected)


def run_python(code: str, **env) -> str:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**base, "PYTHONPATH": REPO, **env}, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_package_sets_passive_before_torch_loads():
    code = ("import immersions_osc, os, torch; from immersions_osc import threads; "
            "print(os.environ['OMP_WAIT_POLICY'], '|', threads.apply(2).describe())")
    out = run_python(code)
    assert out.startswith("PASSIVE |")
    assert "2 torch thread(s), 1 inter-op, OMP_WAIT_POLICY PASSIVE" in out


def test_a_wait_policy_in_the_environment_wins():
    out = run_python("import immersions_osc, os; print(os.environ['OMP_WAIT_POLICY'])", OMP_WAIT_POLICY="ACTIVE")
    assert out == "ACTIVE"


def test_torch_loaded_first_is_reported_not_hidden():
    out = run_python("import torch; from immersions_osc import threads; print(threads.apply(1).describe())")
    assert "torch was loaded before the thread policy" in out


def test_cli_bad_thread_count_is_one_line():
    out = subprocess.run([sys.executable, "-m", "immersions_osc", "config", "--threads", "0"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": REPO}, cwd=REPO)
    assert out.returncode == 2
    assert out.stderr.strip() == "immersions-osc: error: --threads must be 1..256, got 0"
