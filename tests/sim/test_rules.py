"""Each rule of sim.rules on one customer: a state in, the hand-computed state out.

The equality test of the fast and the reference model cannot catch a wrong
rule (both run the same rules); these tests can. Every expected figure is
worked out in the test from DOMAIN.md's rules and the scenario's numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from m2c.sim import rules as R
from m2c.sim.rules import (
    Cost,
    DayFact,
    Event,
    Field,
    FleetInt,
    IntParam,
    Job,
    Out,
    SegProb,
    Tally,
    dunning,
    month_end,
    payment,
    prepaid,
    slots,
)

S = 4  # money slots: 0 = opening arrears, 1..3 months


class One:
    """One customer's arrays in the layouts of sim.rules.layout."""

    def __init__(self, klass=R.Klass.COMMERCIAL, meter=R.Meter.MANUAL, segment=0, channel=0):
        self.cs = np.zeros((1, len(Field)), dtype=np.int64)
        self.cs[0, Field.LAST_CONTACT] = -1000
        self.cs[0, Field.DISC_READY] = R.NEVER
        self.cs[0, Field.RECON_READY] = R.NEVER
        self.cs[0, Field.DISPUTE_DAY] = R.NEVER
        self.cs[0, Field.SCORE] = 50
        self.cs[0, Field.METER] = meter
        self.unpaid = np.zeros((1, S), dtype=np.int64)
        self.recv = np.zeros((1, S), dtype=np.int64)
        self.due = np.full((1, S), R.NO_DUE, dtype=np.int64)
        self.tally = np.zeros((1, len(Tally)), dtype=np.int64)
        self.cost = np.zeros((1, len(Cost)), dtype=np.int64)
        self.out = np.zeros((1, len(Out)), dtype=np.int64)
        self.fi = np.zeros((1, len(FleetInt)), dtype=np.int64)
        self.fi[0, FleetInt.KLASS] = klass
        self.fi[0, FleetInt.SEGMENT] = segment
        self.fi[0, FleetInt.CHANNEL] = channel
        self.fi[0, FleetInt.TYPICAL_FEN] = 2_000  # 20 CNY a day
        self.ip = np.zeros(len(IntParam), dtype=np.int64)
        self.ip[IntParam.SEED] = 7
        self.ip[IntParam.DUE_DAYS] = 15
        self.ip[IntParam.DISC_AFTER] = 30
        self.ip[IntParam.APPROVAL] = 2
        self.ip[IntParam.RECON_RES] = 1
        self.ip[IntParam.RECON_OTHER] = 2
        self.ip[IntParam.LEGAL_AFTER] = 180
        self.ip[IntParam.BANK_CH] = -1
        self.ip[IntParam.COST_REMOTE] = 100
        self.ip[IntParam.COST_LEGAL] = 80_000
        self.ip[IntParam.TOPUP_DAYS] = 30
        self.ip[IntParam.ALERT] = 10_000
        self.ip[IntParam.SETTLE] = 10
        self.ip[IntParam.NEG_OPEN] = -1  # the scenario default: negotiate at the disconnection rule
        self.seg = np.zeros((1, len(SegProb)))
        self.ch_fail = np.zeros(1)
        self.ch_conv = np.ones(1)
        self.ch_cost = np.array([50], dtype=np.int64)
        self.ch_delay = np.array([0], dtype=np.int64)
        self.ip[IntParam.ON_TIME_DAYS] = 1
        self.st = np.zeros((1, len(R.Station)), dtype=np.int64)

    def dv(self, day, slot=1, calmonth=0, year=2025, month_start=0):
        dv = np.zeros(len(DayFact), dtype=np.int64)
        dv[DayFact.DAY], dv[DayFact.SLOT], dv[DayFact.CALMONTH] = day, slot, calmonth
        dv[DayFact.YEAR], dv[DayFact.MONTH_START] = year, month_start
        return dv

    def owe(self, slot, amount, due_day):
        slots.add_charge(0, slot, amount, due_day, self.cs, self.unpaid, self.recv, self.due)


