"""Timing helpers shared by the benchmarks: each benchmark times ours with pytest-benchmark and its
baseline with `seconds` in the same run, then `compare` records the ratio and checks the target."""

from __future__ import annotations

import timeit


def seconds(function, repeat=5):
    """Best wall time of a few calls of the baseline."""
    return min(timeit.repeat(function, number=1, repeat=repeat))


def compare(benchmark, baseline_s, *, at_least=None, at_most_times=None):
    """Records ours against the baseline; checks the target when timing is on."""
    if benchmark.disabled:
        return
    ours = benchmark.stats.stats.min
    speedup = baseline_s / ours
    benchmark.extra_info.update(baseline_s=baseline_s, ours_s=ours, speedup=speedup)
    print(
        f"\n{benchmark.name}: ours {ours * 1e3:.3f} ms, baseline {baseline_s * 1e3:.3f} ms, "
        f"speedup {speedup:.1f}x"
    )
    if at_least is not None:
        assert speedup >= at_least, f"{speedup:.1f}x, target {at_least}x"
    if at_most_times is not None:
        assert 1 / speedup <= at_most_times, (
            f"{1 / speedup:.2f}x the floor, target {at_most_times}x"
        )
