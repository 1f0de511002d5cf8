"""End to end: ``evaluate`` on tiny official layouts of cityscapes, refcocog, reasonseg and
saco-gold, with a generator painting known predictions; every figure checked against numpy
written here (and SA-Co against SAM 3's own evaluator where sam3 is installed), and a second run
served from the cache giving the same results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask

import vision_banana as vb
from eval_seg_layouts import (
    PromptPainter,
    build_cityscapes,
    build_reasonseg,
    build_refcocog,
    build_saco,
    key,
    paint_instances,
    paint_referring,
)
from saco_reference import accumulate, evaluate_pair, sam3_cgf1_module, select_best
from vision_banana.cli import main
from vision_banana.errors import InvalidArgumentError
from vision_banana.eval import evaluate
from vision_banana.eval.benchmarks.cityscapes import CLASSES, palette_colors
from vision_banana.prompts import parse_mapping


def rerun_equals(name, root, painter, out, **options):
    """A second run into ``out`` asks nothing and writes the same results."""
    first = json.loads((out / "results.json").read_text())
    calls = len(painter.prompts)
    again = evaluate(name, root, painter.generator(), out=out, **options)
    assert again.generated == 0
    assert len(painter.prompts) == calls
    second = json.loads((out / "results.json").read_text())
    assert second["metrics"] == first["metrics"]
    return again


# --- Cityscapes ----------------------------------------------------------------------------------


def confusion_miou(truths, preds, classes=19):
    """mmsegmentation's IoU: per class TP / (TP + FP + FN) over the set, truth 255 skipped,
    predictions outside the classes wrong for the truth's class only."""
    tp, gt_area, pred_area = np.zeros(classes), np.zeros(classes), np.zeros(classes)
    for t, p in zip(truths, preds, strict=True):
        keep = t != 255
        t, p = t[keep], p[keep]
        for c in range(classes):
            tp[c] += np.sum((t == c) & (p == c))
            gt_area[c] += np.sum(t == c)
            pred_area[c] += np.sum(p == c)
    union = gt_area + pred_area - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return iou, float(np.nanmean(iou))


@pytest.mark.parametrize("palette", ["distinct", "cityscapes"])
def test_cityscapes_miou_and_per_class_iou(tmp_path, palette):
    written = build_cityscapes(tmp_path / "cs")
    colors = palette_colors(palette)
    by_photo = {w["key"]: w["pred"] for w in written}

    def answer(image, prompt):
        mapping = parse_mapping(prompt)
        assert dict(mapping.classes) == colors
        assert list(mapping.classes) == list(CLASSES)
        pred = by_photo[key(image)]
        labels = np.where(pred == 255, 255, pred)
        picture = vb.encode_semantic(labels, list(colors.values()), ignore_index=255)
        return np.repeat(np.repeat(picture, 2, axis=0), 2, axis=1)  # generated at twice the size

    painter = PromptPainter(answer)
    out = tmp_path / "out"
    report = evaluate("cityscapes", tmp_path / "cs", painter.generator(), out=out, palette=palette)
    assert (report.task, report.samples, report.scored, report.failures) == ("semantic", 2, 2, [])
    iou, miou = confusion_miou([w["train"] for w in written], [w["pred"] for w in written])
    assert report.metrics["miou"] == pytest.approx(miou, rel=1e-12)
    assert 0.1 < miou < 0.9
    results = json.loads((out / "results.json").read_text())
    assert list(results["metrics"]["iou"]) == list(CLASSES)
    for name, value in zip(CLASSES, iou, strict=True):
        stored = results["metrics"]["iou"][name]
        assert stored is None if np.isnan(value) else stored == pytest.approx(value, rel=1e-12)
    assert results["paper"]["ours"] == {"miou": 0.699}
    assert "| iou/road |" in (out / "results.md").read_text()
    rerun_equals("cityscapes", tmp_path / "cs", painter, out, palette=palette)


def test_cityscapes_refuses_an_unknown_palette(tmp_path):
    build_cityscapes(tmp_path)
    with pytest.raises(InvalidArgumentError, match="palette must be one of distinct, cityscapes"):
        evaluate("cityscapes", tmp_path, lambda i, p, s: i, palette="viridis")


# --- RefCOCOg ------------------------------------------------------------------------------------


def ciou_giou(pairs):
    """LISA: cIoU = sum I / sum U; gIoU = mean I / U, an empty union counting 1. Pairs of
    (prediction, truth, valid)."""
    inter = [np.sum(p & t & v) for p, t, v in pairs]
    union = [np.sum((p | t) & v) for p, t, v in pairs]
    per = [i / u if u else 1.0 for i, u in zip(inter, union, strict=True)]
    return sum(inter) / sum(union), float(np.mean(per))


