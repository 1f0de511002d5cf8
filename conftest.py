"""Settings for the whole test and benchmark session, applied before numpy is imported.

numpy's OpenBLAS keeps its worker threads busy-waiting for a while after every matrix product;
on a small machine they take the cores that our benchmarks are timing (the nearest-colour
baseline is a matrix product). One BLAS thread changes nothing else: these products have an
inner dimension of 3 and are bound by memory.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
