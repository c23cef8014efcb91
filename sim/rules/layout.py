"""The ONE declaration of the simulation's array layouts, flags and codes.

Every per-customer or per-parameter array the rules read is a 2-D int64 (or
float64) array whose columns are named here by an :class:`enum.IntEnum`;
the number of columns is ``len(<Enum>)``, so adding a name adds a column
everywhere. Numba compiles ``arr[i, Field.OWED]`` to a constant column
index (hftbacktest's ``types.py`` habit, ../shared/STYLE.md).

Layouts (rows x columns):

* ``cs[n, len(Field)]`` int64: each customer's changing state;
* ``out[n, len(Out)]`` int64: the day's outputs, booked after each day;
* ``tally[n, len(Tally)]`` int64 and ``cost[n, len(Cost)]`` int64 fen: this
  month's counters and collection cost, summed per station at month end;
* ``fi[n, len(FleetInt)]`` int64 and ``ff[n, len(FleetFloat)]`` float64:
  the fixed customer attributes the rules read;
* ``dv[len(DayFact)]`` int64: the facts of the day being simulated;
* ``ip[len(IntParam)]`` int64: integer scenario parameters;
* ``seg[n_segments, len(SegProb)]`` float64: behaviour probabilities;
* ``lad[n_steps, len(Ladder)]`` int64: the dunning ladder.

Bit flags (:class:`Job`, :class:`Event`) and codes (:class:`Action`,
:class:`Meter`, :class:`Klass`) are named here too: no rule writes a bare
``ev & 16`` or ``action == 4``.
"""

from __future__ import annotations

from enum import IntEnum, auto

from m2c.core import prepaid as _prepaid
from m2c.sim.scenario import ACTIONS, CLASSES


class Columns(IntEnum):
    """Base of the column layouts: members take 0, 1, 2, ... in declaration order."""

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        return count


class Flags(IntEnum):
    """Base of the bit flags: members take 1, 2, 4, ... in declaration order."""

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        return 1 << count


class Field(Columns):
    """Columns of ``cs``: a customer's changing state (money in fen, energy in centi-kWh)."""

    OWED = auto()  # balance owed (negative = credit / prepaid balance)
    CREDIT = auto()  # money received beyond what is owed (settles later charges)
    ACCRUED = auto()  # late fee accrued since the last payment, fen x ppm
    SUPPLY_OFF = auto()  # 1 = disconnected by the utility
    TRIPPED = auto()  # 1 = prepaid relay tripped
    TAMPERED = auto()  # 1 = prepaid trip device bypassed
    UNBILLED = auto()  # fen consumed through a bypassed device (back-billed when found)
    NOTICE = auto()  # 1 = a disconnection notice was served
    LADDER = auto()  # next dunning ladder step
    LAST_CONTACT = auto()  # day of the last reminder or visit
    DISC_READY = auto()  # day the disconnection is approved (NEVER / QUEUED)
    RECON_READY = auto()  # day the reconnection is due (NEVER / QUEUED)
    LEGAL = auto()  # 1 = under legal action
    SCORE = auto()  # credit score 0..100 (observed history only)
    METER = auto()  # Meter code (the credit policy may change it)
    NEGOTIATED = auto()  # 1 = a critical customer's arrears are in negotiation
    DMAX_W = auto()  # maximum demand since the last read, W
    DISPUTE_DAY = auto()  # day a released billing error is credited (NEVER)
    DISPUTE_FEN = auto()  # amount of that credit
    DISPUTE_SLOT = auto()  # slot of the wrong bill
    YTD_CKWH = auto()  # energy billed this calendar year
    YTD_FEN = auto()  # money billed this calendar year (annual minimum)
    MONTH_OVERDUE = auto()  # 1 = overdue at some point this month (credit rating)
    MONTH_DISC = auto()  # 1 = disconnected this month (credit rating)
    NEG_DAY = auto()  # day a critical customer's negotiated settlement is agreed (NEVER)
    LEGAL_DAY = auto()  # day the court rules on a pending lawsuit
    TRANSIT_FEN = auto()  # paid by the customer, not yet in the utility's account
    TRANSIT_DAY = auto()  # day that money arrives
    CONVERT = auto()  # credit policy's prepaid meter: 1 = decided, 2 = crew job queued
    LAST_TOPUP = auto()  # day of the last prepaid top-up
    MONTH_TAMPER = auto()  # 1 = tampering found this month (credit rating)
    DEBITED = auto()  # prepaid debits since the last settlement against the bill, fen
    ANOMALY_DAY = auto()  # day of the last anomaly inspection request


