"""Ledger: conservation on random ledgers, clear errors naming the customer."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2c.core import ledger as L

entry = st.tuples(st.integers(0, 4), st.integers(0, 400), st.sampled_from(range(7)),
                  st.integers(0, 10**9))


@settings(max_examples=60, deadline=None)
@given(st.lists(entry, max_size=200), st.lists(st.integers(-10**6, 10**6), min_size=5,
                                                max_size=5))
def test_random_ledgers_conserve(entries, opening):
    led = L.Ledger(5, np.array(opening, dtype=np.int64))
    closing = np.array(opening, dtype=np.int64)
    cash = 0
    for c, d, k, a in entries:
        led.append(c, d, k, a)
        closing[c] += L.KIND_SIGN[k] * a  # the book a simulation keeps on its side
        cash += a if k in (L.PAYMENT, L.TOPUP) else 0
    led.check_conservation(closing, cash_received_fen=cash)
    np.testing.assert_array_equal(led.balances(), closing)


def test_imbalance_names_the_customer():
    led = L.Ledger(3)
    led.append(2, 31, L.BILL, 12_345)
    led.append(2, 40, L.PAYMENT, 10_000)
    with pytest.raises(L.LedgerImbalanceError, match="customer 2") as err:
        led.check_conservation(np.array([0, 0, 2_346]))
    assert "difference 1 fen" in str(err.value)
    with pytest.raises(L.LedgerImbalanceError, match="cash received"):
        led.check_conservation(np.array([0, 0, 2_345]), cash_received_fen=9_999)


def test_append_validation():
    led = L.Ledger(2)
    with pytest.raises(ValueError, match="out of range"):
        led.append(2, 0, L.BILL, 1)
    with pytest.raises(ValueError, match="must be >= 0"):
        led.append(0, 0, L.PAYMENT, -5)
    led.append(0, 0, L.ADJUSTMENT, -5)  # corrections may be negative
    led.append_many(np.array([0, 1]), 3, L.BILL, np.array([0, 7]))  # zeros are dropped
    assert len(led) == 2 and led.balances().tolist() == [-5, 7]
