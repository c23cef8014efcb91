"""Ledger: conservation on random ledgers, clear errors naming the customer."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2c.core import ledger as L

N = 5
entry = st.tuples(
    st.integers(0, N - 1), st.integers(0, 400), st.sampled_from(range(7)), st.integers(0, 10**9)
)

# What a simulation's own book does with each kind, written out independently of
# KIND_SIGN: charges raise the amount owed, payments/top-ups/write-offs lower it.
_OWN_SIGN = {
    L.BILL: 1,
    L.PAYMENT: -1,
    L.TOPUP: -1,
    L.PREPAID_DEBIT: 1,
    L.LATE_FEE: 1,
    L.ADJUSTMENT: 1,
    L.WRITE_OFF: -1,
}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(entry, max_size=200),
    st.lists(st.integers(-(10**6), 10**6), min_size=N, max_size=N),
    st.lists(st.tuples(st.integers(0, N - 1), st.integers(-(10**6), 10**6)), max_size=20),
    st.integers(0, 3),
)
def test_random_ledgers_conserve(entries, opening, adjustments, split):
    led = L.Ledger(N, np.array(opening, dtype=np.int64))
    closing = list(opening)  # a plain-Python book kept on the side
    cash = 0
    cut = len(entries) * split // 4
    for c, d, k, a in entries[:cut]:
        led.append(c, d, k, a)
    if entries[cut:]:  # the rest as one array batch, as the daily kernels book them
        arr = np.array(entries[cut:], dtype=np.int64)
        led.append_many(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
    for c, _d, k, a in entries:
        closing[c] += _OWN_SIGN[k] * a
        cash += a if k in (L.PAYMENT, L.TOPUP) else 0
    for c, a in adjustments:  # corrections may be negative
        led.append(c, 0, L.ADJUSTMENT, a)
        closing[c] += a
    led.check_conservation(np.array(closing), cash_received_fen=cash)
    assert led.balances().tolist() == closing
    assert led.totals().cash == cash
    # single appends keep zero amounts, append_many drops them
    assert len(led) == cut + sum(1 for e in entries[cut:] if e[3] != 0) + len(adjustments)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(entry, min_size=1, max_size=60),
    st.integers(0, N - 1),
    st.integers(-1000, 1000).filter(lambda x: x != 0),
)
def test_tampered_closing_balance_is_caught(entries, victim, delta):
    led = L.Ledger(N)
    closing = np.zeros(N, dtype=np.int64)
    for c, d, k, a in entries:
        led.append(c, d, k, a)
        closing[c] += _OWN_SIGN[k] * a
    closing[victim] += delta
    with pytest.raises(L.LedgerImbalanceError, match=f"customer {victim}:") as err:
        led.check_conservation(closing)
    assert f"difference {delta} fen" in str(err.value)


def test_imbalance_names_the_customer():
    led = L.Ledger(3, np.array([0, 0, 100]))
    led.append(2, 31, L.BILL, 12_345)
    led.append(2, 40, L.PAYMENT, 10_000)
    # owed: 100 + 12 345 - 10 000 = 2 445 fen; the book says 2 446
    with pytest.raises(L.LedgerImbalanceError, match="customer 2") as err:
        led.check_conservation(np.array([0, 0, 2_446]))
    assert "difference 1 fen" in str(err.value) and "= 2445 fen" in str(err.value)
    led.check_conservation(np.array([0, 0, 2_445]))
    with pytest.raises(L.LedgerImbalanceError, match="cash received"):
        led.check_conservation(np.array([0, 0, 2_445]), cash_received_fen=9_999)
    with pytest.raises(ValueError, match=r"closing_fen must have shape \(3,\)"):
        led.check_conservation(np.array([0, 2_445]))


def test_each_kind_moves_the_balance_the_right_way():
    led = L.Ledger(1)
    for kind, amount in (
        (L.BILL, 10_000),
        (L.LATE_FEE, 30),
        (L.PREPAID_DEBIT, 500),
        (L.PAYMENT, 4_000),
        (L.TOPUP, 1_000),
        (L.WRITE_OFF, 200),
        (L.ADJUSTMENT, -7),
    ):
        led.append(0, 1, kind, amount)
    # 10 000 + 30 + 500 - 4 000 - 1 000 - 200 - 7 = 5 323
    assert led.balances().tolist() == [5_323]
    t = led.totals()
    assert t.cash == 5_000 and t.charges == 10_000 + 30 + 500 - 7
    assert t.by_kind["write_off"] == 200


def test_append_validation():
    led = L.Ledger(2)
    with pytest.raises(ValueError, match="customer 2 out of range"):
        led.append(2, 0, L.BILL, 1)
    with pytest.raises(ValueError, match="customer -1 out of range"):
        led.append(-1, 0, L.BILL, 1)
    with pytest.raises(ValueError, match="payment amount must be >= 0"):
        led.append(0, 0, L.PAYMENT, -5)
    with pytest.raises(ValueError, match="unknown entry kind 7"):
        led.append(0, 0, 7, 5)
    with pytest.raises(ValueError, match=r"customer ids must be in 0\.\.1"):
        led.append_many(np.array([0, 5]), 3, L.BILL, np.array([1, 1]))
    with pytest.raises(ValueError, match="bill amount must be >= 0"):
        led.append_many(np.array([0, 1]), 3, L.BILL, np.array([1, -1]))
    with pytest.raises(ValueError, match="entry kinds must be in"):
        led.append_many(np.array([0]), 3, 9, np.array([1]))
    with pytest.raises(ValueError, match="opening_fen must be an integer array"):
        L.Ledger(2, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="n_customers must be >= 0"):
        L.Ledger(-1)
    assert len(led) == 0  # nothing was booked by the refused calls
    led.append(0, 0, L.ADJUSTMENT, -5)  # corrections may be negative
    led.append_many(np.array([0, 1]), 3, L.BILL, np.array([0, 7]))  # zeros are dropped
    assert len(led) == 2 and led.balances().tolist() == [-5, 7]
    # entries keep booking order and fields
    e = led.entries
    assert e["kind"].tolist() == [L.ADJUSTMENT, L.BILL] and e["day"].tolist() == [0, 3]