# -- slots ------------------------------------------------------------------------------
def test_charge_uses_credit_then_payment_settles_oldest_first():
    c = One()
    c.cs[0, Field.CREDIT] = 3_000
    c.cs[0, Field.OWED] = -3_000
    c.owe(1, 10_000, 15)  # 100 CNY: 30 CNY of credit settle it, 70 CNY stay unpaid
    assert c.unpaid[0, 1] == 7_000 and c.cs[0, Field.OWED] == 7_000
    assert c.cs[0, Field.CREDIT] == 0 and c.recv[0, 1] == 10_000 and c.due[0, 1] == 15
    c.owe(2, 5_000, 45)
    slots.settle(0, 9_000, c.cs, c.unpaid)  # 70 CNY to slot 1, 20 CNY to slot 2
    assert c.unpaid[0].tolist() == [0, 0, 3_000, 0]
    slots.settle(0, 4_000, c.cs, c.unpaid)  # 30 CNY to slot 2, 10 CNY credit
    assert c.cs[0, Field.CREDIT] == 1_000 and c.cs[0, Field.OWED] == -1_000
    assert c.unpaid.sum() - c.cs[0, Field.CREDIT] == c.cs[0, Field.OWED]


def test_days_overdue_is_the_oldest_unpaid_slot():
    c = One()
    c.owe(1, 100, 15)
    c.owe(2, 100, 45)
    assert slots.days_overdue(0, 50, c.unpaid, c.due) == 35  # slot 1: 50 - 15
    slots.settle(0, 100, c.cs, c.unpaid)
    assert slots.days_overdue(0, 50, c.unpaid, c.due) == 5  # slot 2: 50 - 45
    slots.settle(0, 100, c.cs, c.unpaid)
    assert slots.days_overdue(0, 50, c.unpaid, c.due) == R.NOTHING_DUE


@pytest.mark.parametrize(
    ("residential", "slot_year", "ppm"),
    [(True, 2025, 1000), (False, 2025, 2000), (False, 2024, 3000)],
)
def test_late_fee_rates_and_the_one_yuan_minimum(residential, slot_year, ppm):
    c = One()
    c.owe(1, 10_000, 15)  # 100 CNY due day 15
    years = np.array([2024, slot_year, 2025, 2025])
    for day in (15, 16, 17):  # no fee on the due day; two overdue days
        slots.accrue_late_fee(0, day, 2025, residential, years, c.cs, c.unpaid, c.due)
    assert c.cs[0, Field.ACCRUED] == 2 * 10_000 * ppm
    # 2 x 100 CNY x 0.1..0.3 % = 0.2..0.6 CNY, below the 1 CNY minimum
    fee = slots.book_late_fee(0, 17, 1, 15, c.cs, c.unpaid, c.recv, c.due)
    assert fee == 100 and c.cs[0, Field.ACCRUED] == 0 and c.unpaid[0, 1] == 10_100


# -- payment ------------------------------------------------------------------------------
def test_pay_probability_takes_the_strongest_pressure():
    row = np.array([0.1, 0.05, 0.3, 0.6, 0.9, 0.7, 0, 0, 0, 0])
    assert payment.pay_probability(row, 0, False, False, False, False) == 0.1  # before due
    assert payment.pay_probability(row, 5, False, False, False, False) == 0.05  # after
    assert payment.pay_probability(row, 5, True, False, False, False) == 0.3  # reminded
    assert payment.pay_probability(row, 5, True, True, False, False) == 0.6  # notice
    assert payment.pay_probability(row, 5, True, True, True, True) == 0.9  # disconnected
    assert payment.pay_probability(row, 5, True, True, False, True) == 0.7  # sued


def test_postpaid_payment_books_the_fee_then_settles_everything():
    c = One()
    c.seg[0, SegProb.AFTER] = 1.0  # pays for sure (the rule caps the daily chance at 95 %)
    c.owe(1, 10_000, 15)
    c.cs[0, Field.ACCRUED] = 3 * 10_000 * 2000  # three overdue days at 0.2 %: 0.6 CNY -> 1 CNY
    paid_on = next(d for d in range(20, 60) if _pays(c, d))
    assert c.out[0, Out.FEE] == 100
    assert c.out[0, Out.PAY] == 10_100  # the bill + the booked fee
    assert c.cs[0, Field.OWED] == 0 and c.unpaid.sum() == 0
    assert c.tally[0, Tally.PAYMENTS] == 1 and c.tally[0, Tally.CASH_FEN] == 10_100
    assert c.cost[0, Cost.CHANNEL] == 50 and paid_on >= 20


def _pays(c, day):
    payment.postpaid_payment(
        0,
        c.dv(day),
        c.fi,
        c.ip,
        c.seg,
        c.ch_fail,
        c.ch_conv,
        c.ch_cost,
        c.ch_delay,
        c.cs,
        c.unpaid,
        c.recv,
        c.due,
        c.tally,
        c.cost,
        c.out,
    )
    return c.out[0, Out.PAY] > 0


