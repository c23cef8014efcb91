"""A station's billing run: read the meters, bill every postpaid customer, review.

Used by both models: the fast model passes all of a station's postpaid
customers at once, the reference model one customer at a time; every draw
is keyed by (seed, customer, day, purpose), so the two give the same bills.

Reading (DOMAIN.md "Read"): a manual read is estimated with the scenario's
estimate rate; an AMI read fails with probability 1 - daily success, is
retried ``ami_retries`` times, and is estimated if all tries fail. An
estimate bills the last actual read's energy; the next actual read bills
the true energy minus what the estimate billed (the carry may be negative,
so no kWh is billed twice or lost).

Review (DOMAIN.md "Bill"): a bill is wrong with the scenario's error rate
(a misread digit: ``error_factor`` x the energy charge); review catches a
share; a released error is disputed and credited ``dispute_days`` later.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numba import njit

from m2c.core import rng
from m2c.core.billing import bill_register
from m2c.sim import rules as R
from m2c.sim.fleet import AMI, Fleet
from m2c.sim.inputs import Params, State

P_ESTIMATE = rng.purpose("billing.estimate")
P_AMI_READ = rng.purpose("billing.ami_read")
P_BILL_ERROR = rng.purpose("billing.error")
P_REVIEW = rng.purpose("billing.review")


@njit(cache=True)
def read_is_estimated(i, day, seed, meter_kind, est_rate, ami_success, ami_retries):
    """Whether customer ``i``'s read on ``day`` is estimated (no actual read was taken)."""
    if meter_kind == AMI:
        for k in range(ami_retries + 1):
            if rng.uniform(seed, i, day, P_AMI_READ, k) < ami_success:
                return False
        return True
    return rng.uniform(seed, i, day, P_ESTIMATE) < est_rate


@njit(cache=True)
def read_meters(
    ids, day, seed, meter, est_rate, ami_success, ami_retries, acc, last_billed, tally, energy
):
    """Energy to bill per TOU period for customers ``ids`` into ``energy`` (len(ids), P)."""
    for j in range(ids.shape[0]):
        i = ids[j]
        estimated = read_is_estimated(i, day, seed, meter[i], est_rate, ami_success, ami_retries)
        tally[i, R.Tally.READS] += 1
        for p in range(acc.shape[1]):
            if estimated:
                e = last_billed[i, p]
            else:
                e = max(acc[i, p], 0)
                last_billed[i, p] = e
            acc[i, p] -= e
            energy[j, p] = e
        if estimated:
            tally[i, R.Tally.ESTIMATED] += 1


@njit(cache=True)
def post_bills(
    ids,
    day,
    slot,
    seed,
    due_days,
    err_rate,
    catch,
    factor,
    dispute_days,
    totals,
    energy,
    cs,
    unpaid,
    recv,
    due,
    tally,
    billed,
):
    """Book the reviewed bills into the slots; the amounts billed into ``billed``."""
    for j in range(ids.shape[0]):
        i = ids[j]
        amount = totals[j]
        tally[i, R.Tally.BILLS] += 1
        if rng.uniform(seed, i, day, P_BILL_ERROR) < err_rate:
            if rng.uniform(seed, i, day, P_REVIEW) < catch:
                tally[i, R.Tally.BILL_ERRORS_CAUGHT] += 1
            else:
                tally[i, R.Tally.BILL_ERRORS] += 1
                wrong = amount * factor
                cs[i, R.Field.DISPUTE_DAY] = day + dispute_days
                cs[i, R.Field.DISPUTE_FEN] += wrong - amount
                cs[i, R.Field.DISPUTE_SLOT] = slot
                amount = wrong
        billed[j] = amount
        if amount > 0:
            R.add_charge(i, slot, amount, day + due_days, cs, unpaid, recv, due)
        total_e = 0
        for p in range(energy.shape[1]):
            total_e += energy[j, p]
        cs[i, R.Field.YTD_CKWH] += total_e
        cs[i, R.Field.YTD_FEN] += totals[j]
        cs[i, R.Field.DMAX_W] = 0


class MeterReads(Protocol):
    """Reads some customers' meters another way (through the device driver: sim.meter_link)."""

    def serves(self, ids: np.ndarray) -> np.ndarray:
        """Bool mask: which of ``ids`` this reader reads."""
        ...

    def read(self, ids: np.ndarray, day: int, params: Params, state: State) -> np.ndarray:
        """Energy to bill per TOU period for ``ids``, (len(ids), P) centi-kWh, like read_meters."""
        ...


