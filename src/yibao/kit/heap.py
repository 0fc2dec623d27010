"""Long-lived objects kept out of the cyclic garbage collector's scans in a server
process (``gc.freeze``).

A server freezes what it loaded at start (:func:`settle`).  Whatever large structure
it builds later and keeps for hours — a compiled rule set with its catalogue look-ups
— would otherwise be walked by every full collection, a stall of many milliseconds in
the middle of requests; :func:`keep` freezes again after such a build.  Objects frozen
are still freed by reference counting when dropped; only garbage cycles among them
(and those of requests in flight at that moment) stay until the process ends — a build
happens at a publication, not per request.
"""

from __future__ import annotations

import gc
import threading

_serving = threading.Event()


def settle() -> None:
    """Freeze everything loaded so far and mark this process as serving."""
    gc.collect()
    gc.freeze()
    _serving.set()


def keep() -> None:
    """After building a long-lived structure: freeze it too (only in a serving process;
    elsewhere — tests, the command line — nothing happens)."""
    if _serving.is_set():
        gc.freeze()  # without a full collection first: that would be the very stall


def serving() -> bool:
    return _serving.is_set()
