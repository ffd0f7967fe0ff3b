"""CSV tables (corpus index, probe tasks): read whole, with one clear error line."""
from __future__ import annotations

import csv

from . import DataError


def read_csv_rows(path: str, what: str, missing: str = "") -> list[dict]:
    """The rows of ``path`` as dicts; :class:`DataError` names ``what`` it is if it is missing
    (``missing`` adds how to make one) or unreadable."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        raise DataError(f"{what} not found: {path}" + (f" ({missing})" if missing else "")) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"unreadable {what} {path}: {' '.join(str(exc).split())}") from None
