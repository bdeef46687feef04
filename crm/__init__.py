import os

# One OpenBLAS thread per process, set before NumPy loads it: the fits' vectors are small, and
# on a shared machine its threads spin against the other processes (a BG/NBD fit of 5,000
# customers 0.41 s with them, 0.09 s without, at a load of 5 on 2 cores; docs/valuation.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .celery import app as celery_app

__all__ = ("celery_app",)