def read_and_price(
    ids: np.ndarray,
    day: int,
    calmonth: int,
    fleet: Fleet,
    params: Params,
    state: State,
    meters: MeterReads | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read customers ``ids`` and price their bills with the core: (energy, total fen).

    ``energy`` int64 (len(ids), P) centi-kWh per TOU period; ``total`` int64
    (len(ids),) fen, every tariff element (tiers, TOU, basic charge, PF
    adjustment, annual minimum in December). ``meters`` (gateway mode) reads
    the customers it serves through the device driver; the others are read
    from the simulation's arrays.
    """
    P = fleet.table.n_periods
    energy = np.zeros((ids.shape[0], P), dtype=np.int64)
    seed = int(params.ip[R.IntParam.SEED])
    via = np.zeros(ids.shape[0], dtype=bool) if meters is None else meters.serves(ids)
    own = ids if not via.any() else np.ascontiguousarray(ids[~via])
    own_energy = energy if own is ids else np.zeros((own.shape[0], P), dtype=np.int64)
    read_meters(
        own,
        day,
        seed,
        state.cs[:, R.Field.METER],
        params.manual_estimate_rate,
        params.ami_success,
        params.ami_retries,
        state.acc,
        state.last_billed,
        state.tally,
        own_energy,
    )
    if own is not ids:
        energy[~via] = own_energy
        energy[via] = meters.read(ids[via], day, params, state)  # type: ignore[union-attr]
    total_e = energy.sum(axis=1)
    q = fleet.q_ratio_ppm[ids]
    reactive = np.where(q > 0, (total_e * q + 500_000) // 1_000_000, -1)
    cs = state.cs
    bills = bill_register(
        fleet.table,
        fleet.tariff_id[ids],
        energy,
        month=calmonth + 1,
        ytd_energy_ckwh=cs[ids, R.Field.YTD_CKWH],
        max_demand_w=cs[ids, R.Field.DMAX_W],
        capacity_kva=fleet.capacity_kva[ids],
        reactive_ckvarh=reactive,
        period_demand_w=np.zeros((ids.shape[0], fleet.table.n_demand_periods), dtype=np.int64),
        ytd_billed_fen=cs[ids, R.Field.YTD_FEN] if calmonth == 11 else None,
        line_items=False,  # the ledger books bill totals; no line items are written
    )
    return energy, np.ascontiguousarray(bills.total_fen, dtype=np.int64)


def billing_run(
    ids: np.ndarray,
    day: int,
    slot: int,
    calmonth: int,
    fleet: Fleet,
    params: Params,
    state: State,
    meters: MeterReads | None = None,
) -> np.ndarray:
    """Read and bill postpaid customers ``ids`` (int64) on ``day``; return fen billed per id."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    energy, totals = read_and_price(ids, day, calmonth, fleet, params, state, meters)
    billed = np.zeros(ids.shape[0], dtype=np.int64)
    post_bills(
        ids,
        day,
        slot,
        int(params.ip[R.IntParam.SEED]),
        int(params.ip[R.IntParam.DUE_DAYS]),
        params.bill_error_rate,
        params.review_catch,
        params.error_factor,
        params.dispute_days,
        totals,
        energy,
        state.cs,
        state.unpaid,
        state.recv,
        state.due,
        state.tally,
        billed,
    )
    return billed


@njit(cache=True)
def post_settlements(ids, day, slot, due_days, totals, energy, cs, unpaid, recv, due, tally, adj):
    """Settle prepaid accounts against their bills; the signed adjustments (fen) into ``adj``.

    DOMAIN.md "Prepaid meters": at month end prepaid accounts are settled. The
    bill from the core (basic charge, PF adjustment, TOU and tiers) minus the
    debits since the last settlement: a shortfall is charged (due in
    ``due_days``, chased like any arrears), a surplus is credited and carries over.
    """
    for j in range(ids.shape[0]):
        i = ids[j]
        diff = totals[j] - cs[i, R.Field.DEBITED]
        cs[i, R.Field.DEBITED] = 0
        adj[j] = diff
        tally[i, R.Tally.SETTLEMENT_FEN] += diff
        if diff > 0:
            R.add_charge(i, slot, diff, day + due_days, cs, unpaid, recv, due)
        elif diff < 0:
            recv[i, slot] -= min(-diff, recv[i, slot])
            R.settle(i, -diff, cs, unpaid)
        total_e = 0
        for p in range(energy.shape[1]):
            total_e += energy[j, p]
        cs[i, R.Field.YTD_CKWH] += total_e
        cs[i, R.Field.YTD_FEN] += totals[j]
        cs[i, R.Field.DMAX_W] = 0


def prepaid_settlement(
    ids: np.ndarray,
    day: int,
    slot: int,
    calmonth: int,
    fleet: Fleet,
    params: Params,
    state: State,
) -> np.ndarray:
    """Read prepaid customers ``ids`` and settle them against the bill; signed fen per id."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    energy, totals = read_and_price(ids, day, calmonth, fleet, params, state)
    adj = np.zeros(ids.shape[0], dtype=np.int64)
    post_settlements(
        ids,
        day,
        slot,
        int(params.ip[R.IntParam.DUE_DAYS]),
        totals,
        energy,
        state.cs,
        state.unpaid,
        state.recv,
        state.due,
        state.tally,
        adj,
    )
    return adj
