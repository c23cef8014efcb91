"""``m2c reproduce``: the field reports' outcomes beside m2c's figures, with a verdict.

Each outcome is one :class:`Outcome` in :data:`OUTCOMES` (rows as data): the
claim in words, the source figure and where it comes from
(../shared/DOMAIN.md), the policy whose runs measure it, the evidence
statistic (:data:`m2c.sim.compare.evidence.STATISTICS`), the :class:`Check`
that decides "reproduced" and the :class:`Direction` that decides "direction
only". A row is a ``target`` when the field report states a goal rather than
an achieved result, ``calibrated`` when a scenario parameter was chosen to
produce it (then it is no prediction; :data:`CALIBRATED` lists the parameters),
and ``not measured yet`` (with the reason) when the model cannot measure it.

Verdicts (:func:`judge`), on the replication mean and its bootstrap interval
(:mod:`m2c.sim.compare.stats`):

* ``reproduced``: the whole interval meets the check (e.g. ``low >= 0.8``);
* ``direction only``: the check fails, but the figure moves the claimed way
  with an interval that excludes no change (against the stated policy, or
  against a reference value);
* ``not reproduced``: neither;
* ``not measured yet``: the model has no such figure (reason given).

:func:`run_reproduce` runs the bundled policies on common random numbers on
Dask, and :func:`reproduce_table` turns the per-run evidence into the rows.

Resuming: each finished (policy, replication) run is saved at once in a work
folder next to the output, ``.<out name>.work`` (:func:`work_folder`), named
by :func:`run_key`: a hash of the resolved scenario, the seed, the replication,
the sizes and the m2c version. A reproduce interrupted (Ctrl-C, a crash) and
run again with the same arguments and ``--out`` loads those runs instead of
recomputing them; a changed argument changes the key, so the run is computed
again. The final tables are always built from the saved runs in (policy,
replication) order, so a resumed reproduce writes the same tables as an
uninterrupted one. The outputs are written file by file atomically
(:mod:`m2c.sim.atomic`) under an ``INCOMPLETE`` marker, and the work folder
is removed once they are all written.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from m2c.sim.compare import runner
from m2c.sim.compare.stats import (
    Interval,
    boot_mean_ci,
    boot_paired_ci,
    pooled_top_share,
    resample_indices,
)

VERDICTS = ("reproduced", "direction only", "not reproduced", "not measured yet")

#: The bundled policies ``m2c reproduce`` runs (DOMAIN.md "Policies", 1-4).
POLICIES = ("baseline_county", "prepaid_county", "fully_automated", "credit_driven")

SRC_PREPAID = "DOMAIN.md 'What the prepaid county achieved' (county field report)"
SRC_AUTO = (
    "DOMAIN.md 'What the prepaid county achieved', last paragraph (provincial 一分双无 report)"
)
SRC_READ = "DOMAIN.md 'The three stages: read' (remote reading targets)"
SRC_INDICATORS = "DOMAIN.md 'Indicators the harness must compute'"
SRC_DUNNING = "DOMAIN.md 'Dunning and disconnection'"


@dataclass(frozen=True)
class Check:
    """What "reproduced" means for a figure.

    ``kind``: ``at_least`` (interval low >= value - tol), ``at_most`` (interval
    high <= value + tol), ``near`` (interval within value +/- tol) or
    ``rel_change`` (the relative change against :attr:`Outcome.versus`, an
    interval within value +/- tol).
    """

    kind: str
    value: float
    tol: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("at_least", "at_most", "near", "rel_change"):
            raise ValueError(
                f"Check.kind: expected at_least/at_most/near/rel_change, got {self.kind}"
            )

    def passes(self, iv: Interval) -> bool:
        """True when the interval (or, without one, the mean) meets the check."""
        lo, hi = _bounds(iv)
        if not (lo == lo and hi == hi):
            return False
        if self.kind == "at_least":
            return lo >= self.value - self.tol
        if self.kind == "at_most":
            return hi <= self.value + self.tol
        return self.value - self.tol <= lo and hi <= self.value + self.tol


@dataclass(frozen=True)
class Direction:
    """The claimed direction: ``statistic`` of the outcome's policy is above (``sign`` +1)
    or below (-1) the same statistic of policy ``versus`` (paired), or ``ref`` when
    ``versus`` is None; "direction only" needs the interval to exclude no change."""

    statistic: str
    sign: int
    versus: str | None = None
    ref: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """One row of the reproduce table (see the module docstring)."""

    key: str
    outcome: str
    source_figure: str
    source: str
    policy: str
    statistic: str
    check: Check | None
    direction: Direction | None = None
    kind: str = "outcome"  # outcome | target | calibrated
    fmt: str = "pct"  # pct (fraction shown in %), num, fen (shown in CNY)
    versus: str | None = None  # rel_change checks: the policy compared against
    not_measured: str = ""  # reason the model cannot measure it yet (verdict forced)
    needs: str = ""  # a statistic that must be 1 in every run, else not measured yet
    needs_reason: str = ""
    note: str = ""
    #: the KPI of :data:`m2c.sim.compare.evidence.CONCENTRATED` the figure rests on: the
    #: row warns when the top 1 % of customers hold most of it
    concentrated: str = ""
    #: a statistic counting the events the figure is a share of (e.g. lawsuits), with
    #: their name: the row says how many there were, and "no <events>" when none happened
    count: tuple[str, str] | None = None


#: Scenario parameters chosen to reproduce an outcome: (policy, dotted key, outcome key, why).
CALIBRATED: tuple[tuple[str, str, str, str], ...] = (
    (
        "prepaid_county",
        "negotiation.delay_days",
        "prepaid_recovery_every_month",
        "critical customers agree monthly (opens_after_days = 0); 5 days lands the agreement "
        "before month end: lowest county month 96.7 % -> 99.3 % (scenario comment)",
    ),
    (
        "prepaid_county",
        "meters.prepaid_topup_days",
        "prepaid_stock",
        "top-ups sized to 60 days of use so prepaid stock exceeds 80 % (scenario comment)",
    ),
    (
        "baseline_county",
        "behaviour.segments.on_time.before_due",
        "pay_on_own",
        "segment payment probabilities calibrated so ~90 % of bills are paid before dunning",
    ),
    (
        "baseline_county",
        "behaviour.class_segments.residential",
        "pay_on_own",
        "segment shares per class (on time 88 % of households)",
    ),
    (
        "fully_automated",
        "stations.crews_urban",
        "auto_staff",
        "field crews cut 3 -> 2 urban after the report's -20 % staff (an input); the staff "
        "figure itself is measured from the workload (m2c.sim.staff_costs), not from crews",
    ),
    (
        "fully_automated",
        "reading.ami_daily_success",
        "auto_read_timeliness",
        "daily AMI read success set to the report's >= 99 % (an input)",
    ),
    (
        "baseline_county",
        "reading.ami_daily_success",
        "auto_data_collection",
        "daily AMI read success set to the >= 98 % target",
    ),
)

OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "prepaid_recovery_every_month",
        "Prepaid county: per-customer recovery 100 % every month (lowest county month)",
        "100 % (户户、月月电费双结零, nine years in a row)",
        SRC_PREPAID,
        "prepaid_county",
        "recovery_customer_month_min",
        Check("at_least", 1.0, 0.0005),
        Direction("recovery_customer_month_min", +1, "baseline_county"),
        concentrated="recovery_rate_customer",
    ),
    Outcome(
        "prepaid_station_months_settled",
        "Prepaid county: every station settles every customer every month "
        "(share of station-months at 100 %)",
        "100 % of station-months",
        SRC_PREPAID,
        "prepaid_county",
        "station_months_settled_share",
        Check("at_least", 1.0, 0.01),
        Direction("station_months_settled_share", +1, "baseline_county"),
        concentrated="recovery_rate_customer",
    ),
    Outcome(
        "prepaid_old_arrears",
        "Prepaid county: old-arrears ratio 0 (at the last month)",
        "0, no old arrears",
        SRC_PREPAID,
        "prepaid_county",
        "old_arrears_ratio_end",
        Check("at_most", 0.0, 0.0005),
        Direction("old_arrears_ratio_end", -1, "baseline_county"),
        concentrated="old_arrears_ratio",
    ),
    Outcome(
        "prepaid_bad_debt",
        "Prepaid county: no bad or doubtful debt (written off in the reported period)",
        "0 bad debt",
        SRC_PREPAID,
        "prepaid_county",
        "bad_debt",
        Check("at_most", 0.0),
        Direction("bad_debt", -1, "baseline_county"),
        fmt="fen",
        needs="bad_debt_measurable",
        needs_reason="no debt can age past dunning.write_off_after_days (1 095) in this run; "
        "run --years 3 or more",
    ),
    Outcome(
        "prepaid_large_defaulter",
        "A defaulting large customer (>= 80 kVA, owing at the start) on prepayment clears "
        "its arrears within three months (share of such customers)",
        "the fertiliser plant: all old arrears cleared within 3 months",
        SRC_PREPAID,
        "prepaid_county",
        "large_defaulters_cleared_90d",
        Check("at_least", 1.0, 0.1),
        Direction("large_defaulters_cleared_90d", +1, "baseline_county"),
        note="prepayment starts at the warm-up start; the population is the same "
        "customers in every policy (common random numbers)",
    ),
    Outcome(
        "prepaid_stock",
        "Prepaid county: prepaid balances above 80 % of average monthly receivables",
        "> 80 %",
        SRC_PREPAID,
        "prepaid_county",
        "prepaid_stock_ratio",
        Check("at_least", 0.8),
        Direction("prepaid_stock_ratio", +1, "baseline_county"),
        kind="calibrated",
    ),
    Outcome(
        "prepaid_no_disconnection",
        "Prepaid county: disconnection procedure never used (per 1 000 customers a year)",
        "0 (制定了停限电催费程序, 但…未曾运用)",
        SRC_PREPAID,
        "prepaid_county",
        "disconnections_per_1000_year",
        Check("at_most", 0.0, 0.05),
        Direction("disconnections_per_1000_year", -1, "baseline_county"),
        fmt="num",
        concentrated="disconnections",
    ),
    Outcome(
        "baseline_clear_top",
        "Baseline: station-level rate at or above 100 % while the per-customer rate is "
        "below it, in steady state (full months after the first)",
        ">= 100 % station level, < 100 % per customer (上清下不清)",
        SRC_INDICATORS,
        "baseline_county",
        "recovery_station_steady",
        Check("at_least", 1.0),
        Direction("station_minus_customer_steady", +1),
        note="direction: station-level minus per-customer rate > 0",
        concentrated="recovery_rate_customer",
    ),
    Outcome(
        "auto_staff",
        "Fully automated: reading and dunning staff against the baseline (FTE of reading, "
        "dunning and disconnection work per 1 000 customers)",
        "-20 % staff",
        SRC_AUTO,
        "fully_automated",
        "fte_reading_dunning_per_1000",
        Check("rel_change", -0.20, 0.05),
        fmt="num",
        versus="baseline_county",
        note="FTE from the run's counts x minutes per action ([staff] section, documented "
        "defaults, not fitted to this outcome); all meter-to-cash staff: fte_per_1000",
    ),
    Outcome(
        "auto_cost",
        "Fully automated: cost against the baseline (whole meter-to-cash cost per customer "
        "per year: staff, annualised meters and terminals, fees paid out)",
        "-24 % cost",
        SRC_AUTO,
        "fully_automated",
        "m2c_cost_per_customer_year",
        Check("rel_change", -0.24, 0.05),
        fmt="fen",
        versus="baseline_county",
        note="wages, minutes per action and meter prices are documented defaults ([staff]); "
        "the per-action collection cost alone is the row auto_collection_cost",
    ),
    Outcome(
        "auto_collection_cost",
        "Fully automated: per-action collection cost per customer per year against the "
        "baseline (the old base: SMS, calls, visits, (dis)connections, channel fees)",
        "-24 % cost (the report's figure is on the whole cost)",
        SRC_AUTO,
        "fully_automated",
        "collection_cost_per_customer_year",
        Check("rel_change", -0.24, 0.05),
        fmt="fen",
        versus="baseline_county",
        note="not the report's base: shown so both bases are visible",
    ),
    Outcome(
        "auto_data_collection",
        "Daily meter-data acquisition success (fully automated: share of actual reads)",
        ">= 98 %",
        SRC_READ,
        "fully_automated",
        "actual_read_rate",
        Check("at_least", 0.98),
        kind="target",
        note="a monthly read counts as actual when any daily acquisition succeeded",
    ),
    Outcome(
        "auto_read_timeliness",
        "Fully automated: reading timeliness and accuracy (share of actual reads)",
        ">= 99 %",
        SRC_AUTO,
        "fully_automated",
        "actual_read_rate",
        Check("at_least", 0.99),
        Direction("actual_read_rate", +1, "baseline_county"),
        kind="target",
    ),
    Outcome(
        "auto_notice_timeliness",
        "Fully automated: notice timeliness (share of notices and dunning visits served on time)",
        ">= 99 %",
        SRC_AUTO,
        "fully_automated",
        "notice_timeliness",
        Check("at_least", 0.99),
        Direction("notice_timeliness", +1, "baseline_county"),
        kind="target",
        note="share of disconnection notices and dunning visits served within "
        "dunning.notice_allowance_days (default 1 day) of the day the ladder asked for "
        "them: crew jobs wait in the station queue (m2c.sim.crews); electronic notices "
        "are on time (the model has no failure of the notice channel)",
    ),
    Outcome(
        "pay_on_own",
        "About 90 % pay on their own, before any dunning (baseline: share of bills paid in "
        "full by the due date)",
        "about 90 %",
        SRC_DUNNING,
        "baseline_county",
        "paid_by_due_share",
        Check("near", 0.90, 0.03),
        kind="calibrated",
        note="per customer (every bill by its due date) see customers_all_by_due_share",
    ),
    Outcome(
        "credit_legal_deliberate",
        "Credit-driven: legal action falls on deliberate debtors (share of lawsuits against "
        "strategic or malicious customers)",
        "deliberate debtors face legal action",
        SRC_DUNNING,
        "credit_driven",
        "legal_on_deliberate_share",
        Check("at_least", 0.8),
        Direction("legal_on_deliberate_share", +1, ref=0.5),
        note="reproduced: >= 80 % of suits; direction: most suits (> 50 %)",
        count=("legal_actions", "suits"),
    ),
)

ROW_COLUMNS = (
    "key",
    "outcome",
    "kind",
    "source_figure",
    "source",
    "policy",
    "statistic",
    "n",
    "value",
    "low",
    "high",
    "m2c_figure",
    "versus_figure",
    "verdict",
    "reason",
    "warning",
    "calibrated",
)


def _bounds(iv: Interval) -> tuple[float, float]:
    if iv.n >= 2 and iv.low == iv.low and iv.high == iv.high:
        return iv.low, iv.high
    return iv.mean, iv.mean


def direction_holds(sign: int, iv: Interval, ref: float = 0.0) -> bool:
    """True when the interval of a difference (or of a figure against ``ref``) excludes
    ``ref`` on the ``sign`` side (without an interval: the mean is strictly there)."""
    lo, hi = _bounds(iv)
    if not (lo == lo and hi == hi):
        return False
    return lo > ref if sign > 0 else hi < ref


def judge(check: Check, figure: Interval, direction: Interval | None, sign: int, ref: float) -> str:
    """The verdict of one outcome (see the module docstring).

    ``figure`` is the interval the check reads (the mean of the statistic, or
    the relative change for ``rel_change``); ``direction`` the interval of the
    paired difference (or of the statistic itself, against ``ref``), or None.
    """
    if check.passes(figure):
        return "reproduced"
    if check.kind == "rel_change":
        claimed = -1 if check.value < 0 else +1
        if direction_holds(claimed, figure, 0.0):
            return "direction only"
        return "not reproduced"
    if direction is not None and direction_holds(sign, direction, ref):
        return "direction only"
    return "not reproduced"


def format_figure(iv: Interval, fmt: str) -> str:
    """``"99.2 % [98.9, 99.5]"`` (pct), ``"17.2 [12.0, 21.1]"`` (num), CNY for fen."""
    if iv.mean != iv.mean:
        return "n/a"

    def f(x: float) -> str:
        if x != x:
            return "nan"
        if fmt == "pct":
            return f"{100 * x:.2f}"
        if fmt == "fen":
            return f"{x / 100:,.2f}"
        return f"{x:.3g}"

    unit = {"pct": " %", "fen": " CNY", "num": ""}[fmt]
    if iv.n >= 2 and iv.low == iv.low:
        return f"{f(iv.mean)}{unit} [{f(iv.low)}, {f(iv.high)}]"
    return f"{f(iv.mean)}{unit} (n = {iv.n}, no interval)"


def _values(evidence: pa.Table, policy: str, statistic: str) -> np.ndarray:
    t = evidence.filter(
        pc.and_(pc.equal(evidence["policy"], policy), pc.equal(evidence["statistic"], statistic))
    ).sort_by("replication")
    return t["value"].to_numpy(zero_copy_only=False).astype(np.float64)


def _calibrated_text(key: str, values: dict[tuple[str, str], Any] | None) -> str:
    parts = []
    for pol, k, outcome, why in CALIBRATED:
        if outcome == key:
            v = (values or {}).get((pol, k))
            parts.append(f"{pol}: {k}{'' if v is None else f' = {v}'} ({why})")
    return "; ".join(parts)


def reproduce_table(
    evidence: pa.Table,
    outcomes: tuple[Outcome, ...] = OUTCOMES,
    level: float = 0.95,
    params: dict[tuple[str, str], Any] | None = None,
    concentration: pa.Table | None = None,
) -> pa.Table:
    """One row per outcome from the per-run evidence.

    Parameters
    ----------
    evidence : ``policy, replication, statistic, value`` (one row per run and statistic).
    params : ``{(policy, dotted key): value}`` of the :data:`CALIBRATED` parameters,
        shown in the ``calibrated`` column (optional).
    concentration : per-run top-1 % shares (``policy, replication, kpi, top1_share,
        total``); rows with :attr:`Outcome.concentrated` then warn when the top 1 % of
        customers hold >= 50 % of that KPI (pooled over replications).

    Returns
    -------
    pa.Table
        :data:`ROW_COLUMNS`; ``value/low/high`` are the mean over replications and its
        bootstrap interval (the relative change for ``rel_change`` checks), NaN when
        not measured.
    """
    from m2c.sim.compare.stats import MIN_RELIABLE_REPS, warnings_for

    rows: dict[str, list] = {c: [] for c in ROW_COLUMNS}
    top = pooled_top_share(concentration)
    for o in outcomes:
        nan = Interval(0, math.nan, math.nan, math.nan)
        figure, verdict, reason = nan, "not measured yet", o.not_measured
        x = _values(evidence, o.policy, o.statistic) if o.statistic else np.zeros(0)
        keep = np.isfinite(x)
        notes = []
        versus_text = ""
        if o.count is not None:
            events = _values(evidence, o.policy, o.count[0])
            events = events[np.isfinite(events)]
            if events.size and events.sum() > 0:
                notes.append(
                    f"{events.sum():.0f} {o.count[1]} in {events.size} runs "
                    f"({events.mean():.1f} per run)"
                )
        if o.statistic and not keep.any() and not reason:
            from m2c.sim.compare.evidence import STATISTICS

            what = STATISTICS.get(o.statistic, o.statistic)
            reason = f"no run of {o.policy} has a figure for it ({what}): none happened"
            if o.count is not None:
                reason = f"no {o.count[1]}: none in any run of {o.policy} ({what})"
        if keep.any():
            if not keep.all():
                what = f"no {o.count[1]}" if o.count is not None else "none"
                notes.append(f"{int((~keep).sum())} of {x.size} runs had {what} (left out)")
            xs = x[keep]
            idx = resample_indices(xs.size)
            figure = boot_mean_ci(xs, level, idx)
            direction, sign, ref = None, +1, 0.0
            if o.check is not None and o.check.kind == "rel_change":
                base = _values(evidence, o.versus, o.statistic)
                if base.shape == x.shape and np.all(np.isfinite(base[keep])):
                    _, figure = boot_paired_ci(base[keep], xs, level, idx)
                    vs = boot_mean_ci(base[keep], level, idx)
                    own = boot_mean_ci(xs, level, idx)
                    versus_text = (
                        f"{o.policy}: {format_figure(own, o.fmt)}; "
                        f"{o.versus}: {format_figure(vs, o.fmt)}"
                    )
            if o.direction is not None:
                sign, ref = o.direction.sign, o.direction.ref
                y = _values(evidence, o.policy, o.direction.statistic)
                y = y[keep] if y.shape == x.shape else np.zeros(0)
                base = (
                    _values(evidence, o.direction.versus, o.direction.statistic)
                    if o.direction.versus
                    else None
                )
                if y.size and np.all(np.isfinite(y)):
                    if base is None:
                        direction = boot_mean_ci(y, level, idx)
                        if o.direction.statistic != o.statistic:
                            shown = format_figure(direction, o.fmt)
                            versus_text = f"{o.direction.statistic}: {shown}"
                    elif base.shape == x.shape and np.all(np.isfinite(base[keep])):
                        direction, _ = boot_paired_ci(base[keep], y, level, idx)
                        if o.direction.statistic == o.statistic:
                            vs = boot_mean_ci(base[keep], level, idx)
                            versus_text = f"{o.direction.versus}: {format_figure(vs, o.fmt)}"
            if o.needs:
                ok = _values(evidence, o.policy, o.needs)
                if ok.size == 0 or not np.all(ok == 1.0):
                    reason = o.needs_reason
            if not reason and o.check is not None and figure.mean == figure.mean:
                verdict = judge(o.check, figure, direction, sign, ref)
        fmt = "pct" if o.check is not None and o.check.kind == "rel_change" else o.fmt
        warning = ""
        if verdict != "not measured yet":
            share = top.get((o.concentrated, o.policy), float("nan"))
            nan_iv = Interval(figure.n, math.nan, math.nan, math.nan)
            warning = warnings_for(True, max(figure.n, MIN_RELIABLE_REPS), nan_iv, share)
            if figure.n < MIN_RELIABLE_REPS:
                warning = "; ".join(
                    w for w in (f"n < {MIN_RELIABLE_REPS}: interval unreliable", warning) if w
                )
        vals = (
            o.key,
            o.outcome,
            o.kind,
            o.source_figure,
            o.source,
            o.policy,
            o.statistic,
            figure.n,
            figure.mean,
            figure.low,
            figure.high,
            format_figure(figure, fmt),
            versus_text,
            verdict,
            "; ".join(r for r in (reason, *notes, o.note) if r),
            warning,
            _calibrated_text(o.key, params),
        )
        for c, v in zip(ROW_COLUMNS, vals, strict=True):
            rows[c].append(v)
    types = {"n": pa.int64(), "value": pa.float64(), "low": pa.float64(), "high": pa.float64()}
    return pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in rows.items()})


def calibrated_values(policies: tuple[str, ...] = POLICIES) -> dict[tuple[str, str], Any]:
    """The current value of every :data:`CALIBRATED` parameter, read from the scenarios."""
    from m2c.sim.scenario import load_scenario

    out: dict[tuple[str, str], Any] = {}
    for pol, key, _, _ in CALIBRATED:
        if pol not in policies:
            continue
        obj: Any = load_scenario(pol)
        for part in key.split("."):
            obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        out[(pol, key)] = obj
    return out


@dataclass
class Reproduction:
    """What :func:`run_reproduce` produced (tables as written under ``out``)."""

    rows: pa.Table
    evidence: pa.Table
    tidy: pa.Table
    monthly: pa.Table
    concentration: pa.Table
    yearly: pa.Table
    files: list[Path] = field(default_factory=list)
    #: runs computed by this call (the others were resumed from the work folder)
    computed: int = 0


#: Schema-metadata key of a saved run (see :func:`save_run`).
RUN_META = b"m2c_evidence"


def work_folder(out: str | Path) -> Path:
    """The work folder of a reproduce writing into ``out``: ``.<name>.work`` beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.work"


