"""Prepaid meter accounts: daily debit, low-balance alert, trip and reconnect.

"Pay first, use after" (../shared/DOMAIN.md "Prepaid meters"). A prepaid
account holds a credit balance in fen (positive = money available). Each day,
for every prepaid customer, :func:`prepaid_day` does, in this order:

1. book the day's top-up (fen) into the balance; if the relay is open and
   the balance is now above the trip level, the relay closes (reconnect on
   top-up);
2. debit the day's consumption charge if the relay is closed (an open relay
   means no supply, so the caller passes no consumption for it; a charge
   passed for an open relay is not debited and is reported in ``refused``);
3. raise a low-balance alert when the balance crosses below the alert
   threshold (once per crossing);
4. trip the relay when the balance is at or below the trip level
   ``-credit_limit_fen`` (0 = trip at zero), unless the customer may not be
   tripped (critical customers, DOMAIN.md: hospitals, airport, government).

Event flags are written to an ``events`` array (bit flags ``EV_*``) so the
simulation can count alerts, trips and reconnections.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

EV_TOPUP = 1
EV_DEBIT = 2
EV_ALERT = 4
EV_TRIP = 8
EV_RECONNECT = 16
EV_REFUSED = 32  # a charge was passed for an open relay and not debited


@njit(cache=True, nogil=True)
def prepaid_step(balance, relay_closed, charge, topup, alert_fen, credit_limit_fen, trippable):
    """One customer-day; returns (new balance, relay closed, debited fen, event flags)."""
    ev = 0
    if topup > 0:
        balance += topup
        ev |= EV_TOPUP
        if not relay_closed and balance > -credit_limit_fen:
            relay_closed = True
            ev |= EV_RECONNECT
    debited = 0
    if charge > 0:
        if relay_closed:
            before = balance
            balance -= charge
            debited = charge
            ev |= EV_DEBIT
            if before >= alert_fen > balance:
                ev |= EV_ALERT
        else:
            ev |= EV_REFUSED
    if relay_closed and trippable and balance <= -credit_limit_fen:
        relay_closed = False
        ev |= EV_TRIP
    return balance, relay_closed, debited, ev


@njit(cache=True, parallel=True)
def prepaid_day(
    balance_fen,
    relay_closed,
    charge_fen,
    topup_fen,
    alert_fen,
    credit_limit_fen,
    trippable,
    debited_fen,
    events,
):
    """Apply one day to n prepaid accounts in place.

    Parameters (all shape (n,)): ``balance_fen`` int64 credit balance (in/out);
    ``relay_closed`` bool (in/out); ``charge_fen`` int64 the day's consumption
    charge; ``topup_fen`` int64 the day's top-ups; ``alert_fen`` int64
    low-balance alert threshold; ``credit_limit_fen`` int64 (trip when the
    balance is <= -credit_limit; 0 = trip at zero); ``trippable`` bool
    (False for critical customers); outputs ``debited_fen`` int64 and
    ``events`` int64 bit flags (EV_*).
    """
    for i in prange(balance_fen.shape[0]):
        b, r, d, ev = prepaid_step(
            balance_fen[i],
            relay_closed[i],
            charge_fen[i],
            topup_fen[i],
            alert_fen[i],
            credit_limit_fen[i],
            trippable[i],
        )
        balance_fen[i] = b
        relay_closed[i] = r
        debited_fen[i] = d
        events[i] = ev


def month_end_settlement(balance_fen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Month-end settlement of prepaid accounts (DOMAIN.md "Prepaid meters").

    A surplus carries over (it stays as credit); a shortfall (negative
    balance, possible with a credit limit) becomes arrears to chase.
    Returns ``(carry_fen, shortfall_fen)``, both >= 0, shape (n,).
    """
    b = np.asarray(balance_fen, dtype=np.int64)
    return np.maximum(b, 0), np.maximum(-b, 0)
