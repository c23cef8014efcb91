"""Calendar facts of day numbers: which days are weekend days (Saturday, Sunday).

Days are counted as NumPy does for ``datetime64[D]``: day 0 is 1970-01-01,
which was a Thursday. The one weekend rule of m2c lives here, used by interval
billing (weekday/weekend TOU schedules, :mod:`m2c.core.billing.api`) and by the
simulation's calendar (``m2c.sim.inputs.build_calendar``). It agrees with
``~np.is_busday(d, weekmask="1111100")`` (tests/core/test_calendar.py) and is
written as arithmetic so that it also reads plain integer day numbers.
"""

from __future__ import annotations

import numpy as np

#: Weekday of day 0 (1970-01-01) with Monday = 0: a Thursday.
EPOCH_WEEKDAY = 3


def weekday(days: np.ndarray) -> np.ndarray:
    """Day of the week, Monday = 0 .. Sunday = 6.

    Parameters
    ----------
    days : int (any shape) days since 1970-01-01, or ``datetime64`` dates
        (converted to days; negative days, before 1970, are fine).

    Returns
    -------
    int64 array of the same shape.
    """
    d = np.asarray(days)
    if d.dtype.kind == "M":
        d = d.astype("datetime64[D]").astype(np.int64)
    elif d.dtype.kind not in "iu":
        raise ValueError(f"days must be integer day numbers or datetime64, got dtype {d.dtype}")
    return (d.astype(np.int64) + EPOCH_WEEKDAY) % 7  # numpy's % is >= 0 for a positive divisor


def is_weekend(days: np.ndarray) -> np.ndarray:
    """True on Saturdays and Sundays (bool, the shape of ``days``; see :func:`weekday`).

    Example::

        >>> import numpy as np
        >>> is_weekend(np.array(["2025-01-03", "2025-01-04"], dtype="datetime64[D]")).tolist()
        [False, True]
    """
    return weekday(days) >= 5
