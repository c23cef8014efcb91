"""Issue 13: load CSV defects (``m2c bill --load``), each reproduced, then refused clearly.

Every refusal names the file, the line (the header is line 1, blank lines
count) and the field, and says what was expected.
"""

from __future__ import annotations

import warnings

import pytest

from m2c.sim.loadfile import LoadFileError, read_interval_csv

HEADER = "customer,timestamp,kwh\n"


def _csv(tmp_path, body: str, name: str = "load.csv"):
    p = tmp_path / name
    p.write_text(HEADER + body)
    return p


def _refused(path, *needles: str, **kw) -> str:
    with pytest.raises(LoadFileError) as info:
        read_interval_csv(path, **kw)
    text = str(info.value)
    assert str(path) in text
    for n in needles:
        assert n in text, text
    return text


def test_seconds_in_a_timestamp_are_refused_not_dropped(tmp_path):
    # Before: 00:00:30 was read as 00:00 and billed as if on the grid.
    p = _csv(tmp_path, "A,2025-01-01T00:00,1\nA,2025-01-01T01:00:30,2\n")
    _refused(p, ":3:", "field 'timestamp'", "01:00:30", "whole minute")


def test_zero_seconds_are_accepted(tmp_path):
    p = _csv(tmp_path, "A,2025-01-01T00:00:00,1\nA,2025-01-01T01:00:00.000,2\n")
    load = read_interval_csv(p)
    assert load.start == "2025-01-01T00:00" and load.kwh.tolist() == [[1.0, 2.0]]


def test_one_utc_offset_for_the_whole_file_means_local_wall_clock_time(tmp_path):
    # Before: +08:00 was converted to UTC (start 2024-12-31T16:00, so TOU
    # periods shifted by 8 hours) with a numpy UserWarning on stderr.
    p = _csv(tmp_path, "A,2025-01-01T00:00+08:00,1\nA,2025-01-01T01:00+08:00,2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy timezone warning leaks
        load = read_interval_csv(p)
    assert load.start == "2025-01-01T00:00"  # the wall-clock time as written
    assert load.utc_offset == "+08:00"
    assert load.kwh.tolist() == [[1.0, 2.0]]


def test_mixed_offsets_are_refused_naming_both(tmp_path):
    # Before: 08:00+08:00 and 00:00Z are the same instant, so the reader
    # reported a confusing duplicate ("has 2025-01-01T00:00 twice").
    p = _csv(tmp_path, "A,2025-01-01T08:00+08:00,1\nA,2025-01-01T00:00Z,2\n")
    _refused(p, ":3:", "field 'timestamp'", "Z", "+08:00", "line 2")
    p = _csv(tmp_path, "A,2025-01-01T00:00+08:00,1\nA,2025-01-01T01:00,2\n", "naive.csv")
    _refused(p, ":3:", "field 'timestamp'", "no UTC offset", "+08:00")


def test_header_only_file_is_refused(tmp_path):
    # Before: "zero-size array to reduction operation minimum which has no identity".
    p = _csv(tmp_path, "")
    _refused(p, ":2:", "no data rows", "customer,timestamp,kwh")


def test_huge_energy_is_refused_with_line_and_bound(tmp_path):
    # Before: read without complaint; billing then refused it naming no line.
    p = _csv(tmp_path, "A,2025-01-01T00:00,1\nA,2025-01-01T01:00,1e15\n")
    _refused(p, ":3:", "field 'kwh'", "'1e15'", "below 1e+09 kWh")


@pytest.mark.parametrize("step", [0, -60, 7, 120])
def test_step_minutes_must_divide_an_hour(tmp_path, step):
    # Before: 0 gave a numpy divide-by-zero warning and an off-grid error,
    # -60 an IndexError.
    p = _csv(tmp_path, "A,2025-01-01T00:00,1\nA,2025-01-01T01:00,2\n")
    _refused(p, f"step_minutes {step}", "divides 60", step_minutes=step)


def test_line_numbers_count_blank_lines(tmp_path):
    # Before: the reader skipped the blank lines and said line 3 for line 5.
    p = _csv(tmp_path, "A,2025-01-01T00:00,1\n\n\nA,2025-01-01T01:00,x\n")
    _refused(p, ":5:", "field 'kwh'", "'x'")
    p = _csv(tmp_path, "A,2025-01-01T00:00,1\n\nA,2025-01-01T00:00,2\n", "dup.csv")
    _refused(p, ":4:", "field 'timestamp'", "also on line 2")
    p = _csv(tmp_path, "A,2025-01-01T00:00,1\r\n\r\n,2025-01-01T01:00,2\r\n", "crlf.csv")
    _refused(p, ":4:", "field 'customer'")


def test_impossible_dates_and_hours_are_refused(tmp_path):
    # The faster parser must not roll 2025-02-30 over into March.
    p = _csv(tmp_path, "A,2025-02-28T23:00,1\nA,2025-02-30T00:00,1\n")
    _refused(p, ":3:", "field 'timestamp'", "2025-02-30T00:00", "a real date")
    p = _csv(tmp_path, "A,2025-02-28T23:00,1\nA,2025-02-28T24:00,1\n", "h24.csv")
    _refused(p, ":3:", "field 'timestamp'", "2025-02-28T24:00")
