"""The one clock of a run: every time stamp riskmap writes comes from :func:`now`.

Outputs are reproducible: the same inputs and settings give byte-identical files apart from
this time stamp. With the ``SOURCE_DATE_EPOCH`` environment variable set (seconds since
1970-01-01 UTC, the reproducible-builds.org convention) the time stamp is that moment, and two
runs give byte-identical files. Without it, the time stamp is the current time, taken once
per run inside :func:`fixed` (so all files of one run carry the same time).

>>> import os
>>> os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
>>> stamp()
'2023-11-14T22:13:20+00:00'
>>> del os.environ["SOURCE_DATE_EPOCH"]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

from riskmap.errors import ConfigError

__all__ = ["at", "fixed", "now", "stamp"]

_FIXED: list[dt.datetime] = []


def _from_environment() -> dt.datetime | None:
    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return None
    try:
        seconds = int(text)
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise ConfigError(f"SOURCE_DATE_EPOCH={text!r} is not a whole number of seconds since "
                          "1970-01-01 UTC. Set it to e.g. $(date +%s), or unset it to use the "
                          "current time.", code="E-CONFIG-VALUE") from None


def now() -> dt.datetime:
    """The run's time (UTC, whole seconds): ``SOURCE_DATE_EPOCH``, the time fixed by
    :func:`fixed`, or the current time."""
    given = _from_environment()
    if given is not None:
        return given
    if _FIXED:
        return _FIXED[-1]
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def stamp() -> str:
    """:func:`now` as ISO 8601 text, e.g. ``2027-01-04T09:30:00+00:00``."""
    return now().isoformat(timespec="seconds")


@contextlib.contextmanager
def fixed() -> Iterator[dt.datetime]:
    """Within the block, :func:`now` returns one time: the time the block was entered."""
    _FIXED.append(now())
    try:
        yield _FIXED[-1]
    finally:
        _FIXED.pop()


@contextlib.contextmanager
def at(when: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block, :func:`now` returns ``when`` (a worker continues its run's time)."""
    _FIXED.append(when)
    try:
        yield when
    finally:
        _FIXED.pop()
