"""Judge agreement and bias correction, against values worked out by hand."""

from __future__ import annotations

import pytest

from evals.agreement import agreement, corrected_rate


def test_agreement_counts_and_kappa() -> None:
    # 50 positives, 50 negatives; the judge finds 40 of the positives and wrongly flags 5.
    truth = [True] * 50 + [False] * 50
    said = [True] * 40 + [False] * 10 + [True] * 5 + [False] * 45
    a = agreement(truth, said)
    assert (a.tp, a.fn, a.fp, a.tn) == (40, 10, 5, 45)
    assert a.accuracy == pytest.approx(0.85)
    assert a.tpr == pytest.approx(0.8) and a.tnr == pytest.approx(0.9)
    # p_o = 0.85; p_e = 0.45 * 0.5 + 0.55 * 0.5 = 0.5; kappa = 0.35 / 0.5
    assert a.kappa == pytest.approx(0.7)


def test_kappa_is_zero_for_a_judge_that_ignores_the_input() -> None:
    truth = [True, False] * 50
    a = agreement(truth, [True] * 100)
    assert a.kappa == pytest.approx(0.0) and a.tpr == 1.0 and a.tnr == 0.0
    assert agreement([], []).accuracy is None
    with pytest.raises(ValueError):
        agreement([True], [])


def test_rogan_gladen_correction_and_its_interval() -> None:
    # observed 0.5 of 200; TPR 0.8 (n=50), TNR 0.9 (n=50):
    # estimate = (0.5 + 0.9 - 1) / (0.8 + 0.9 - 1) = 0.4 / 0.7 = 0.571429
    # var = [0.25/200 + 0.571429^2 * 0.16/50 + 0.428571^2 * 0.09/50] / 0.49 = 0.0053582
    # half width = 1.959964 * sqrt(0.0053582) = 0.143469
    rate = corrected_rate(0.5, 200, 0.8, 0.9, 50, 50)
    assert rate is not None
    assert rate.corrected == pytest.approx(0.571429, abs=1e-6)
    assert rate.low == pytest.approx(0.427960, abs=1e-5)
    assert rate.high == pytest.approx(0.714897, abs=1e-5)


def test_correction_is_clipped_and_refused_for_a_chance_level_judge() -> None:
    low = corrected_rate(0.05, 100, 0.9, 0.8, 40, 40)  # (0.05 - 0.2) / 0.7 < 0
    assert low is not None and low.corrected == 0.0 and low.low == 0.0
    assert corrected_rate(0.5, 100, 0.5, 0.5, 40, 40) is None
    assert corrected_rate(0.5, 100, 0.4, 0.55, 40, 40) is None
    perfect = corrected_rate(0.3, 100, 1.0, 1.0, 40, 40)
    assert perfect is not None and perfect.corrected == pytest.approx(0.3)


def test_the_corrected_interval_stays_inside_zero_and_one() -> None:
    from evals.agreement import corrected_rate

    fixed = corrected_rate(0.99, 50, 0.9, 0.9, 20, 20)
    assert fixed is not None
    assert 0.0 <= fixed.low <= fixed.corrected <= fixed.high <= 1.0