def run_key(
    scenario: dict[str, Any], label: str, rep: int, customers: int, days: int, seed: int
) -> str:
    """The key of one run: 20 hex digits of a SHA-256 over what determines its result
    (resolved scenario, label, replication, seed, customers, days, m2c version)."""
    return runner.scenario_sha256(
        {
            "scenario": scenario,
            "label": label,
            "replication": rep,
            "seed": seed,
            "customers": customers,
            "days": days,
            "m2c_version": runner.m2c_version(),
        }
    )[:20]


def save_run(res: dict[str, Any], path: Path) -> Path:
    """Save one :func:`~m2c.sim.compare.evidence.evidence_task` result atomically
    (its monthly table as Parquet, the rest as JSON in the schema metadata)."""
    from m2c.sim.atomic import write_table

    rest = {k: v for k, v in res.items() if k != "kpi"}
    meta = {RUN_META: json.dumps(rest, sort_keys=True).encode("utf-8")}
    return write_table(res["kpi"].replace_schema_metadata(meta), path)


def load_run(path: Path) -> dict[str, Any]:
    """A result saved by :func:`save_run` (the table without its metadata).

    Raises
    ------
    ValueError
        Naming the file when it is not a saved run (truncated, or another file).
    """
    import pyarrow.parquet as pq

    try:
        t = pq.read_table(path)
        res = json.loads((t.schema.metadata or {})[RUN_META])
    except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
        raise ValueError(f"{path}: not a saved reproduce run ({exc})") from None
    res["kpi"] = t.replace_schema_metadata(None)
    return res


