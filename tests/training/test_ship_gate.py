"""``training.ship_gate``: a candidate ships only if it beats the baseline on every fake source of the same held-out
items, without more reals called fake."""

from __future__ import annotations

import json

import pytest

from training.ship_gate import compare, family_aucs, format_result, main, reals_called_fake


def item(path, label, source, media, score, verdict=None):
    verdict = verdict or ("no_face" if score is None else "fake" if score >= 0.5 else "real")
    return {"path": path, "label": label, "source": source, "media": media, "score": score, "verdict": verdict}


def report(gan, swap, reals_img, reals_vid):
    """Two fake sources (a GAN's images, a swap tool's videos) and reals of both media, with the given scores."""
    rows = [item(f"gan{i}.png", 1, "gan", "image", s) for i, s in enumerate(gan)]
    rows += [item(f"swap{i}.mp4", 1, "swap", "video", s) for i, s in enumerate(swap)]
    rows += [item(f"photo{i}.jpg", 0, "photos" if i % 2 else "old", "image", s) for i, s in enumerate(reals_img)]
    rows += [item(f"clip{i}.mp4", 0, "clips", "video", s) for i, s in enumerate(reals_vid)]
    return rows


BASE = report(gan=[0.9, 0.6, 0.3], swap=[0.7, 0.4], reals_img=[0.2, 0.55, 0.4, 0.1], reals_vid=[0.5, 0.1])


def test_each_fake_source_is_ranked_against_the_reals_of_its_media():
    aucs = family_aucs(BASE)
    # gan: 0.9 beats all 4 image reals, 0.6 beats all 4, 0.3 beats 2 of 4 -> 10/12; swap: 0.7 beats both clips,
    # 0.4 beats one -> 3/4. The videos' reals never enter the images' AUC.
    assert aucs == {("gan", "image"): (3, pytest.approx(10 / 12)), ("swap", "video"): (2, pytest.approx(0.75))}
    assert reals_called_fake(BASE) == {"all": (6, 2), "clips": (2, 1), "old": (2, 0), "photos": (2, 1)}


def test_a_candidate_better_everywhere_passes_and_one_worse_anywhere_does_not():
    better = report(gan=[0.9, 0.8, 0.7], swap=[0.8, 0.6], reals_img=[0.2, 0.45, 0.4, 0.1], reals_vid=[0.3, 0.1])
    result = compare(BASE, better)
    assert result.passes and [round(f.gain, 3) for f in result.families] == [round(1 - 10 / 12, 3), 0.25]
    # Better AUCs but one more real called fake: "without more reals called fake" fails it.
    louder = report(gan=[0.9, 0.8, 0.7], swap=[0.8, 0.6], reals_img=[0.6, 0.55, 0.4, 0.1], reals_vid=[0.5, 0.1])
    assert not compare(BASE, louder).passes and "reals called fake: 3 of 6" in compare(BASE, louder).failures[-1]
    # One family worse, the other better: it does not pass, and says which.
    mixed = report(gan=[0.9, 0.8, 0.7], swap=[0.3, 0.2], reals_img=[0.2, 0.45, 0.4, 0.1], reals_vid=[0.3, 0.1])
    assert [f.split(" ")[0] for f in compare(BASE, mixed).failures] == ["swap"]
    # An equal family is not beaten, and a margin can be asked for.
    assert not compare(BASE, BASE).passes
    assert not compare(BASE, better, min_gain=0.2).passes


def test_a_family_without_scored_fakes_fails_rather_than_vanishing():
    faceless = report(gan=[0.9, 0.8, 0.7], swap=[None, None], reals_img=[0.2, 0.45, 0.4, 0.1], reals_vid=[0.3, 0.1])
    result = compare(BASE, faceless)
    assert [f.source for f in result.families] == ["gan", "swap"] and result.failures[0].startswith("swap")