def test_refcocog_one_query_per_val_sentence(tmp_path):
    data = build_refcocog(tmp_path / "ref")
    queries = data["queries"]

    def answer(image, prompt):
        (expression,) = parse_mapping(prompt).classes
        return paint_referring(prompt, queries[expression][1])

    painter = PromptPainter(answer)
    out = tmp_path / "out"
    report = evaluate("refcocog", tmp_path / "ref", painter.generator(), out=out)
    assert (report.task, report.samples, report.scored, report.failures) == ("referring", 3, 3, [])
    lines = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["ref_10/0", "ref_10/1", "ref_11/0"]
    assert len({line["key"] for line in lines[:2]}) == 2  # one photo, two prompts, two keys
    assert "training sentence" not in " ".join(painter.prompts)
    ciou, giou = ciou_giou([(p, t, np.ones_like(t)) for t, p in queries.values()])
    assert report.metrics == pytest.approx({"ciou": ciou, "giou": giou}, rel=1e-12)
    assert 0.3 < ciou < 0.9
    rerun_equals("refcocog", tmp_path / "ref", painter, out)


def test_refcocog_missing_layout_names_the_file(tmp_path):
    build_refcocog(tmp_path)
    (tmp_path / "refcocog" / "instances.json").unlink()
    with pytest.raises(InvalidArgumentError, match=r"missing: .*refcocog/instances.json"):
        evaluate("refcocog", tmp_path, lambda i, p, s: i)


# --- ReasonSeg -----------------------------------------------------------------------------------


def test_reasonseg_ignored_pixels_are_out_of_intersection_and_union(tmp_path):
    data = build_reasonseg(tmp_path / "rs")
    predictions = data["predictions"]

    def answer(image, prompt):
        (expression,) = parse_mapping(prompt).classes  # the prompt drops a leading "the"
        (query,) = [q for q in predictions if q.endswith(expression)]
        return paint_referring(prompt, predictions[query])

    painter = PromptPainter(answer)
    out = tmp_path / "out"
    report = evaluate("reasonseg", tmp_path / "rs", painter.generator(), out=out)
    assert (report.samples, report.scored, report.failures) == (2, 2, [])
    assert "a second text never asked" not in " ".join(painter.prompts)
    pairs = [(predictions[q], mask, valid) for q, (mask, valid) in data["truths"].items()]
    ciou, giou = ciou_giou(pairs)
    assert report.metrics == pytest.approx({"ciou": ciou, "giou": giou}, rel=1e-12)
    assert report.headline()[:2] == ("ciou", "giou")
    assert report.paper.ours == {"giou": 0.793}
    rerun_equals("reasonseg", tmp_path / "rs", painter, out)


def test_reasonseg_truth_is_drawn_as_lisa_draws_it(tmp_path):
    data = build_reasonseg(tmp_path)
    from vision_banana.eval.benchmarks.reasonseg import ReasonSeg

    for sample in ReasonSeg(tmp_path).samples():
        truth = sample.load_truth()
        mask, valid = data["truths"][sample.query]
        np.testing.assert_array_equal(truth.mask, mask)
        np.testing.assert_array_equal(truth.valid, valid)


# --- SA-Co/Gold ----------------------------------------------------------------------------------


def saco_painter(data):
    predictions = data["predictions"]

    def answer(image, prompt):
        phrase = parse_mapping(prompt).instance_class
        return paint_instances(prompt, predictions[phrase])

    return PromptPainter(answer)


def saco_expected(data, subsets, use_scores=False):
    """Per subset, the from-scratch reading of cgf1_eval on the pairs exhaustive for all."""
    figures = {}
    for name in subsets:
        results = []
        for pair in data["subsets"][name]:
            if not all(pair["exhaustive"]):
                continue
            preds = data["predictions"][pair["text"]]
            # extract_instances' score of a solid rectangle: sqrt(kept under a 3x3 erosion).
            scores = [
                np.sqrt(max(m.sum(0).max() - 2, 0) * max(m.sum(1).max() - 2, 0) / m.sum())
                for m in preds
            ]
            kept = scores if use_scores else [1.0] * len(preds)
            scorings = [
                evaluate_pair(preds, kept, [m for m, _ in a], [c for _, c in a])
                for a in pair["masks"]
            ]
            results.append(select_best(scorings))
        figures[name] = accumulate(results)
    return figures


