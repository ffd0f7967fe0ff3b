import os
import subprocess
import sys
import pytest

import numpy as np

from immersions_osc.images import read_png

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(REPO, "checkpoints", "small.pt")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "immersions_osc", *args], capture_output=True, text=True,
                          timeout=600, cwd=REPO)


def test_ear_on_the_shipped_checkpoint(tmp_path):
    assert os.path.isfile(SHIPPED), "checkpoints/small.pt must ship with the repository"
    proc = run_cli("ear", "--out", str(tmp_path), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "z         : (1, 128, 43)" in proc.stdout and "c         : (1, 64, 11)" in proc.stdout
    picture = read_png(tmp_path / "scaleogram.png")
    assert picture.shape[0] == 216 * 3 and picture.std() > 10  # not a blank image
    assert read_png(tmp_path / "encodings.png").std() > 10
    # the shipped ear learned real recordings; on the ear's synthetic clips it still picks the true
    # future above chance (1 in 16), and the ear trained on that synthetic music far above it
    accuracy = int(proc.stdout.split("candidates ")[1].split(" %")[0])
    assert accuracy > 100 / 16
    synth = run_cli("ear", "--checkpoint", os.path.join(os.path.dirname(SHIPPED), "small-synth.pt"),
                    "--out", str(tmp_path / "synth"), "--device", "cpu")
    assert synth.returncode == 0, synth.stderr[-2000:]
    assert int(synth.stdout.split("candidates ")[1].split(" %")[0]) >= 3 * 100 / 16


def test_ear_untrained_and_bad_flags(tmp_path):
    proc = run_cli("ear", "--checkpoint", "none", "--out", str(tmp_path), "--seconds", "2", "--batch", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "untrained" in proc.stdout
    proc = run_cli("ear", "--batch", "1", "--out", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--batch must be >= 2" in proc.stderr


def test_scaleogram_command_and_its_errors(tmp_path):
    import soundfile as sf

    t = np.arange(44100) / 44100
    sf.write(tmp_path / "a.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 44100)
    proc = run_cli("scaleogram", str(tmp_path / "a.wav"), "--out", str(tmp_path / "a.png"))
    assert proc.returncode == 0, proc.stderr
    img = read_png(tmp_path / "a.png")
    # the brightest row is the 440 Hz bin (images put low frequencies at the bottom)
    row = int(np.argmax(img.astype(float).sum(axis=(1, 2)))) // 3
    assert abs((216 - 1 - row) - round(24 * np.log2(440 / 40))) <= 1
    for bad, message in ((tmp_path / "missing.wav", "audio file not found"),):
        proc = run_cli("scaleogram", str(bad))
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "junk.wav").write_bytes(os.urandom(3000))
    proc = run_cli("scaleogram", str(tmp_path / "junk.wav"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["demo", "--help"], ["gallery", "--help"]])
def test_version_and_help_do_not_import_torch(argv):
    """Start-up: answering --version or --help must not load torch (seconds on a laptop)."""
    code = ("import sys\nfrom immersions_osc.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n" % (argv,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1] == "NO-TORCH", out.stdout[-500:] + out.stderr[-2000:]
