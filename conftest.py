"""Settings for the whole test and benchmark session, applied before numpy is imported.

numpy's OpenBLAS keeps its worker threads busy-waiting for a while after every matrix product;
on a small machine they take the cores that our benchmarks are timing (the nearest-colour
baseline is a matrix product). One BLAS thread changes nothing else: these products have an
inner dimension of 3 and are bound by memory.
"""

import os

import pytest  # imports no numpy

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the whole session (tests and benchmarks share it: it takes seconds to
    start): 2 CPUs, no dashboard, a small object store; the tests folder on the workers' path, so
    that they import its helpers (tests/ray_support.py). Shut down at the end."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests")
    path = os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        ignore_reinit_error=True,
        log_to_driver=False,
        object_store_memory=256 * 1024**2,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()
