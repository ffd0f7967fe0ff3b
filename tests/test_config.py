import subprocess
import sys

import pytest

from immersions_osc.config import ConfigError, load_config, parse_config, save_config


def test_defaults_are_valid_and_round_trip(tmp_path):
    cfg = load_config(None)
    assert cfg.scaleogram.n_bins == 216 and cfg.scaleogram.hop_length == 1024
    path = tmp_path / "c.yaml"
    cfg.model.preset = "seed"
    cfg.loss.kind = "sat"
    save_config(cfg, path)
    assert load_config(path) == cfg


@pytest.mark.parametrize("data, message", [
    ({"model": {"presett": "seed"}}, "unknown key 'model.presett'"),
    ({"scaleogram": {"hop_length": "big"}}, "scaleogram.hop_length must be an integer"),
    ({"scaleogram": {"fmin": -3}}, "scaleogram.fmin must be > 0"),
    ({"scaleogram": {"n_bins": 300}}, "scaleogram.n_bins"),
    ({"model": {"preset": "huge"}}, "model.preset must be one of"),
    ({"model": {"encoder_channels": [1, 2]}}, "model.encoder_channels must be 8"),
    ({"loss": {"kind": "mse"}}, "loss.kind must be 'cpc' or 'sat'"),
    ({"loss": 3}, "loss must be a mapping"),
    ({"bogus": 1}, "unknown key 'bogus'"),
])
def test_bad_values_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(data)


def test_cli_reports_a_bad_config_in_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  prediction_steps: 0\n")
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "ear", "--config", str(path),
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["immersions-osc: error: model.prediction_steps must be > 0, got 0"]


def test_cli_reports_a_missing_config(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "ear", "--config", str(tmp_path / "no.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "config file not found" in proc.stderr