def test_reports_of_different_items_are_refused_on_the_command_line(tmp_path, capsys):
    base, cand, other = tmp_path / "base.json", tmp_path / "cand.json", tmp_path / "other.json"
    base.write_text(json.dumps({"items": BASE}))
    cand.write_text(json.dumps({"items": report(gan=[0.9, 0.8, 0.7], swap=[0.8, 0.6], reals_img=[0.2, 0.45, 0.4, 0.1],
                                                reals_vid=[0.3, 0.1])}))
    other.write_text(json.dumps({"items": BASE[:-1]}))
    assert main([str(base), str(cand)]) == 0 and "passes" in capsys.readouterr().out
    assert main([str(cand), str(base)]) == 1 and "does not pass" in capsys.readouterr().out
    assert main([str(base), str(other)]) == 2 and "different items" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{}")
    assert main([str(base), str(tmp_path / "bad.json")]) == 2


def test_each_gain_comes_with_a_paired_interval_that_narrows_with_more_items():
    better = report(gan=[0.9, 0.8, 0.7], swap=[0.8, 0.6], reals_img=[0.2, 0.45, 0.4, 0.1], reals_vid=[0.3, 0.1])
    result = compare(BASE, better)
    for f in result.families:
        assert f.gain_interval[0] <= f.gain <= f.gain_interval[1]
    # The same model against itself: every resample gains exactly nothing (the pairing cancels all noise).
    assert all(f.gain_interval == (0.0, 0.0) for f in compare(BASE, BASE).families)
    # The same score patterns repeated 20 times: the same gain, a narrower interval.
    big_base = [dict(r, path=f"{k}/{r['path']}") for k in range(20) for r in BASE]
    big_better = [dict(r, path=f"{k}/{r['path']}") for k in range(20) for r in better]
    small, big = result.families[0], compare(big_base, big_better).families[0]
    assert big.gain == pytest.approx(small.gain)
    assert big.gain_interval[1] - big.gain_interval[0] < (small.gain_interval[1] - small.gain_interval[0]) / 2
    assert "95 % interval" in format_result(result)


def test_several_draws_of_a_recipe_are_judged_by_their_mean(tmp_path, capsys):
    # Draw 1 loses the swap family (AUC 0.5 against 0.75), draw 2 wins it (1.0): the mean, 0.75, only ties, so the
    # recipe does not pass although draw 2 alone would; the gan family is better in both, and so in the mean.
    lucky = report(gan=[0.9, 0.8, 0.7], swap=[0.8, 0.6], reals_img=[0.2, 0.45, 0.4, 0.1], reals_vid=[0.3, 0.1])
    unlucky = report(gan=[0.9, 0.8, 0.7], swap=[0.4, 0.2], reals_img=[0.6, 0.45, 0.55, 0.1], reals_vid=[0.5, 0.1])
    assert compare(BASE, lucky).passes and not compare(BASE, unlucky).passes
    mean = compare(BASE, lucky, unlucky)
    assert [round(f.candidate_auc, 3) for f in mean.families] == [1.0, 0.75]
    assert [f.split(" ")[0] for f in mean.failures] == ["swap"]
    # The interval is that of the mean's gain: a tie on every resample of these items is impossible, so it is wide,
    # and it contains the point.
    swap = mean.families[1]
    assert swap.gain_interval[0] <= swap.gain <= swap.gain_interval[1] and swap.gain_interval[0] < 0
    # Reals called fake are averaged too: 0 and 3 (of 6) against the baseline's 2 -> 1.5, no more than the baseline.
    assert mean.reals[0].candidate_fake == pytest.approx(1.5) and not any("reals" in f for f in mean.failures)
    # A draw scored on other items is refused, and the command line takes the draws after the candidate.
    with pytest.raises(ValueError, match="different items"):
        compare(BASE, lucky, unlucky[:-1])
    files = []
    for name, rows in (("base", BASE), ("lucky", lucky), ("unlucky", unlucky)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps({"items": rows}))
    assert main([str(files[0]), str(files[1])]) == 0
    assert main([str(files[0]), str(files[1]), str(files[2])]) == 1
    assert [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("all ")][-1] == \
        ["all", "6", "2", "1.5"]
