"""Baselines the benchmarks divide by, measured in the same run (not part of m2c).

:func:`stream_sum` is the GPU benchmark's yardstick: a grid-stride
read-and-sum over a device array, what an ideal bandwidth-bound pass over the
billing kernel's input costs (``ratio_to_stream`` in test_bench_cuda.py).
"""

from __future__ import annotations

import functools

import numpy as np

from m2c.core.billing.cuda_runtime import cuda, require_cuda, simulator_enabled


@functools.cache
def _stream_sum_kernel():
    from numba import float64

    @cuda.jit
    def kernel(x, out):
        # A grid-stride read-and-sum of a flat view of the load array.
        acc = float64(0.0)
        k = cuda.grid(1)
        stride = cuda.gridsize(1)
        while k < x.shape[0]:
            acc += x[k]
            k += stride
        cuda.atomic.add(out, 0, acc)

    return kernel


def stream_sum(d_x) -> tuple[float, float]:
    """Streaming baseline on a device array: (sum, seconds), timed with CUDA events.

    Used by the benchmarks for ``ratio_to_stream``: a read-and-sum over the
    same device array as the billing kernel reads.
    """
    require_cuda()
    out = cuda.to_device(np.zeros(1, dtype=np.float64))
    threads = 256
    blocks = 1 if simulator_enabled() else cuda.get_current_device().MULTIPROCESSOR_COUNT * 8
    start, stop = cuda.event(), cuda.event()
    start.record()
    _stream_sum_kernel()[blocks, threads](d_x.reshape(d_x.size), out)
    stop.record()
    stop.synchronize()
    return float(out.copy_to_host()[0]), max(start.elapsed_time(stop), 1e-6) / 1e3