def test_a_failed_channel_takes_no_money():
    c = One()
    c.seg[0, SegProb.AFTER] = 1.0
    c.ch_fail[0] = 1.0
    c.owe(1, 10_000, 15)
    assert not any(_pays(c, d) for d in range(20, 40))
    assert c.cs[0, Field.OWED] == 10_000 and c.tally[0, Tally.PAY_FAILED] > 0


# -- prepaid ------------------------------------------------------------------------------
def test_topup_amount_clears_debt_and_buys_the_days():
    # owes 12.34 CNY; 30 days x 20 CNY = 600 CNY; 612.34 CNY rounds up to 620 CNY
    assert prepaid.topup_amount(1_234, 30, 2_000, 0) == 62_000
    assert prepaid.topup_amount(-5_000, 30, 2_000, 0) == 60_000  # credit does not reduce it
    # a factory: 45 days x 2 000 CNY of energy + two months' basic charge of 8 000 CNY
    # (315 kVA x 25.4 CNY/kVA) = 90 000 + 16 000 = 106 000 CNY
    assert prepaid.topup_amount(0, 45, 200_000, 800_000) == 10_600_000


def test_alert_is_days_of_use_for_large_customers():
    c = One()
    c.ip[IntParam.ALERT_DAYS] = 7
    assert prepaid.alert_fen(c.ip, 2_000) == 14_000  # a household: 7 x 20 CNY > 100 CNY
    assert prepaid.alert_fen(c.ip, 1_000) == 10_000  # the flat 100 CNY floor
    assert prepaid.alert_fen(c.ip, 300_000) == 2_100_000  # a factory: 7 days = 21 000 CNY


def test_a_customer_who_stops_buying_is_inspected():
    c = One(meter=R.Meter.PREPAID)
    c.ip[IntParam.ANOMALY_DAYS] = 15
    c.cs[0, Field.LAST_TOPUP] = 100
    c.cs[0, Field.ANOMALY_DAY] = -1000
    prepaid.tamper_anomaly(0, 145, c.ip, c.cs, c.tally, c.out)  # 45 days = 30 + 15: not yet
    assert c.out[0, Out.JOBS] == 0
    prepaid.tamper_anomaly(0, 146, c.ip, c.cs, c.tally, c.out)
    assert c.out[0, Out.JOBS] == Job.INSPECT and c.cs[0, Field.ANOMALY_DAY] == 146
    c.out[0, Out.JOBS] = 0
    prepaid.tamper_anomaly(0, 160, c.ip, c.cs, c.tally, c.out)  # asked 14 days ago: wait
    assert c.out[0, Out.JOBS] == 0 and c.tally[0, Tally.ANOMALY_INSPECTIONS] == 1


def _prepaid_day(c, day, charge):
    prepaid.prepaid_day(
        0,
        c.dv(day),
        c.fi,
        c.ip,
        c.seg,
        c.ch_fail,
        c.ch_conv,
        c.ch_cost,
        c.ch_delay,
        np.array([-1, 30, 60, 90]),
        charge,
        c.cs,
        c.unpaid,
        c.recv,
        c.due,
        c.tally,
        c.cost,
        c.out,
    )


def test_prepaid_debit_then_trip_at_zero_without_a_topup():
    c = One(meter=R.Meter.PREPAID)
    c.cs[0, Field.OWED] = -1_500  # 15 CNY of credit
    c.cs[0, Field.CREDIT] = 1_500
    _prepaid_day(c, 3, 1_000)  # debit 10 CNY: 5 CNY left, no trip
    assert c.out[0, Out.DEBIT] == 1_000 and c.cs[0, Field.OWED] == -500
    assert c.cs[0, Field.TRIPPED] == 0 and c.recv[0, 1] == 1_000 and c.due[0, 1] == 30 + 10
    _prepaid_day(c, 4, 1_000)  # 5 CNY owed after the debit: trips
    assert c.cs[0, Field.OWED] == 500 and c.cs[0, Field.TRIPPED] == 1
    assert c.out[0, Out.EVENTS] & Event.TRIP and c.tally[0, Tally.TRIPS] == 1


def test_prepaid_topup_when_tripped_reconnects():
    c = One(meter=R.Meter.PREPAID)
    c.seg[0, SegProb.TOPUP_TRIPPED] = 1.0
    c.cs[0, Field.TRIPPED] = 1
    c.owe(1, 500, 40)  # 5 CNY owed from the debit that tripped it
    _prepaid_day(c, 5, 0)
    assert c.out[0, Out.TOPUP] == 61_000  # 5 + 600 CNY rounded up to 610 CNY
    assert c.cs[0, Field.OWED] == 500 - 61_000 and c.cs[0, Field.TRIPPED] == 0
    assert c.out[0, Out.EVENTS] & Event.PREPAID_RECONNECT


