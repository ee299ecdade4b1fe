"""Naive-Bayes posterior, information gain and Shapley values on a hand-computed table."""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np
import pytest

from turngym.envs.clinical import (
    Condition,
    ConditionTable,
    Finding,
    NaiveBayesModel,
    entropy_bits,
    shapley_values,
)


def _finding(fid: str) -> Finding:
    return Finding(fid, "symptom", fid, f"Yes, {fid}.", f"No {fid}.", ((fid,),))


@pytest.fixture
def tiny() -> NaiveBayesModel:
    """Two equally likely conditions A and B; x and y favour A; z is uninformative (leak)."""
    findings = (_finding("x"), _finding("y"), _finding("z"))
    a = Condition("a", "A", ("a",), 1.0, (1, 2), 0.5, MappingProxyType({"x": 0.8, "y": 0.5}))
    b = Condition("b", "B", ("b",), 1.0, (1, 2), 0.5, MappingProxyType({"x": 0.2}))
    return NaiveBayesModel(ConditionTable(findings, (a, b)), leak=0.1)


def _h2(p: float) -> float:
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def test_posterior_matches_hand_computation(tiny: NaiveBayesModel) -> None:
    assert tiny.posterior({}) == pytest.approx([0.5, 0.5])
    # P(A|x) = .5*.8 / (.5*.8 + .5*.2)
    assert tiny.probability_of("a", {"x": True}) == pytest.approx(0.4 / 0.5)
    # P(A|x, y) = .8*.5 / (.8*.5 + .2*.1)  (y is the leak 0.1 under B)
    assert tiny.probability_of("a", {"x": True, "y": True}) == pytest.approx(0.4 / 0.42)
    # absent x: P(A|not x) = .2 / (.2 + .8)
    assert tiny.probability_of("a", {"x": False}) == pytest.approx(0.2)
    # z has the same likelihood under both: it never moves the posterior
    assert tiny.posterior({"x": True, "z": False}) == pytest.approx(tiny.posterior({"x": True}))
    assert tiny.map_condition({"x": False}) == "b"
    with pytest.raises(KeyError, match="unknown finding 'w'"):
        tiny.posterior({"w": True})


def test_information_gain_matches_hand_computation(tiny: NaiveBayesModel) -> None:
    assert entropy_bits(np.array([0.5, 0.5])) == pytest.approx(1.0)
    realised = tiny.information_gain({}, {"x": True})
    assert realised == pytest.approx(1.0 - _h2(0.8))  # 0.2781 bits
    assert tiny.information_gain({}, {"z": True}) == pytest.approx(0.0)
    # a surprising answer can raise the entropy: after x the posterior is (.8, .2); y absent
    # pushes it to (.8*.5, .2*.9) / .58, closer to uniform
    assert tiny.information_gain({"x": True}, {"y": False}) == pytest.approx(
        _h2(0.8) - _h2(0.4 / 0.58)
    )
    assert tiny.information_gain({"x": True}, {"y": False}) < 0
    expected = tiny.expected_information_gain({})
    # x: P(x) = .5, both answers leave (.8, .2) or (.2, .8)
    assert expected[tiny.finding_index("x")] == pytest.approx(1.0 - _h2(0.8))
    # y: P(y) = .3; yes -> A = .25/.3, no -> A = .25/.7
    p_yes = 0.3
    want_y = 1.0 - (p_yes * _h2(0.25 / 0.3) + (1 - p_yes) * _h2(0.25 / 0.7))
    assert expected[tiny.finding_index("y")] == pytest.approx(want_y)
    assert expected[tiny.finding_index("z")] == pytest.approx(0.0, abs=1e-12)
    # an already observed finding has nothing left to give
    assert tiny.expected_information_gain({"x": True})[tiny.finding_index("x")] == 0.0


def test_exact_shapley_values_match_hand_computation_and_are_efficient(
    tiny: NaiveBayesModel,
) -> None:
    reveals = [{"x": True}, {"y": True}, {"z": False}, {}]
    values = shapley_values(tiny, "a", {}, reveals)
    v0, v1, v2, v12 = 0.5, 0.8, 0.25 / 0.3, 0.4 / 0.42
    assert values[0] == pytest.approx(0.5 * ((v1 - v0) + (v12 - v2)))  # 0.2095
    assert values[1] == pytest.approx(0.5 * ((v2 - v0) + (v12 - v1)))  # 0.2429
    assert values[2] == pytest.approx(0.0, abs=1e-12)  # uninformative question
    assert values[3] == 0.0  # a question that revealed nothing is a null player
    assert sum(values) == pytest.approx(v12 - v0)
    # attribution to the other condition is the mirror image (its posterior is 1 - P(A))
    assert shapley_values(tiny, "b", {}, reveals) == pytest.approx([-v for v in values])


def test_baseline_findings_are_not_attributed(tiny: NaiveBayesModel) -> None:
    values = shapley_values(tiny, "a", {"x": True}, [{"y": True}])
    assert values == pytest.approx([0.4 / 0.42 - 0.8])


def test_monte_carlo_shapley_is_efficient_and_close_to_exact(tiny: NaiveBayesModel) -> None:
    reveals = [{"x": True}, {"y": False}, {"z": True}, {"x": True}]
    exact = shapley_values(tiny, "a", {}, reveals)
    sampled = shapley_values(
        tiny,
        "a",
        {},
        reveals,
        exact_max_questions=0,
        num_permutations=3000,
        rng=np.random.default_rng(1),
    )
    v_all = tiny.probability_of("a", {"x": True, "y": False, "z": True})
    assert sum(sampled) == pytest.approx(v_all - 0.5)  # exact, by telescoping
    assert sum(exact) == pytest.approx(v_all - 0.5)
    assert sampled == pytest.approx(exact, abs=0.02)
    # two questions revealing the same finding are symmetric players
    assert exact[0] == pytest.approx(exact[3])


def test_bad_arguments_are_named(tiny: NaiveBayesModel) -> None:
    with pytest.raises(KeyError, match="unknown condition 'c'"):
        shapley_values(tiny, "c", {}, [{"x": True}])
    with pytest.raises(ValueError, match="num_permutations"):
        shapley_values(tiny, "a", {}, [{"x": True}], num_permutations=0)
    with pytest.raises(ValueError, match="leak"):
        NaiveBayesModel(tiny.table, leak=0.0)
