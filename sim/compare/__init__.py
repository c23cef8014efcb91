"""Replicated policy comparisons and parameter sweeps with common random numbers.

``runner`` executes (policy, replication) runs on Dask distributed and writes
one Parquet file per run (resumable); ``stats`` computes paired differences
with bootstrap percentile intervals that stay in each KPI's range, planning
figures and warnings, and KPIs by calendar year; ``plots`` and ``report`` turn
the tables into figures and a one-page offline HTML report; ``study`` does all
of it in one call (``m2c compare``, ``m2c sweep``); ``sweep`` turns ``--param``
grids into points; ``evidence`` and ``reproduce`` run the bundled policies and
judge the field reports' outcomes (``m2c reproduce``).
"""
