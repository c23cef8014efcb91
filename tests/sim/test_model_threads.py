"""The fast model's thread policy: small fleets run their kernels on one thread."""

import numba

from m2c.sim.model import MIN_CUSTOMERS_PER_THREAD, kernel_threads


def test_small_fleets_use_one_thread_and_the_setting_is_restored():
    before = numba.get_num_threads()
    with kernel_threads(300) as used:  # 300 // 20 000 = 0 -> at least one thread
        assert used == 1 and numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    # a fleet of many threads' worth is capped by the threads Numba was given
    with kernel_threads(100 * MIN_CUSTOMERS_PER_THREAD) as used:
        assert used == before and numba.get_num_threads() == before
    if before >= 2:
        with kernel_threads(2 * MIN_CUSTOMERS_PER_THREAD) as used:  # exactly two threads' worth
            assert used == 2
    assert numba.get_num_threads() == before
