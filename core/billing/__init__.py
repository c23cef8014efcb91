"""Billing: bills from register reads or interval data, on the CPU or a GPU.

Modules of this package, one idea each:

* :mod:`~m2c.core.billing.api` — the public functions :func:`bill_register`
  and :func:`bill_interval` (validate, convert units, allocate, call a kernel)
  and the bill containers :class:`RegisterBills` and :class:`MonthlyBills`;
* :mod:`~m2c.core.billing.kernels` — the reference Numba CPU kernels (scalar,
  kept as what the fast kernels are tested against) and the ``L_*`` columns of
  a bill's line items;
* :mod:`~m2c.core.billing.fast_register` — the view-free bill arithmetic
  (``bill_row``) and the register-read kernel the API runs;
* :mod:`~m2c.core.billing.fast_interval` — the interval kernel in day blocks;
* :mod:`~m2c.core.billing.cuda_runtime` — whether numba's optional CUDA
  target can run here (real GPU or simulator);
* :mod:`~m2c.core.billing.cuda_kernels` — the device code: the CPU's
  ``bill_row`` compiled for the GPU, plus the tiled interval step loop;
* :mod:`~m2c.core.billing.cuda_backend` — the host side of the GPU backend:
  transfers, chunking by free device memory, streams and pinned buffers.
"""

from m2c.core.billing.api import MonthlyBills, RegisterBills, bill_interval, bill_register

__all__ = ["MonthlyBills", "RegisterBills", "bill_interval", "bill_register"]