def test_critical_prepaid_customer_is_never_tripped():
    c = One(klass=R.Klass.CRITICAL, meter=R.Meter.PREPAID)
    _prepaid_day(c, 3, 1_000)
    assert c.cs[0, Field.OWED] == 1_000 and c.cs[0, Field.TRIPPED] == 0


# -- dunning -------------------------------------------------------------------------------
def test_ladder_takes_every_step_reached_and_queues_crew_steps():
    c = One()
    lad = np.array(
        [
            [1, R.Action.SMS, 0, 5],
            [7, R.Action.CALL, 0, 200],
            [15, R.Action.NOTICE, 1, 1_000],
            [40, R.Action.VISIT, 1, 1_500],
        ]
    )
    dunning.ladder_steps(0, 100, 10, lad, c.cs, c.tally, c.cost, c.out)  # 10 days overdue
    assert c.cs[0, Field.LADDER] == 2 and c.cost[0, Cost.SMS] == 5
    assert c.cost[0, Cost.CALL] == 200 and c.cs[0, Field.LAST_CONTACT] == 100
    assert c.out[0, Out.JOBS] == 0
    dunning.ladder_steps(0, 105, 15, lad, c.cs, c.tally, c.cost, c.out)
    assert c.out[0, Out.JOBS] == Job.NOTICE and c.cs[0, Field.LADDER] == 3


def test_disconnection_needs_notice_and_30_days_then_approval():
    c = One(meter=R.Meter.AMI)
    c.ip[IntParam.REMOTE] = 1
    dunning.disconnection(0, 100, 31, R.Klass.RESIDENTIAL, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.DISC_READY] == R.NEVER  # no notice served: nothing happens
    c.cs[0, Field.NOTICE] = 1
    dunning.disconnection(0, 100, 30, R.Klass.RESIDENTIAL, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.DISC_READY] == R.NEVER  # 30 days is not "more than 30"
    dunning.disconnection(0, 100, 31, R.Klass.RESIDENTIAL, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.DISC_READY] == 102 and c.cs[0, Field.SUPPLY_OFF] == 0  # approval: 2 d
    dunning.disconnection(0, 102, 33, R.Klass.RESIDENTIAL, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.SUPPLY_OFF] == 1 and c.cost[0, Cost.DISCONNECT] == 100
    assert c.out[0, Out.EVENTS] & Event.DISCONNECT


def test_critical_customers_are_negotiated_not_cut():
    c = One(klass=R.Klass.CRITICAL)
    c.cs[0, Field.NOTICE] = 1
    dunning.disconnection(0, 100, 40, R.Klass.CRITICAL, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.NEGOTIATED] == 1 and c.tally[0, Tally.NEGOTIATIONS] == 1
    assert c.cs[0, Field.DISC_READY] == R.NEVER and c.out[0, Out.JOBS] == 0


def test_monthly_negotiation_opens_on_the_first_overdue_day_without_notice():
    lad = np.zeros((0, 4), dtype=np.int64)  # no ladder: only the negotiation rule acts
    for klass, neg_open, overdue, opened in (
        (R.Klass.CRITICAL, -1, 1, 0),  # default: waits for the disconnection rule
        (R.Klass.CRITICAL, -1, 31, 0),  # ... which needs a notice served too
        (R.Klass.CRITICAL, 0, 0, 0),  # not overdue: nothing to agree
        (R.Klass.CRITICAL, 0, 1, 1),  # opens_after_days = 0: the first overdue day
        (R.Klass.CRITICAL, 5, 5, 0),
        (R.Klass.CRITICAL, 5, 6, 1),
        (R.Klass.COMMERCIAL, 0, 6, 0),  # only critical customers negotiate
    ):
        c = One(klass=klass)
        c.ip[IntParam.NEG_OPEN] = neg_open
        c.ip[IntParam.NEG_DELAY] = 5
        c.ip[IntParam.COST_NEG] = 20_000
        c.owe(1, 1_000_000, 100 - overdue)
        dunning.dunning_day(
            0, c.dv(100), c.fi, c.ip, lad, c.st, overdue, c.cs, c.tally, c.cost, c.out
        )
        assert c.cs[0, Field.NEGOTIATED] == opened, (klass, neg_open, overdue)
        assert c.cost[0, Cost.NEGOTIATION] == 20_000 * opened
        if opened:  # the agreement 5 x (0.5..1.5) days later
            assert 102 <= c.cs[0, Field.NEG_DAY] <= 107