class Out(Columns):
    """Columns of ``out``: one customer's outputs of the day (fen unless noted)."""

    DEBIT = auto()  # prepaid debit
    TOPUP = auto()  # prepaid top-up
    PAY = auto()  # postpaid payment
    FEE = auto()  # late fee booked
    ADJ = auto()  # adjustment (dispute credit: negative)
    JOBS = auto()  # Job bit flags requested today
    EVENTS = auto()  # Event bit flags
    OVERDUE = auto()  # days the oldest unpaid charge is overdue tonight
    CHANNEL = auto()  # channel of today's payment or top-up


class Tally(Columns):
    """Columns of ``tally``: per-customer counters of the month (WRITE_OFF and CASH in fen)."""

    PAYMENTS = auto()
    PAY_FAILED = auto()
    BANK_TRIES = auto()
    BANK_FAILED = auto()
    DISCONNECTIONS = auto()
    RECONNECTIONS = auto()
    OUTAGE_DAYS = auto()
    READS = auto()
    ESTIMATED = auto()
    BILLS = auto()
    BILL_ERRORS = auto()
    BILL_ERRORS_CAUGHT = auto()
    TRIPS = auto()
    TAMPER_FOUND = auto()
    NEGOTIATIONS = auto()
    TOPUPS = auto()
    NOTICES = auto()
    WRITE_OFF_FEN = auto()
    LEGAL = auto()
    CASH_FEN = auto()
    EFFORT_CALLS = auto()  # station effort: calls to overdue customers
    CASH_ARRIVED_FEN = auto()  # money that reached the utility's account
    CASH_ON_TIME_FEN = auto()  # of which within funds.on_time_days of the payment
    PRESSURE_BLOCKS = auto()  # disconnections stopped by local-government pressure
    COURT_WON = auto()
    COURT_LOST = auto()
    METER_CHANGES = auto()  # prepaid meters fitted by the credit policy
    ANOMALY_INSPECTIONS = auto()  # inspections requested by a consumption anomaly
    SETTLEMENT_FEN = auto()  # prepaid month-end settlement: bill - debits (signed)
    NEGOTIATED_FEN = auto()  # critical customers' arrears settled by agreement
    OFFSET_FEN = auto()  # of which offset against money the customer is owed
    NOTICES_DIRECT = auto()  # notice-type ladder steps served without a crew (on time)


class Cost(Columns):
    """Columns of ``cost``: collection cost of the month by activity, fen."""

    SMS = auto()
    CALL = auto()
    EMAIL = auto()
    VISIT = auto()
    NOTICE = auto()
    DISCONNECT = auto()
    RECONNECT = auto()
    CHANNEL = auto()
    LEGAL = auto()
    INSPECT = auto()
    NEGOTIATION = auto()
    METER = auto()


COST_NAMES = tuple(c.name.lower() for c in Cost)


class FleetInt(Columns):
    """Columns of ``fi``: fixed integer customer attributes (sim.fleet.Fleet)."""

    STATION = auto()
    KLASS = auto()  # Klass code
    TARIFF = auto()  # tariff id in the compiled table
    CAPACITY = auto()  # kVA
    SEGMENT = auto()  # hidden behaviour segment (the rules' customer, never the utility's)
    PREPAYER = auto()  # 1 = pays a month ahead
    CHANNEL = auto()  # preferred payment channel
    TYPICAL_FEN = auto()  # expected daily energy charge
    PRICE_UY = auto()  # prepaid debit price, micro-yuan/kWh
    BASIC_FEN = auto()  # monthly basic charge (two-part tariffs)


class FleetFloat(Columns):
    """Columns of ``ff``: fixed float customer attributes."""

    BASE_KWH = auto()  # mean kWh per day of the class
    LEVEL = auto()  # the customer's consumption level (mean-one lognormal)


class Station(Columns):
    """Columns of ``st[n_stations, len(Station)]``: each station's state of the day."""

    EFFORT = auto()  # 1 = the station makes extra dunning effort today (assessment)


class DayFact(Columns):
    """Entries of ``dv``: the facts of the day being simulated."""

    DAY = auto()  # day index (0 = first simulated day)
    SLOT = auto()  # money slot of the month
    CALMONTH = auto()  # 0..11
    WEEKEND = auto()  # 1 on Saturday and Sunday
    YEAR = auto()  # calendar year
    MONTH_START = auto()  # 1 on the 1st of a month


