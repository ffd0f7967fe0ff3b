from immersions_osc import threads  # first: the thread policy sets OMP_WAIT_POLICY before torch loads

import pytest  # noqa: E402
import torch  # noqa: E402

# The project's thread policy (1 torch thread on CI's 2 cores): 2 threads busy-wait under load.
threads.apply()


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (no GPU on this machine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def librosa_cqt():
    """librosa.cqt, warmed up once (its first call compiles with numba for ~17 s)."""
    librosa = pytest.importorskip("librosa")
    import numpy as np

    librosa.cqt(np.zeros(44100, dtype=np.float32), sr=44100, hop_length=1024, fmin=40.0, n_bins=216,
                bins_per_octave=24)
    return librosa.cqt