def test_reconnection_after_payment_waits_the_working_days():
    c = One(klass=R.Klass.COMMERCIAL)
    c.cs[0, Field.SUPPLY_OFF] = 1
    c.cs[0, Field.NOTICE] = 1
    dunning.clear_dunning(0, 50, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.RECON_READY] == 52 and c.cs[0, Field.NOTICE] == 0  # 2 days, non-res.
    dunning.clear_dunning(0, 52, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.out[0, Out.JOBS] == Job.RECONNECT and c.cs[0, Field.RECON_READY] == R.QUEUED


def test_legal_action_by_age_never_for_critical():
    c = One()
    dunning.legal_action(0, 9, 180, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.LEGAL] == 0
    dunning.legal_action(0, 9, 181, True, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.LEGAL] == 0
    dunning.legal_action(0, 9, 181, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.LEGAL] == 1 and c.cost[0, Cost.LEGAL] == 80_000


def test_inspection_finds_tampering_and_back_bills():
    c = One(meter=R.Meter.PREPAID)
    c.ip[IntParam.TAMPER_MULT] = 3
    c.ip[IntParam.COST_INSPECT] = 3_000
    c.cs[0, Field.TAMPERED] = 1
    c.cs[0, Field.UNBILLED] = 50_000  # 500 CNY used through the bypass
    ev, adj = dunning.apply_job(
        0, 70, Job.INSPECT, c.fi, c.ip, c.cs, c.unpaid, c.recv, c.due, 2, c.tally, c.cost
    )
    assert adj == 50_000 * 4  # the energy plus a penalty of 3 times it
    assert c.unpaid[0, 2] == 200_000 and c.due[0, 2] == 85 and c.cs[0, Field.TRIPPED] == 1
    assert c.cs[0, Field.TAMPERED] == 0 and c.cost[0, Cost.INSPECT] == 3_000 and ev == 0


# -- month end -------------------------------------------------------------------------------
def test_month_end_writes_off_old_slots_and_rates():
    c = One()
    c.owe(0, 7_000, -200)  # due 200 days before the run: 1000 days old on day 800
    c.owe(1, 3_000, 15)
    c.cs[0, Field.MONTH_OVERDUE] = 1
    c.cs[0, Field.MONTH_DISC] = 1
    written = month_end.customer_month_end(
        0, 800, 2, 1095, 0, 0, c.fi, c.cs, c.unpaid, c.due, c.tally
    )
    # overdue, no payment (grade 0), a disconnection (-50, floored at 0): (3 x 50 + 0) // 4
    assert written == 0 and c.cs[0, Field.SCORE] == 37
    written = month_end.write_off(0, 1_000, 2, 1095, c.cs, c.unpaid, c.due, c.tally)
    assert written == 7_000 and c.unpaid[0, 0] == 0 and c.cs[0, Field.OWED] == 3_000
    month_end.rate_month(0, c.fi, c.cs, c.tally)  # a clean month, grade 100: (111 + 100) // 4
    assert c.cs[0, Field.SCORE] == 52 and c.cs[0, Field.MONTH_OVERDUE] == 0


def test_poor_rating_moves_a_large_customer_to_prepaid():
    c = One()
    c.fi[0, FleetInt.CAPACITY] = 100
    c.cs[0, Field.SCORE] = 29
    month_end.move_to_prepaid(0, 30, 200, c.fi, c.cs)  # too small: 100 < 200 kVA
    assert c.cs[0, Field.METER] == R.Meter.MANUAL
    month_end.move_to_prepaid(0, 30, 80, c.fi, c.cs)
    assert c.cs[0, Field.CONVERT] == 1 and c.cs[0, Field.METER] == R.Meter.MANUAL
    # the meter changes only when a crew does the job, at the meter's cost
    c.ip[IntParam.COST_METER] = 150_000
    dunning.apply_job(
        0, 40, Job.METER_CHANGE, c.fi, c.ip, c.cs, c.unpaid, c.recv, c.due, 1, c.tally, c.cost
    )
    assert c.cs[0, Field.METER] == R.Meter.PREPAID and c.cost[0, Cost.METER] == 150_000
    assert c.cs[0, Field.CONVERT] == 0 and c.tally[0, Tally.METER_CHANGES] == 1


def test_layout_counts_come_from_the_names():
    assert len(Field) == len({f.value for f in Field}) == max(Field) + 1
    assert [j.value for j in Job] == [1 << k for k in range(len(Job))]
    assert R.COST_NAMES[Cost.INSPECT] == "inspect"
    assert int(R.PrepaidEv.TRIP) == 8  # core.prepaid.EV_TRIP


# -- issue 15 mechanisms ---------------------------------------------------------------------
def test_pressure_stops_an_enterprise_disconnection_and_retries_later():
    c = One(meter=R.Meter.AMI)
    c.ip[IntParam.REMOTE] = 1
    c.ip[IntParam.PRESSURE_PPM] = 1_000_000  # always pressed
    c.ip[IntParam.PRESSURE_DELAY] = 30
    c.cs[0, Field.NOTICE] = 1
    c.cs[0, Field.DISC_READY] = 100
    dunning.disconnection(0, 100, 40, R.Klass.INDUSTRIAL, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.SUPPLY_OFF] == 0 and c.cs[0, Field.DISC_READY] == 130
    assert c.tally[0, Tally.PRESSURE_BLOCKS] == 1
    # households are not shielded
    dunning.disconnection(0, 130, 70, R.Klass.RESIDENTIAL, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.SUPPLY_OFF] == 1


def test_negotiated_settlement_offsets_half_and_pays_the_rest():
    c = One(klass=R.Klass.CRITICAL)
    c.ip[IntParam.NEG_DELAY] = 30
    c.ip[IntParam.NEG_OFFSET_PPM] = 500_000
    c.ip[IntParam.COST_NEG] = 20_000
    c.owe(1, 1_000_000, 15)  # 10 000 CNY
    c.cs[0, Field.NOTICE] = 1
    dunning.disconnection(0, 50, 35, R.Klass.CRITICAL, c.ip, c.cs, c.tally, c.cost, c.out)
    agree = c.cs[0, Field.NEG_DAY]
    assert 50 + 15 <= agree <= 50 + 45 and c.cost[0, Cost.NEGOTIATION] == 20_000
    dunning.negotiated_settlement(
        0, c.dv(agree - 1), c.ip, c.cs, c.unpaid, c.recv, c.due, c.tally, c.out
    )
    assert c.cs[0, Field.OWED] == 1_000_000  # not yet
    c.cs[0, Field.ACCRUED] = 1_000_000 * 2000 * 30  # 30 days at 0.2 %: 600 CNY of late fee
    dunning.negotiated_settlement(
        0, c.dv(agree), c.ip, c.cs, c.unpaid, c.recv, c.due, c.tally, c.out
    )
    # 10 000 + 600 CNY: 5 300 CNY offset (negative adjustment), 5 300 CNY paid
    assert c.out[0, Out.FEE] == 60_000
    assert c.out[0, Out.ADJ] == -530_000 and c.out[0, Out.PAY] == 530_000
    assert c.cs[0, Field.OWED] == 0 and c.cs[0, Field.NEGOTIATED] == 0


def test_court_rules_months_later_won_or_lost():
    c = One()
    c.ip[IntParam.LEGAL_DAYS] = 180
    c.owe(1, 50_000, 15)
    dunning.legal_action(0, 200, 185, False, c.ip, c.cs, c.tally, c.cost, c.out)
    ruling = c.cs[0, Field.LEGAL_DAY]
    assert 200 + 90 <= ruling <= 200 + 270
    c.ip[IntParam.LEGAL_WIN_PPM] = 1_000_000
    dunning.court_ruling(0, c.dv(ruling - 1), c.ip, c.cs, c.unpaid, c.recv, c.due, c.tally, c.out)
    assert c.cs[0, Field.LEGAL] == 1
    dunning.court_ruling(0, c.dv(ruling), c.ip, c.cs, c.unpaid, c.recv, c.due, c.tally, c.out)
    assert c.out[0, Out.PAY] == 50_000 and c.cs[0, Field.OWED] == 0
    assert c.cs[0, Field.LEGAL] == 0 and c.tally[0, Tally.COURT_WON] == 1
    lost = One()
    lost.owe(1, 50_000, 15)
    dunning.legal_action(0, 200, 185, False, lost.ip, lost.cs, lost.tally, lost.cost, lost.out)
    lost.ip[IntParam.LEGAL_WIN_PPM] = 0
    dunning.court_ruling(
        0, lost.dv(1000), lost.ip, lost.cs, lost.unpaid, lost.recv, lost.due, lost.tally, lost.out
    )
    assert lost.cs[0, Field.LEGAL] == 2 and lost.cs[0, Field.OWED] == 50_000


def test_rating_lawsuit_needs_the_amount():
    c = One()
    c.ip[IntParam.LEGAL_BELOW] = 30
    c.ip[IntParam.LEGAL_MIN] = 100_000  # 1 000 CNY
    c.cs[0, Field.SCORE] = 20
    c.owe(1, 99_999, 15)
    dunning.legal_action(0, 60, 45, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.LEGAL] == 0
    c.owe(1, 1, 15)
    dunning.legal_action(0, 60, 45, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.LEGAL] == 1


def test_station_effort_calls_every_few_days_and_visits_large_debts():
    c = One()
    c.ip[IntParam.COST_CALL] = 50
    c.ip[IntParam.EFFORT_VISIT_MIN] = 50_000
    c.owe(1, 60_000, 15)
    dunning.station_effort(0, 40, c.st, c.fi, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.tally[0, Tally.EFFORT_CALLS] == 0  # the station is not making an effort
    c.st[0, R.Station.EFFORT] = 1
    dunning.station_effort(0, 40, c.st, c.fi, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.LAST_CONTACT] == 40 and c.out[0, Out.JOBS] == Job.VISIT
    dunning.station_effort(0, 43, c.st, c.fi, c.ip, c.cs, c.tally, c.cost, c.out)  # 3 days
    dunning.station_effort(0, 44, c.st, c.fi, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.tally[0, Tally.EFFORT_CALLS] == 2 and c.cost[0, Cost.CALL] == 100


def test_money_reaches_the_account_after_the_channel_delay():
    c = One()
    delay = np.array([0, 1, 3])
    payment.pay_in(0, 10, 2, 5_000, delay, c.ip, c.cs, c.tally)  # online banking, 3 days
    payment.pay_in(0, 10, 1, 2_000, delay, c.ip, c.cs, c.tally)  # bank link, next day
    assert c.tally[0, Tally.CASH_FEN] == 7_000 and c.tally[0, Tally.CASH_ON_TIME_FEN] == 2_000
    assert c.cs[0, Field.TRANSIT_FEN] == 7_000 and c.cs[0, Field.TRANSIT_DAY] == 13
    payment.funds_arrive(0, 12, c.cs, c.tally)
    assert c.tally[0, Tally.CASH_ARRIVED_FEN] == 0
    payment.funds_arrive(0, 13, c.cs, c.tally)
    assert c.tally[0, Tally.CASH_ARRIVED_FEN] == 7_000 and c.cs[0, Field.TRANSIT_FEN] == 0


def test_rating_moves_on_observed_amounts_and_tampering():
    c = One()
    c.cs[0, Field.OWED] = 91 * 2_000  # more than 90 days of expected use
    c.cs[0, Field.MONTH_OVERDUE] = 1
    c.cs[0, Field.MONTH_TAMPER] = 1
    c.tally[0, Tally.PAYMENTS] = 1  # paid something: grade 50, less 25 for the amount
    month_end.rate_month(0, c.fi, c.cs, c.tally)
    assert c.cs[0, Field.SCORE] == (3 * 50 + 25) // 4 - 30  # 43 - 30 for tampering = 13


def test_rating_tells_a_late_payer_from_one_who_pays_nothing():
    """DOMAIN.md "Dunning": unintentional debtors pay late or in part, deliberate ones do
    not pay; the rating tells them apart from what the utility observed (issue 15)."""
    late, none = One(), One()
    for c in (late, none):
        c.cs[0, Field.SCORE] = 60  # the neutral prior
    late_scores, none_scores = [], []
    for _ in range(3):
        for c, scores, paid in ((late, late_scores, 1), (none, none_scores, 0)):
            c.cs[0, Field.MONTH_OVERDUE] = 1
            c.tally[0, Tally.PAYMENTS] = paid
            month_end.rate_month(0, c.fi, c.cs, c.tally)
            scores.append(int(c.cs[0, Field.SCORE]))
    # paid late or in part every month (grade 50): (180 + 50) // 4 = 57, then 55, 53
    assert late_scores == [57, 55, 53]
    # no payment at all (grade 0): 180 // 4 = 45, 135 // 4 = 33, 99 // 4 = 24 < 30
    assert none_scores == [45, 33, 24]
    # a month still cut off at month end counts as a disconnection: grade 50 - 50 = 0
    late.cs[0, Field.MONTH_OVERDUE] = 1
    late.cs[0, Field.SUPPLY_OFF] = 1
    month_end.rate_month(0, late.fi, late.cs, late.tally)
    assert late.cs[0, Field.SCORE] == 3 * 53 // 4  # 39


def test_rating_lawsuit_hand_computed():
    """credit.legal_below / legal_min_yuan (credit_driven): sued when the score is below
    30, more than disconnect_after = 30 days overdue and owing at least 1 000 CNY; never
    at 1 fen less, at score 30, at 30 days, or a critical customer."""

    def state(score=29, owed=100_000, klass=R.Klass.COMMERCIAL):
        c = One(klass=klass)
        c.ip[IntParam.LEGAL_BELOW] = 30
        c.ip[IntParam.LEGAL_MIN] = 100_000  # 1 000 CNY in fen
        c.ip[IntParam.LEGAL_AFTER] = 60  # the age rule of credit_driven: not reached at 31
        c.ip[IntParam.LEGAL_DAYS] = 180
        c.cs[0, Field.SCORE] = score
        c.owe(1, owed, 15)
        return c

    c = state()
    dunning.legal_action(0, 46, 31, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.cs[0, Field.LEGAL] == 1 and c.tally[0, Tally.LEGAL] == 1
    assert c.cost[0, Cost.LEGAL] == 80_000 and c.out[0, Out.EVENTS] & Event.LEGAL
    # the court rules 180 x (0.5 .. 1.5) days later
    assert 46 + 90 <= c.cs[0, Field.LEGAL_DAY] <= 46 + 270
    # a pending suit is not filed twice
    dunning.legal_action(0, 47, 32, False, c.ip, c.cs, c.tally, c.cost, c.out)
    assert c.tally[0, Tally.LEGAL] == 1 and c.cost[0, Cost.LEGAL] == 80_000
    for c, overdue, critical in (
        (state(owed=99_999), 31, False),  # 1 fen under legal_min_yuan
        (state(score=30), 31, False),  # not below legal_below
        (state(), 30, False),  # not more than disconnect_after days overdue
        (state(klass=R.Klass.CRITICAL), 31, True),  # negotiated with, never sued
        (state(klass=R.Klass.CRITICAL), 181, True),  # not even by age
    ):
        dunning.legal_action(0, 46, overdue, critical, c.ip, c.cs, c.tally, c.cost, c.out)
        assert c.cs[0, Field.LEGAL] == 0 and c.tally[0, Tally.LEGAL] == 0
        assert c.cost[0, Cost.LEGAL] == 0 and c.out[0, Out.EVENTS] == 0


def test_prepaid_price_table_holds_periods_and_blocks():
    """The residential tariff's annual blocks (2 760 / 4 800 kWh, adders 0 / 0.05 /
    0.30 CNY) in centi-kWh and micro-yuan, after its period price."""
    from m2c.core.tariffs import bundled_tariff, compile_tariffs
    from m2c.core.tariffs.compiled import UNBOUNDED

    names = ("industrial_tou_two_part", "residential_annual_tiers")
    table = compile_tariffs([bundled_tariff(n) for n in names])
    tab = R.prepaid_price_table(table.arrays)
    P, KB = table.n_periods, table.n_blocks
    res = tab[table.id_of("residential_annual_tiers")]
    assert res[P] == 2  # annual
    assert res[P + 1 : P + 1 + KB].tolist() == [276_000, 480_000, UNBOUNDED]
    assert res[P + 1 + KB :].tolist() == [0, 50_000, 300_000]
    ind = tab[table.id_of("industrial_tou_two_part")]
    assert ind[P] == 0 and not ind[P + 1 + KB :].any()


def test_prepaid_daily_debit_adds_the_block_adders_where_the_energy_falls():
    """30 kWh from 2 750 kWh into the year: 10 kWh in block 1 (no adder), 20 kWh at
    0.05 CNY = 100 fen; 10 kWh from 4 795 kWh: 5 kWh x 0.05 + 5 kWh x 0.30 = 25 + 150
    fen; past the last bound every kWh pays 0.30 CNY."""
    P, KB = 1, 3
    tab = np.zeros((1, P + 1 + 2 * KB), dtype=np.int64)
    tab[0, P] = 2
    tab[0, P + 1 : P + 1 + KB] = [276_000, 480_000, 2**62]
    tab[0, P + 1 + KB :] = [0, 50_000, 300_000]
    assert R.block_adders_fen(0, 275_000, 3_000, tab, P) == 100
    assert R.block_adders_fen(0, 479_500, 1_000, tab, P) == 175
    assert R.block_adders_fen(0, 500_000, 1_000, tab, P) == 300
    assert R.block_adders_fen(0, 0, 276_000, tab, P) == 0
