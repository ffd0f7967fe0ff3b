"""Training and evaluation data.

- :mod:`.synth`: deterministic, labelled synthetic music (no download needed).
- :mod:`.folder`: audio folders (scanned once, indexed), loading with resampling, random-crop
  datasets, labelled folders for the linear probe.
"""
from ..errors import UserError


class DataError(UserError):
    """Unusable data: a missing folder, no usable audio, bad labels. A ``ValueError`` whose
    one-line message says what is wrong and where."""


class DataWarning(UserWarning):
    """A file left out while scanning a folder (one warning per file, naming it and why)."""
