"""Decoding takes no more memory than its output: measured as the peak resident memory of a fresh
process (Linux), so that allocations in Rust count as well as numpy's."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# VmHWM is the peak resident memory of this process image; writing 5 to clear_refs resets it to
# the current resident memory, so the peak below is the decode's alone.
PROGRAM = textwrap.dedent(
    """
    import numpy as np
    import vision_banana as vb

    def status(key):
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith(key + ":"))
        return int(line.split()[1]) * 1024

    picture = np.random.default_rng(0).integers(0, 256, (4096, 4096, 3), dtype=np.uint8)
    vb.decode_depth(picture[:64, :64])        # warm up: thread pool, tables
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    depth = vb.decode_depth(picture)
    print(status("VmHWM") - before, depth.nbytes)
    """
)


def test_decode_depth_peak_memory_is_the_output_plus_a_constant():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True
    )
    growth, output = map(int, result.stdout.split())
    assert output == 4096 * 4096 * 4
    # The output array (64 MiB) plus at most 4 MiB: no copy of the input, no temporaries.
    assert 0.9 * output <= growth <= output + 4 * 2**20, result.stdout