def _open_client(workers: int | None, scheduler: str | None):
    # the comparison runner's Dask set-up (one Numba thread per worker process)
    return runner._client(workers, scheduler)


def run_evidence(
    policies: tuple[str, ...],
    replications: int,
    customers: int,
    days: int,
    seed: int,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    work: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Run every policy x replication on Dask (:func:`~m2c.sim.compare.evidence.evidence_task`);
    results come back through Dask, in (policy, replication) order.

    With ``work`` (a folder), each run is saved there as it finishes
    (:func:`save_run`, named ``<label>-r<rep>-<run_key>.parquet``), runs already
    saved are loaded instead of computed, and every result returned is the one
    read back from its file (so a resumed call returns what an uninterrupted one
    does). ``progress(done, total)`` starts at the runs already saved.
    """
    from distributed import as_completed

    from m2c.sim.compare.evidence import evidence_task

    if replications < 1:
        raise ValueError(f"replications: expected >= 1, got {replications}")
    points = runner.compare_points(list(policies))
    tasks = [
        (runner.resolved_scenario(p), p.label, r, customers, days, seed + r)
        for p in points
        for r in range(replications)
    ]
    files = (
        [Path(work) / f"{t[1]}-r{t[2]:03d}-{run_key(*t)}.parquet" for t in tasks]
        if work is not None
        else [None] * len(tasks)
    )
    results: dict[tuple[str, int], dict[str, Any]] = {}
    todo = []
    for t, f in zip(tasks, files, strict=True):
        if f is not None and f.exists():
            try:
                results[(t[1], t[2])] = load_run(f)
                continue
            except ValueError:
                f.unlink()  # not a run we can trust (e.g. another tool's file): recompute
        todo.append((t, f))
    done = len(tasks) - len(todo)
    if progress:
        progress(done, len(tasks))
    if todo:
        own = client is None
        cluster = None
        if own:
            client, cluster = _open_client(workers, scheduler)
        try:
            runner.check_worker_versions(client)
            futures = {client.submit(evidence_task, *t, pure=False): f for t, f in todo}
            for fut in as_completed(futures):
                res = fut.result()
                f = futures[fut]
                if f is not None:  # saved first: an interruption after this keeps the run
                    res = load_run(save_run(res, f))
                results[(res["label"], res["replication"])] = res
                done += 1
                if progress:
                    progress(done, len(tasks))
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()
    return [results[(t[1], t[2])] for t in tasks]


def tables(results: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """``(evidence, tidy, monthly, concentration)`` tables from :func:`run_evidence` results.

    ``tidy`` has the columns of :func:`m2c.sim.compare.runner.collect`'s
    (``policy, replication, seed, kpi, value``).
    """
    ev: dict[str, list] = {"policy": [], "replication": [], "statistic": [], "value": []}
    td: dict[str, list] = {"policy": [], "replication": [], "seed": [], "kpi": [], "value": []}
    cc: dict[str, list] = {
        "policy": [],
        "replication": [],
        "kpi": [],
        "top1_share": [],
        "total": [],
        "holders": [],
    }
    for res in results:
        p, r = res["label"], res["replication"]
        for k, v in res["statistics"].items():
            ev["policy"].append(p)
            ev["replication"].append(r)
            ev["statistic"].append(k)
            ev["value"].append(float(v))
        for k, v in res["summary"].items():
            td["policy"].append(p)
            td["replication"].append(r)
            td["seed"].append(res["seed"])
            td["kpi"].append(k)
            td["value"].append(float(v))
        for row in res["concentration"]:
            cc["policy"].append(p)
            cc["replication"].append(r)
            for k in ("kpi", "top1_share", "total", "holders"):
                cc[k].append(row[k])
    evidence = pa.table(
        {
            "policy": pa.array(ev["policy"], pa.string()),
            "replication": pa.array(ev["replication"], pa.int64()),
            "statistic": pa.array(ev["statistic"], pa.string()),
            "value": pa.array(ev["value"], pa.float64()),
        }
    )
    tidy = pa.table(
        {
            "policy": pa.array(td["policy"], pa.string()),
            "replication": pa.array(td["replication"], pa.int64()),
            "seed": pa.array(td["seed"], pa.int64()),
            "kpi": pa.array(td["kpi"], pa.string()),
            "value": pa.array(td["value"], pa.float64()),
        }
    )
    conc = runner.concentration_table(cc)
    monthly = pa.concat_tables([res["kpi"] for res in results], promote_options="default")
    return evidence, tidy, monthly, conc


def run_reproduce(
    out: str | Path,
    *,
    customers: int = 3000,
    replications: int = 5,
    years: int = 1,
    seed: int = 1,
    policies: tuple[str, ...] = POLICIES,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> Reproduction:
    """Run the bundled policies on common random numbers and write the reproduce outputs.

    Writes under ``out``: ``reproduce.parquet`` and ``.csv`` (the rows),
    ``evidence.parquet`` (per-run statistics), ``comparison.parquet``/``.csv`` and
    ``monthly.parquet`` (as ``m2c compare``; monthly rows sanity-marked),
    ``concentration.parquet``, ``summary.parquet`` (paired differences with intervals
    and warnings), ``yearly.parquet`` (per-year KPI summary),
    ``figures/`` and ``report.html`` with the reproduce section.

    Resumable: finished runs are kept in :func:`work_folder` until every output
    is written (see the module docstring); ``Reproduction.computed`` says how
    many runs this call computed.
    """
    if years < 1:
        raise ValueError(f"years: expected >= 1, got {years}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is an existing file; expected a folder")
    days = 365 * years
    work = work_folder(out)
    first: list[int] = []

    def counted(done: int, total: int) -> None:
        if not first:
            first.append(total - done)  # runs left to compute
        if progress:
            progress(done, total)

    with runner.locked(work):  # one reproduce per output folder at a time
        try:
            results = run_evidence(
                policies,
                replications,
                customers,
                days,
                seed,
                workers=workers,
                scheduler=scheduler,
                progress=counted,
                client=client,
                work=work,
            )
        except BaseException:
            if not any(work.glob("*.parquet")):  # nothing to resume: leave no work folder
                shutil.rmtree(work, ignore_errors=True)
            raise
        runner.mark_incomplete(out)
        rep = _write_reproduction(out, results, policies, replications, customers, years, seed)
        runner.mark_complete(out)
        shutil.rmtree(work, ignore_errors=True)  # every output is written: nothing to resume
    rep.computed = first[0] if first else 0
    return rep


def _write_reproduction(
    out: Path,
    results: list[dict[str, Any]],
    policies: tuple[str, ...],
    replications: int,
    customers: int,
    years: int,
    seed: int,
) -> Reproduction:
    """The tables, figures and report of :func:`run_reproduce` from the runs' results."""
    from m2c.sim.atomic import write_json, write_table
    from m2c.sim.compare import plots, report
    from m2c.sim.compare.stats import summary_table, yearly_summary, yearly_tidy

    days = 365 * years
    points = runner.compare_points(list(policies))
    evidence, tidy, monthly, conc = tables(results)
    rows = reproduce_table(evidence, params=calibrated_values(policies), concentration=conc)
    yearly = yearly_summary(yearly_tidy(monthly, customers))
    summary = summary_table(tidy, concentration=conc)
    files = [
        write_json(
            out / runner.MANIFEST,
            {
                "kind": "reproduce",
                "points": [p.as_json() for p in points],
                "replications": replications,
                "customers": customers,
                "days": days,
                "seed": seed,
                "m2c_version": runner.m2c_version(),
            },
        ),
        write_table(rows, out / "reproduce.parquet"),
        write_table(rows, out / "reproduce.csv"),
        write_table(evidence, out / "evidence.parquet"),
        write_table(conc, out / "concentration.parquet"),
        write_table(summary, out / "summary.parquet"),
        write_table(yearly, out / "yearly.parquet"),
        *runner.write_outputs(out, tidy, monthly),
    ]
    figs = plots.plot_folder(out, summary=summary, yearly=yearly)
    title = (
        f"m2c reproduce: {len(policies)} policies x {replications} replications x "
        f"{customers:,} customers x {years} year(s), common random numbers"
    )
    files.append(
        report.write_report(
            out,
            points,
            summary,
            figs,
            title=title,
            reproduce=rows,
            monthly=monthly,
            yearly=yearly,
        )
    )
    return Reproduction(rows, evidence, tidy, monthly, conc, yearly, files + figs)
