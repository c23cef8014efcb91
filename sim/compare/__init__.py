"""Replicated policy comparisons and parameter sweeps with common random numbers.

``runner`` executes (policy, replication) runs on Dask distributed and writes
one Parquet file per run (resumable); ``stats`` computes paired differences
with Student-t confidence intervals; ``plots`` and ``report`` turn the tables
into figures and a one-page offline HTML report.
"""
