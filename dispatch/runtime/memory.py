"""Process memory: objects built at start-up are moved out of the garbage collector's sight."""

from __future__ import annotations

import gc
from typing import Final

# Young collections start when this many more container objects have been made than freed (CPython's default
# is 700). Fifty requests in flight hold thousands between them, so at 700 the collector ran every few
# requests and walked live objects it could not free: about 40 µs of a served report's ~450 (bench/api_report.py,
# timed with gc.callbacks); at 10,000 it runs a few times a minute. Cyclic garbage still triggers it as it grows.
YOUNG_COLLECTION_THRESHOLD: Final[int] = 10_000


def freeze_startup_objects() -> None:
    """Move everything built so far (modules, the app, its schemas, the places) out of the collector's sight,
    and collect the young generation less often.

    The startup objects live as long as the process, yet every full collection walked all of them again: they
    were a fifth of a served report's CPU (perf, bench/api_report.py). gc.freeze is meant for exactly this.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)
