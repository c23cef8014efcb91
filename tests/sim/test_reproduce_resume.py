"""``m2c reproduce`` resumes: an interrupted reproduce rerun computes only the missing runs.

Real runs on a real Dask LocalCluster (one worker, shared by the module), tiny
sizes (the smoke policy, 150 customers, 1 year, 4 replications): the
interruption is an exception raised by the progress callback after k runs,
as Ctrl-C would raise KeyboardInterrupt there.
"""

from __future__ import annotations

import pytest

from m2c.sim.compare import reproduce as R

KW = {"customers": 150, "replications": 4, "years": 1, "seed": 2, "policies": ("smoke",)}
TABLES = (
    "reproduce.parquet",
    "evidence.parquet",
    "comparison.parquet",
    "monthly.parquet",
    "concentration.parquet",
    "summary.parquet",
    "yearly.parquet",
)


class Interrupted(KeyboardInterrupt):
    pass


@pytest.fixture(scope="module")
def client():
    from m2c.sim.compare.runner import _client

    c, cluster = _client(1, None)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module", autouse=True)
def no_plots():
    # figures are tested elsewhere; here only the tables matter
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("m2c.sim.compare.plots.plot_folder", lambda *a, **k: [])
        yield


@pytest.fixture(scope="module")
def reference(client, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    rep = R.run_reproduce(out, client=client, **KW)
    return out, rep


def test_uninterrupted_run_computes_all_and_removes_its_work_folder(reference):
    out, rep = reference
    assert rep.computed == 4
    assert not R.work_folder(out).exists() and (out / "reproduce.parquet").exists()
    assert not (out / "INCOMPLETE").exists()


def test_interrupted_after_two_runs_resumes_the_other_two(client, reference, tmp_path):
    out = tmp_path / "out"
    seen = []

    def stop_after_two(done, total):
        seen.append((done, total))
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        R.run_reproduce(out, client=client, progress=stop_after_two, **KW)
    work = R.work_folder(out)
    assert work == tmp_path / ".out.work"
    saved = sorted(work.glob("*.parquet"))
    assert len(saved) == 2 and not (out / "reproduce.parquet").exists()

    again = []
    rep = R.run_reproduce(out, client=client, progress=lambda d, t: again.append((d, t)), **KW)
    # 2 of 4 loaded from the work folder, only the other 2 computed
    assert again[0] == (2, 4) and again[-1] == (4, 4) and len(again) == 3
    assert rep.computed == 2
    assert not work.exists()
    # the final tables are the uninterrupted ones, byte for byte
    ref = reference[0]
    for name in TABLES:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert rep.rows.to_pylist().__repr__() == reference[1].rows.to_pylist().__repr__()


def test_a_changed_argument_recomputes(client, tmp_path):
    out = tmp_path / "out"

    def stop_after_one(done, total):
        if done == 1:
            raise Interrupted

    kw = dict(KW, replications=2)
    with pytest.raises(Interrupted):
        R.run_reproduce(out, client=client, progress=stop_after_one, **kw)
    assert len(list(R.work_folder(out).glob("*.parquet"))) == 1
    # another seed: the saved run's key differs, so both runs are computed
    rep = R.run_reproduce(out, client=client, **dict(kw, seed=KW["seed"] + 7))
    assert rep.computed == 2


def test_run_key_changes_with_every_input():
    from m2c.sim.compare.runner import Point, resolved_scenario

    sc = resolved_scenario(Point("smoke", "smoke"))
    base = R.run_key(sc, "smoke", 0, 150, 365, 2)
    assert base == R.run_key(sc, "smoke", 0, 150, 365, 2) and len(base) == 20
    other = resolved_scenario(Point("smoke", "smoke", {"dunning.disconnect_after_days": 15}))
    changed = [
        R.run_key(other, "smoke", 0, 150, 365, 2),
        R.run_key(sc, "smoke", 1, 150, 365, 2),
        R.run_key(sc, "smoke", 0, 151, 365, 2),
        R.run_key(sc, "smoke", 0, 150, 730, 2),
        R.run_key(sc, "smoke", 0, 150, 365, 3),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_a_corrupt_saved_run_is_recomputed(tmp_path):
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"PAR1 half written")
    with pytest.raises(ValueError, match="not a saved reproduce run"):
        R.load_run(bad)


def test_a_refusal_leaves_no_work_folder(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="no Dask scheduler answers"):
        R.run_reproduce(out, scheduler="tcp://127.0.0.1:9", **KW)
    assert not R.work_folder(out).exists() and not out.exists()
