"""The rules of a customer-day, one named inline function per rule, over one state layout.

Modules:

* :mod:`~m2c.sim.rules.layout`: the ONE declaration of every array layout
  (``Field``, ``Out``, ``Tally``, ``Cost``, ``FleetInt``, ...), the bit flags
  (``Job``, ``Event``, ``PrepaidEv``) and codes (``Action``, ``Meter``, ``Klass``);
* :mod:`~m2c.sim.rules.slots`: charges, settlements, days overdue, late fees;
* :mod:`~m2c.sim.rules.payment`: postpaid payment and the payment channel;
* :mod:`~m2c.sim.rules.prepaid`: top-up, debit, trip, tampering, inspections;
* :mod:`~m2c.sim.rules.dunning`: ladder, disconnection, reconnection,
  negotiation, legal action, and the crews' :func:`apply_job`;
* :mod:`~m2c.sim.rules.month_end`: write-offs, credit score, move to prepaid;
* :mod:`~m2c.sim.rules.day`: :func:`customer_day` and the kernel :func:`fleet_day`.

Extension point: a new rule is an ``@njit(inline="always")`` function of
``(i, ...arrays)`` that reads and writes rows as ``arr[i, Field.X]``, called
from :func:`customer_day` (or :func:`customer_month_end`); new state is a new
member of the layout enum, nothing else. Both models run these rules: the
fast model compiled inside one ``prange`` loop, the per-agent reference model
(:mod:`m2c.sim.reference`) through ``customer_day.py_func``.

Example::

    from m2c.sim.rules import Field, Out
    owed = state.cs[:, Field.OWED]          # fen, per customer
    paid_today = state.out[:, Out.PAY]      # fen
"""

from m2c.sim.rules.day import (
    block_adders_fen,
    consume,
    customer_day,
    dispute_credit,
    fleet_day,
    prepaid_price_table,
    supply_off,
)
from m2c.sim.rules.dunning import apply_job, dunning_day
from m2c.sim.rules.layout import (
    ACTION_COST,
    COST_NAMES,
    JOB_KINDS,
    NEVER,
    NO_DUE,
    NOTHING_DUE,
    QUEUED,
    Action,
    Cost,
    DayFact,
    Event,
    Field,
    FleetFloat,
    FleetInt,
    IntParam,
    Job,
    Klass,
    Ladder,
    Meter,
    Out,
    PrepaidEv,
    SegProb,
    Station,
    Tally,
)
from m2c.sim.rules.month_end import customer_month_end, fleet_month_end
from m2c.sim.rules.payment import postpaid_payment
from m2c.sim.rules.prepaid import prepaid_day
from m2c.sim.rules.slots import add_charge, days_overdue, settle

# Flat names read outside the rules' own area (sim.run, sim.hil, sim.meter_link):
# aliases of the layout members above, not a second declaration.
EV_NOTICE, EV_DISCONNECT, EV_RECONNECT = Event.NOTICE, Event.DISCONNECT, Event.RECONNECT
EV_TRIP, EV_PREPAID_RECONNECT, EV_LEGAL = Event.TRIP, Event.PREPAID_RECONNECT, Event.LEGAL
F_OWED, F_METER, F_SUPPLY_OFF, F_NOTICE = Field.OWED, Field.METER, Field.SUPPLY_OFF, Field.NOTICE
T_READS, T_ESTIMATED = Tally.READS, Tally.ESTIMATED
IP_SEED = IntParam.SEED

__all__ = [
    "ACTION_COST",
    "COST_NAMES",
    "EV_DISCONNECT",
    "EV_LEGAL",
    "EV_NOTICE",
    "EV_PREPAID_RECONNECT",
    "EV_RECONNECT",
    "EV_TRIP",
    "F_METER",
    "F_NOTICE",
    "F_OWED",
    "F_SUPPLY_OFF",
    "IP_SEED",
    "JOB_KINDS",
    "NEVER",
    "NOTHING_DUE",
    "NO_DUE",
    "QUEUED",
    "T_ESTIMATED",
    "T_READS",
    "Action",
    "Cost",
    "DayFact",
    "Event",
    "Field",
    "FleetFloat",
    "FleetInt",
    "IntParam",
    "Job",
    "Klass",
    "Ladder",
    "Meter",
    "Out",
    "PrepaidEv",
    "SegProb",
    "Station",
    "Tally",
    "add_charge",
    "apply_job",
    "block_adders_fen",
    "consume",
    "customer_day",
    "customer_month_end",
    "days_overdue",
    "dispute_credit",
    "dunning_day",
    "fleet_day",
    "fleet_month_end",
    "postpaid_payment",
    "prepaid_day",
    "prepaid_price_table",
    "settle",
    "supply_off",
]