@pytest.mark.parametrize("use_scores", [False, True])
def test_saco_gold_per_subset_figures_and_their_mean(tmp_path, use_scores):
    data = build_saco(tmp_path / "saco")
    painter = saco_painter(data)
    out = tmp_path / "out"
    report = evaluate(
        "saco-gold", tmp_path / "saco", painter.generator(), out=out, use_scores=use_scores
    )
    assert [f for f in report.failures] == []
    assert report.samples == report.scored == 5  # pairs 3 and 4 are not exhaustive for all
    expected = saco_expected(data, ("crowded", "fg_food"), use_scores)
    results = json.loads((out / "results.json").read_text())
    assert list(results["metrics"]["subsets"]) == ["crowded", "fg_food"]
    for subset, figures in expected.items():
        assert results["metrics"]["subsets"][subset] == pytest.approx(figures, rel=1e-12)
    for k in ("pmf1", "il_mcc", "cgf1"):
        mean = (expected["crowded"][k] + expected["fg_food"][k]) / 2
        assert results["metrics"][k] == pytest.approx(mean, rel=1e-12)
    assert results["protocol"]["metric_options"] == {"use_scores": use_scores}
    assert 0.2 < expected["crowded"]["pmf1"] < 0.95
    rerun_equals("saco-gold", tmp_path / "saco", painter, out, use_scores=use_scores)


def test_saco_gold_equals_sam3s_own_evaluator(tmp_path):
    cgf1 = sam3_cgf1_module()
    if cgf1 is None:
        pytest.skip("sam3 is not installed (pip install --no-deps sam3 to cross-check)")
    data = build_saco(tmp_path / "saco")
    report = evaluate(
        "saco-gold", tmp_path / "saco", saco_painter(data).generator(), out=tmp_path / "out"
    )
    for subset in ("crowded", "fg_food"):
        files = [
            str(tmp_path / "saco" / "annotations" / f"gold_{subset}_merged_{x}_release_test.json")
            for x in "abc"
        ]
        predictions = []
        for pair in data["subsets"][subset]:
            for mask in data["predictions"][pair["text"]]:
                rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
                rle["counts"] = rle["counts"].decode("ascii")
                box = [float(v) for v in coco_mask.toBbox(rle)]  # SAM 3's dumps carry one
                predictions.append(
                    {
                        "image_id": pair["id"],
                        "category_id": 1,
                        "segmentation": rle,
                        "bbox": box,
                        "score": 1.0,
                    }
                )
        path = tmp_path / f"{subset}_predictions.json"
        path.write_text(json.dumps(predictions))
        theirs = cgf1.CGF1Evaluator(gt_path=files, iou_type="segm").evaluate(str(path))
        ours = report.metrics["subsets"][subset]
        assert ours["pmf1"] == pytest.approx(theirs["cgF1_eval_segm_positive_micro_F1"], abs=1e-12)
        assert ours["il_mcc"] == pytest.approx(theirs["cgF1_eval_segm_IL_MCC"], abs=1e-12)
        assert ours["cgf1"] == pytest.approx(100 * theirs["cgF1_eval_segm_cgF1"], abs=1e-10)


def test_saco_gold_subset_and_sample_from_the_command_line(tmp_path, monkeypatch, capsys):
    data = build_saco(tmp_path / "saco")
    predictions = {k: [m.tolist() for m in v] for k, v in data["predictions"].items()}
    (tmp_path / "saco_gen.py").write_text(
        "import json, numpy as np\n"
        "from eval_seg_layouts import paint_instances\n"
        "from vision_banana.prompts import parse_mapping\n"
        f"PRED = json.loads({json.dumps(json.dumps(predictions))})\n"
        "def paint(image, prompt, seed):\n"
        "    masks = [np.array(m, bool) for m in PRED[parse_mapping(prompt).instance_class]]\n"
        "    return paint_instances(prompt, masks)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["eval", "saco-gold", "--root", str(tmp_path / "saco"), "--generator"]
    argv += ["callable:saco_gen:paint", "--subset", "crowded", "--sample", "2", "--seed", "4"]
    argv += ["-o", str(tmp_path / "out"), "--use-scores"]
    assert main(argv) == 0
    assert "saco-gold: scored 2 of 2 queries" in capsys.readouterr().out
    lines = (tmp_path / "out" / "samples.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    eligible = ["crowded/1", "crowded/2", "crowded/5"]
    assert ids == sorted(ids, key=eligible.index)
    assert set(ids) < set(eligible)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert list(results["metrics"]["subsets"]) == ["crowded"]
    assert results["protocol"]["metric_options"] == {"use_scores": True}
    assert "2 pairs drawn with seed 4" in results["protocol"]["summary"]
    # The same seed draws the same pairs.
    assert main([*argv[:-3], "-o", str(tmp_path / "again"), "--use-scores"]) == 0
    again = (tmp_path / "again" / "samples.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in again] == ids


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"subset": "gold"}, "subset must be one of metaclip, sa1b"),
        ({"sample": 9}, "sample: 9 pairs asked, but only 5 are scored"),
        ({"sample": 0}, "sample must be a whole number of pairs above 0"),
        ({"tau": -1}, "tau"),
        ({"stride": 2}, "saco-gold takes no option stride"),
    ],
)
def test_saco_gold_bad_options(tmp_path, options, message):
    build_saco(tmp_path)
    with pytest.raises(InvalidArgumentError, match=message):
        evaluate("saco-gold", tmp_path, lambda i, p, s: i, **options)
