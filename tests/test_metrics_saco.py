"""SA-Co's scoring (`vision_banana.metrics.saco`) against a from-scratch reading of SAM 3's
``cgf1_eval.py`` (tests/saco_reference.py) on random pairs, and its rules one by one."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from saco_reference import accumulate, evaluate_pair, select_best
from vision_banana.errors import InvalidArgumentError, InvalidTypeError
from vision_banana.metrics.saco import (
    PairScore,
    SacoGoldMetric,
    SacoMetric,
    exhaustive_pairs,
    oracle,
    score_pair,
)

SHAPE = (12, 14)


def random_masks(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` rectangles of random size and place."""
    masks = np.zeros((count, *SHAPE), bool)
    for m in masks:
        top, left = rng.integers(0, 8), rng.integers(0, 9)
        m[top : top + rng.integers(2, 6), left : left + rng.integers(2, 7)] = True
    return masks


def jitter(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """Each mask shifted by up to one pixel, so IoUs spread over the thresholds."""
    if not len(masks):
        return masks.copy()
    return np.stack([np.roll(m, tuple(rng.integers(-1, 2, 2)), axis=(0, 1)) for m in masks])


def random_pair(rng: np.random.Generator):
    truth = random_masks(rng, rng.integers(0, 4))
    annotators, crowds = [], []
    for _ in range(3):
        keep = rng.random(len(truth)) < 0.8
        drawn = jitter(rng, truth[keep])
        if rng.random() < 0.3:
            drawn = np.concatenate([drawn, random_masks(rng, 1)])
        annotators.append(drawn)
        crowds.append(rng.random(len(drawn)) < 0.15)
    pred = jitter(rng, truth) if rng.random() < 0.8 else truth[:0]
    if rng.random() < 0.4:
        pred = np.concatenate([pred, random_masks(rng, rng.integers(1, 3))])
    scores = rng.uniform(0.2, 1.0, len(pred))
    return pred, annotators, crowds, scores


@pytest.mark.parametrize("use_scores", [False, True])
def test_figures_equal_a_from_scratch_reading_of_sam3(use_scores):
    rng = np.random.default_rng(3)
    metric, results = SacoMetric(use_scores=use_scores), []
    for _ in range(60):
        pred, annotators, crowds, scores = random_pair(rng)
        metric.update(pred, annotators, crowds, scores)
        kept = scores if use_scores else np.ones(len(pred))
        results.append(
            select_best(
                [evaluate_pair(pred, kept, a, c) for a, c in zip(annotators, crowds, strict=True)]
            )
        )
    expected = accumulate(results)
    assert metric.compute() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert 0.2 < expected["pmf1"] < 0.95
    assert 0.1 < expected["il_mcc"] < 0.95


def test_exhaustivity_keeps_pairs_every_annotator_calls_exhaustive_in_the_first_order():
    a = [{"id": i, "is_instance_exhaustive": e} for i, e in ((3, 1), (1, 1), (2, 0), (4, 1))]
    b = [{"id": 1, "is_instance_exhaustive": 0}, {"id": 9, "is_instance_exhaustive": 0}]
    c = [{"id": 2, "is_instance_exhaustive": 1}, {"id": 4, "is_instance_exhaustive": True}]
    assert exhaustive_pairs([a, b, c]) == [3, 4]
    assert exhaustive_pairs([a]) == [3, 1, 4]
    with pytest.raises(InvalidArgumentError, match="at least one annotator"):
        exhaustive_pairs([])


def test_matching_is_one_to_one_on_the_largest_total_iou_and_drops_crowd_and_low_scores():
    big = np.zeros((1, *SHAPE), bool)
    big[0, 0:4, 0:4] = True
    half = np.zeros((1, *SHAPE), bool)
    half[0, 0:4, 0:2] = True
    # One prediction between two truths: it goes to the one it overlaps most.
    scored = score_pair(big, np.concatenate([half, big]))
    assert (scored.predictions, scored.truths, scored.matched.tolist()) == (1, 2, [1.0])
    # A crowd truth is left out; a prediction under 0.5 is dropped.
    scored = score_pair(
        np.concatenate([big, half]),
        np.concatenate([half, big]),
        crowd=[True, False],
        scores=[0.9, 0.49],
    )
    assert (scored.predictions, scored.truths, scored.matched.tolist()) == (1, 1, [1.0])
    with pytest.raises(InvalidArgumentError, match=r"scores must have one score per prediction"):
        score_pair(big, big, scores=[0.5, 0.5])
    with pytest.raises(InvalidArgumentError, match=r"crowd must be \(1,\) booleans"):
        score_pair(big, big, crowd=[True, False])
    with pytest.raises(InvalidArgumentError, match="stacks of masks"):
        score_pair(big[0], big)


def test_oracle_takes_a_true_negative_then_the_best_mean_f1_first_on_ties():
    miss = PairScore(1, 1, np.array([0.3]))
    hit = PairScore(1, 1, np.array([0.97]))
    negative = PairScore(0, 0, np.zeros(0))
    false_alarm = PairScore(1, 0, np.zeros(0))
    assert oracle([miss, hit]) is hit
    assert oracle([hit, PairScore(1, 1, np.array([0.97]))]) is hit
    assert oracle([hit, negative]) is negative
    # A true negative, once chosen, is kept: sam3 replaces it only by another one.
    assert oracle([negative, hit]) is negative
    assert oracle([false_alarm, miss]) is false_alarm  # both F1 0: the first stays
    with pytest.raises(InvalidArgumentError, match="at least one"):
        oracle([])


def test_subsets_are_scored_apart_and_averaged_and_merge_and_pickle():
    rng = np.random.default_rng(8)
    whole, parts = SacoGoldMetric(), [SacoGoldMetric(), SacoGoldMetric()]
    alone = {"a": SacoMetric(), "b": SacoMetric()}
    for i in range(30):
        pred, annotators, crowds, scores = random_pair(rng)
        subset = "ab"[i % 2]
        whole.update(subset, pred, annotators, crowds, scores)
        parts[i % 3 == 0].update(subset, pred, annotators, crowds, scores)
        alone[subset].update(pred, annotators, crowds, scores)
    figures = whole.compute()
    assert figures["subsets"] == {"a": alone["a"].compute(), "b": alone["b"].compute()}
    for key in ("pmf1", "il_mcc", "cgf1"):
        assert figures[key] == pytest.approx(
            (alone["a"].compute()[key] + alone["b"].compute()[key]) / 2, rel=1e-12
        )
    merged = pickle.loads(pickle.dumps(parts[0])).merge(parts[1])
    assert merged.compute() == figures  # the same counts, so the same floats
    assert np.isnan(SacoGoldMetric().compute()["pmf1"])


def test_bad_arguments():
    with pytest.raises(InvalidTypeError, match="use_scores must be True or False"):
        SacoMetric(use_scores="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="annotators must be a sequence"):
        SacoMetric().update(np.zeros((0, 2, 2), bool), np.zeros((1, 2, 2), bool))
    with pytest.raises(InvalidArgumentError, match="crowd must give flags"):
        SacoMetric().update(np.zeros((0, 2, 2), bool), [np.zeros((1, 2, 2), bool)], [None, None])
    with pytest.raises(InvalidTypeError, match="other must be a SacoGoldMetric"):
        SacoGoldMetric().merge(SacoMetric())  # type: ignore[arg-type]
