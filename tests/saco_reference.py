"""SA-Co's scoring read from scratch from facebookresearch/sam3 ``sam3/eval/cgf1_eval.py``, for the
tests: the per-pair outcome dicts of ``evaluateImg``, ``_select_best_scoring`` over annotators
and ``accumulate``, in plain numpy, with the one-to-one matching found by trying every assignment
(no scipy), and SAM 3's own evaluator loaded from an installed ``sam3`` where there is one.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def best_matching(ious: np.ndarray) -> np.ndarray:
    """The IoUs of the one-to-one matching with the largest total, by trying every one."""
    p, g = ious.shape
    best, best_total = np.zeros(0), -1.0
    small, large = (p, g) if p <= g else (g, p)
    for chosen in itertools.permutations(range(large), small):
        values = np.array(
            [
                ious[i, j] if p <= g else ious[j, i]
                for i, j in zip(range(small), chosen, strict=True)
            ]
        )
        if values.sum() > best_total + 1e-12:
            best, best_total = values, values.sum()
    return best


def evaluate_pair(
    preds: Sequence[np.ndarray],
    scores: Sequence[float],
    truths: Sequence[np.ndarray],
    crowd: Sequence[bool],
    threshold: float = 0.5,
) -> dict[str, Any]:
    gt = [m for m, c in zip(truths, crowd, strict=True) if not c]
    dt = [m for m, s in zip(preds, scores, strict=True) if s >= threshold]
    if not gt and not dt:
        return {"IL_TP": 0, "IL_TN": 1, "IL_FP": 0, "IL_FN": 0}
    n = len(THRESHOLDS)
    if gt and not dt:
        return {
            "IL_TP": 0,
            "IL_TN": 0,
            "IL_FP": 0,
            "IL_FN": 1,
            "TPs": np.zeros(n),
            "FPs": np.zeros(n),
            "FNs": np.full(n, len(gt)),
            "local_F1s": np.zeros(n),
            "local_positive_F1s": np.zeros(n),
        }
    ious = np.array([[iou(d, g) for g in gt] for d in dt]).reshape(len(dt), len(gt))
    matched = best_matching(ious) if gt else np.zeros(0)
    tps = np.array([(matched >= t).sum() for t in THRESHOLDS], float)
    fps, fns = len(dt) - tps, len(gt) - tps
    precision = tps / (tps + fps + 1e-4)
    recall = tps / (tps + fns + 1e-4)
    f1 = 2 * precision * recall / (precision + recall + 1e-4)
    result = {
        "TPs": tps,
        "FPs": fps,
        "FNs": fns,
        "local_F1s": f1,
        "IL_TP": int(bool(gt)),
        "IL_FP": int(not gt),
        "IL_TN": 0,
        "IL_FN": 0,
    }
    if gt:
        result["local_positive_F1s"] = f1
    return result


def select_best(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    best = results[0]
    for current in results[1:]:
        if "local_F1s" in best and "local_F1s" in current:
            if current["local_F1s"].mean() > best["local_F1s"].mean():
                best = current
        elif "local_F1s" not in current:
            best = current
    return best


def accumulate(results: Sequence[dict[str, Any]]) -> dict[str, float]:
    n = len(THRESHOLDS)
    tps, fns, pm_fps = np.zeros(n), np.zeros(n), np.zeros(n)
    il = {k: 0 for k in ("IL_TP", "IL_FP", "IL_TN", "IL_FN")}
    for r in results:
        for k in il:
            il[k] += r[k]
        if "TPs" in r:
            tps += r["TPs"]
            fns += r["FNs"]
            if "local_positive_F1s" in r:
                pm_fps += r["FPs"]
    precision = tps / (tps + pm_fps + 1e-4)
    recall = tps / (tps + fns + 1e-4)
    f1 = 2 * precision * recall / (precision + recall + 1e-4)
    tp, fp, tn, fn = il["IL_TP"], il["IL_FP"], il["IL_TN"], il["IL_FN"]
    mcc = (tp * tn - fp * fn) / (((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5 + 1e-6)
    return {
        "pmf1": float(f1.mean()),
        "il_mcc": float(mcc),
        "cgf1": 100 * float((f1 * mcc).mean()),
        "pmf1_50": float(f1[0]),
        "pmf1_75": float(f1[5]),
    }


def sam3_cgf1_module() -> ModuleType | None:
    """``sam3/eval/cgf1_eval.py`` of an installed ``sam3`` (``pip install --no-deps sam3``),
    loaded from its file so that the package's model code (torch) is not imported; None when
    sam3 is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        path = Path(str(distribution("sam3").locate_file("sam3/eval/cgf1_eval.py")))
    except PackageNotFoundError:
        return None
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("sam3_cgf1_eval", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
