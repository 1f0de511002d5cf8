"""Decoding takes no more memory than its output: measured as peak resident memory in a fresh
process (Linux), so that allocations in Rust count as well as numpy's."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

PROGRAM = textwrap.dedent(
    """
    import resource
    import numpy as np
    import vision_banana as vb

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    picture = np.random.default_rng(0).integers(0, 256, (4096, 4096, 3), dtype=np.uint8)
    vb.decode_depth(picture[:64, :64])        # warm up: thread pool, tables
    before = rss()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    depth = vb.decode_depth(picture)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(max(peak, peak_before) - before, depth.nbytes)
    """
)


def test_decode_depth_peak_memory_is_the_output_plus_a_constant():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True
    )
    growth, output = map(int, result.stdout.split())
    assert output == 4096 * 4096 * 4
    # The output array (64 MiB) plus at most 4 MiB: no copy of the input, no temporaries.
    assert 0.9 * output <= growth <= output + 4 * 2**20, (growth, output)