class IntParam(Columns):
    """Entries of ``ip``: integer scenario parameters (fen, days, ppm)."""

    SEED = auto()
    DUE_DAYS = auto()
    DISC_AFTER = auto()
    APPROVAL = auto()
    RECON_RES = auto()
    RECON_OTHER = auto()
    LEGAL_AFTER = auto()
    SETTLE = auto()
    TOPUP_DAYS = auto()
    ALERT = auto()
    LIMIT = auto()
    REMOTE = auto()
    LEGAL_BELOW = auto()
    INSTAL_KVA = auto()
    BANK_CH = auto()
    COST_DISC = auto()
    COST_RECON = auto()
    COST_REMOTE = auto()
    COST_LEGAL = auto()
    DAY_SIGMA_PPM = auto()
    INSPECT_PPM = auto()
    COST_VISIT = auto()
    COST_NOTICE = auto()
    COST_INSPECT = auto()
    TAMPER_MULT = auto()
    COST_CALL = auto()  # fen per station-effort call
    EFFORT_VISIT_MIN = auto()  # fen owed from which station effort sends a visit
    ON_TIME_DAYS = auto()  # funds arriving within this many days are on time
    PRESSURE_PPM = auto()  # probability an enterprise disconnection is stopped, ppm
    PRESSURE_DELAY = auto()  # days before a stopped disconnection is tried again
    LEGAL_DAYS = auto()  # mean days from filing to the court's ruling
    LEGAL_WIN_PPM = auto()  # probability the court enforces payment, ppm
    NEG_DELAY = auto()  # mean days from opening a negotiation to the agreement
    NEG_OFFSET_PPM = auto()  # share of the agreed sum offset, ppm
    COST_NEG = auto()  # fen per negotiation
    NEG_OPEN = auto()  # days overdue opening a critical customer's negotiation (-1: rule)
    LEGAL_MIN = auto()  # fen owed from which a rating-based lawsuit is filed
    ALERT_DAYS = auto()  # prepaid alert in days of expected use
    ANOMALY_DAYS = auto()  # days without a top-up beyond the top-up period -> inspect
    COST_METER = auto()  # fen for a prepaid meter fitted by the credit policy


class SegProb(Columns):
    """Columns of ``seg``: a behaviour segment's daily probabilities."""

    BEFORE = auto()
    AFTER = auto()
    REMINDED = auto()
    NOTICE = auto()
    DISCONNECTED = auto()
    LEGAL = auto()
    PARTIAL = auto()
    TOPUP_ALERT = auto()
    TOPUP_TRIPPED = auto()
    TAMPER = auto()


class Ladder(Columns):
    """Columns of ``lad``: one dunning ladder step."""

    DAY = auto()  # days overdue that trigger the step
    ACTION = auto()  # Action code
    CREW = auto()  # 1 = a field-crew job (queued)
    COST = auto()  # fen


class Action(Columns):
    """Dunning actions (the names of sim.scenario.ACTIONS, same order)."""

    SMS = auto()
    CALL = auto()
    EMAIL = auto()
    VISIT = auto()
    NOTICE = auto()


#: the cost column an action books (by Action code)
ACTION_COST = (Cost.SMS, Cost.CALL, Cost.EMAIL, Cost.VISIT, Cost.NOTICE)


class Job(Flags):
    """Crew jobs, bit flags in ``out[:, Out.JOBS]``; lower bits are served first."""

    RECONNECT = auto()
    DISCONNECT = auto()
    NOTICE = auto()
    VISIT = auto()
    INSPECT = auto()
    METER_CHANGE = auto()


JOB_KINDS = tuple(Job)  # in priority order


class Event(Flags):
    """Customer events, bit flags in ``out[:, Out.EVENTS]`` (the event log)."""

    NOTICE = auto()
    DISCONNECT = auto()
    RECONNECT = auto()
    TRIP = auto()
    PREPAID_RECONNECT = auto()
    LEGAL = auto()


class PrepaidEv(IntEnum):
    """Event flags of :func:`m2c.core.prepaid.prepaid_step`, named where they are defined."""

    TOPUP = _prepaid.EV_TOPUP
    DEBIT = _prepaid.EV_DEBIT
    ALERT = _prepaid.EV_ALERT
    TRIP = _prepaid.EV_TRIP
    RECONNECT = _prepaid.EV_RECONNECT
    REFUSED = _prepaid.EV_REFUSED


class Meter(Columns):
    """Meter kinds (sim.fleet.METER_NAMES, same order)."""

    MANUAL = auto()
    AMI = auto()
    PREPAID = auto()


class Klass(Columns):
    """Customer classes (sim.scenario.CLASSES, same order)."""

    RESIDENTIAL = auto()
    COMMERCIAL = auto()
    INDUSTRIAL = auto()
    AGRICULTURAL = auto()
    CRITICAL = auto()


NEVER = -1  # a day that is not scheduled
QUEUED = -2  # a disconnection / reconnection handed to the crews
NO_DUE = 1 << 40  # due day of a slot without charges (far future)
NOTHING_DUE = -(1 << 30)  # days_overdue of a customer who owes nothing
REMINDER_DAYS = 3  # a reminder or visit raises the payment probability for 3 days

if tuple(a.name.lower() for a in Action) != ACTIONS:  # pragma: no cover - import-time guard
    raise RuntimeError(f"Action must list sim.scenario.ACTIONS in order: {ACTIONS}")
if tuple(k.name.lower() for k in Klass) != CLASSES:  # pragma: no cover - import-time guard
    raise RuntimeError(f"Klass must list sim.scenario.CLASSES in order: {CLASSES}")
