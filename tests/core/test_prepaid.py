"""Prepaid accounts: debit, alert, trip at zero or a credit limit, reconnect on top-up."""

import numpy as np

from m2c.core import prepaid as pp


def _day(state, charge, topup, *, alert=2_000, limit=0, trippable=True):
    bal, relay = state
    b = np.array([bal], dtype=np.int64)
    r = np.array([relay])
    d = np.zeros(1, dtype=np.int64)
    ev = np.zeros(1, dtype=np.int64)
    pp.prepaid_day(
        b,
        r,
        np.array([charge], dtype=np.int64),
        np.array([topup], dtype=np.int64),
        np.array([alert], dtype=np.int64),
        np.array([limit], dtype=np.int64),
        np.array([trippable]),
        d,
        ev,
    )
    return (int(b[0]), bool(r[0])), int(d[0]), int(ev[0])


def test_account_trips_and_reconnects():
    # Balance 50.00 CNY, alert at 20.00 CNY, 15.00 CNY of consumption a day.
    s = (5_000, True)
    s, d, ev = _day(s, 1_500, 0)  # 50 -> 35: debit only
    assert s == (3_500, True) and d == 1_500 and ev == pp.EV_DEBIT
    s, d, ev = _day(s, 1_500, 0)  # 35 -> 20: not below the alert yet
    assert s == (2_000, True) and ev == pp.EV_DEBIT
    s, d, ev = _day(s, 1_500, 0)  # 20 -> 5: crosses below 20 -> alert
    assert s == (500, True) and ev == pp.EV_DEBIT | pp.EV_ALERT
    s, d, ev = _day(s, 1_500, 0)  # 5 -> -10: at/below zero -> trip
    assert s == (-1_000, False) and ev == pp.EV_DEBIT | pp.EV_TRIP
    s, d, ev = _day(s, 1_500, 0)  # open relay: charge refused, nothing debited
    assert s == (-1_000, False) and d == 0 and ev == pp.EV_REFUSED
    s, d, ev = _day(s, 0, 10_000)  # top-up 100 CNY -> 90 CNY, relay closes
    assert s == (9_000, True) and ev == pp.EV_TOPUP | pp.EV_RECONNECT


def test_credit_limit_trips_later():
    # Credit limit 30.00 CNY: trip only when the balance reaches -30.00 CNY.
    s, _, ev = _day((500, True), 1_500, 0, limit=3_000)  # -10: still supplied
    assert s == (-1_000, True) and not ev & pp.EV_TRIP
    s, _, ev = _day(s, 2_000, 0, limit=3_000)  # -30: trip
    assert s == (-3_000, False) and ev & pp.EV_TRIP
    # A top-up that leaves the balance at the limit does not reconnect.
    s, _, ev = _day(s, 0, 0, limit=3_000)
    assert s == (-3_000, False)
    s, _, ev = _day(s, 0, 1, limit=3_000)
    assert s == (-2_999, True) and ev & pp.EV_RECONNECT


def test_critical_customer_never_trips():
    s, _, ev = _day((100, True), 10_000, 0, trippable=False)
    assert s == (-9_900, True) and not ev & pp.EV_TRIP


def test_month_end_settlement():
    carry, short = pp.month_end_settlement(np.array([1_500, 0, -250]))
    assert carry.tolist() == [1_500, 0, 0]
    assert short.tolist() == [0, 0, 250]
