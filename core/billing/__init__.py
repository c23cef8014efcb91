"""Billing: bills from register reads or interval data, on the CPU or a GPU.

Modules of this package, one idea each:

* :mod:`~m2c.core.billing.api` — the public functions :func:`bill_register`
  and :func:`bill_interval` (validate, convert units, allocate, call a kernel)
  and the bill containers :class:`RegisterBills` and :class:`MonthlyBills`;
* :mod:`~m2c.core.billing.kernels` — the Numba CPU kernels and the ``L_*``
  columns of a bill's line items;
* :mod:`~m2c.core.billing.cuda_runtime` — whether numba's optional CUDA
  target can run here (real GPU or simulator);
* :mod:`~m2c.core.billing.cuda_kernels` — the device code: numba-cuda twins
  of the CPU kernels, operation by operation;
* :mod:`~m2c.core.billing.cuda_backend` — the host side of the GPU backend:
  transfers, chunking by free device memory, streams and pinned buffers.
"""

from m2c.core.billing.api import MonthlyBills, RegisterBills, bill_interval, bill_register

__all__ = ["MonthlyBills", "RegisterBills", "bill_interval", "bill_register"]
