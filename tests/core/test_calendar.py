"""core/calendar.py: the one weekend rule agrees with NumPy's business-day calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from m2c.core.calendar import is_weekend, weekday


def test_agrees_with_is_busday_over_leap_years():
    # 1896-01-01 .. 2104-12-31: the non-leap centuries 1900 and 2100, the leap
    # year 2000, ordinary leap years, and days before 1970 (negative numbers).
    days = np.arange(np.datetime64("1896-01-01"), np.datetime64("2105-01-01"))
    # 209 years; leap years 1896..2104 are the 53 multiples of 4, less 1900 and 2100
    assert days.size == 209 * 365 + 51
    expected = ~np.is_busday(days, weekmask="1111100")
    assert np.array_equal(is_weekend(days), expected)
    assert np.array_equal(is_weekend(days.astype(np.int64)), expected)  # plain day numbers
    # leap days: 2020-02-29 was a Saturday, 2000-02-29 a Tuesday
    assert is_weekend(np.array(["2020-02-29", "2000-02-29"], dtype="datetime64[D]")).tolist() == [
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("date", "monday0"),
    [("1970-01-01", 3), ("2000-02-29", 1), ("2024-02-29", 3), ("2100-03-01", 0), ("1900-02-28", 2)],
)
def test_weekday_of_known_dates(date, monday0):
    d = np.datetime64(date, "D")
    assert int(weekday(d)) == monday0 == dt.date.fromisoformat(date).weekday()


def test_refuses_floats():
    with pytest.raises(ValueError, match="days must be integer day numbers or datetime64"):
        is_weekend(np.array([1.5]))
