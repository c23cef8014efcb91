"""Late-payment penalty: rates, the day after the due date, year end, 1 CNY minimum."""

import numpy as np

from m2c.core import latefee


def test_paid_on_due_day_pays_nothing():
    assert latefee.fee_for_bill(100_000, 30, 30, 365, True) == 0
    assert latefee.fee_for_bill(100_000, 30, 29, 365, False) == 0


def test_residential_ten_days_late():
    # 1000.00 CNY = 100 000 fen, 10 days x 0.1 %/day = 1 % -> 1 000 fen
    assert latefee.fee_for_bill(100_000, 30, 40, 365, True) == 1_000


def test_minimum_one_yuan():
    # 50.00 CNY, 1 day x 0.1 % = 5 fen -> charged 1 CNY = 100 fen
    assert latefee.fee_for_bill(5_000, 30, 31, 365, True) == 100


def test_non_residential_across_year_end():
    # Bill 20 000.00 CNY (2 000 000 fen) due on day 355 (21 Dec), paid on day 370 (5 Jan).
    # Overdue days 356..370 = 15; days 356..364 (9) in the bill's year at 0.2 %,
    # days 365..370 (6) carried across the year end at 0.3 %.
    # 2 000 000 x (9 x 2000 + 6 x 3000) ppm = 2 000 000 x 36 000 / 1e6 = 72 000 fen.
    assert latefee.fee_for_bill(2_000_000, 355, 370, 365, False) == 72_000
    # The same bill for a residential customer: 15 days x 0.1 % = 1.5 % = 30 000 fen.
    assert latefee.fee_for_bill(2_000_000, 355, 370, 365, True) == 30_000


def test_rounding_once_half_up():
    # 333 fen x 2 days x 2000 ppm = 1.332 fen -> minimum applies (100 fen).
    assert latefee.fee_for_bill(333, 0, 2, 365, False) == 100
    # 12 345 678 fen x 1 day x 2000 ppm = 24 691.356 -> 24 691 fen.
    assert latefee.fee_for_bill(12_345_678, 0, 1, 365, False) == 24_691
    # 12 345 675 fen x 1000 ppm = 12 345.675 -> half-up 12 346 fen
    assert latefee.fee_for_bill(12_345_675, 0, 1, 365, True) == 12_346


def test_daily_accrual_matches_closed_form():
    # Accrue day by day from the day after the due date and book once.
    n = 3
    cur = np.array([2_000_000, 5_000, 12_345_675], dtype=np.int64)
    old = np.zeros(n, dtype=np.int64)
    res = np.array([False, True, True])
    acc = np.zeros(n, dtype=np.int64)
    due, paid, ye = 355, 370, 365
    for day in range(due + 1, paid + 1):
        if day == ye:  # year end: current-year arrears are carried
            old, cur = old + cur, np.zeros(n, dtype=np.int64)
        latefee.accrue_day(cur, old, res, acc)
    fees = latefee.book_fees(acc)
    expect = [
        latefee.fee_for_bill(int(a), due, paid, ye, bool(r))
        for a, r in zip([2_000_000, 5_000, 12_345_675], res, strict=True)
    ]
    assert fees.tolist() == expect
    # 5 000 fen x 15 days x 0.1 % = 75 fen -> minimum 100
    assert fees.tolist() == [72_000, 100, 185_185]


def test_nothing_accrued_books_nothing():
    assert latefee.book_fees(np.zeros(4, dtype=np.int64)).tolist() == [0, 0, 0, 0]
