"""The clinical condition table, vocabulary and case generator (research simulation only)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from turngym.envs.clinical import (
    CaseGenerator,
    Condition,
    ConditionTable,
    NaiveBayesModel,
    PatientCase,
    default_table,
    match_findings,
)
from turngym.envs.clinical.table import FINDING_KINDS, Finding


@pytest.fixture(scope="module")
def table() -> ConditionTable:
    return default_table()


def test_table_has_30_conditions_with_symptoms_history_and_exam_or_tests(
    table: ConditionTable,
) -> None:
    assert len(table.conditions) >= 30
    kinds_of = {f.id: f.kind for f in table.findings}
    for cond in table.conditions:
        kinds = {kinds_of[f] for f in cond.findings}
        assert "symptom" in kinds, cond.id
        assert kinds & {"history", "risk_factor"}, f"{cond.id} has no history or risk factor"
        assert kinds & {"exam", "test"}, f"{cond.id} has no exam or test finding"
        assert all(0 < p < 1 for p in cond.findings.values()), cond.id
        # the generator needs an opening complaint that is typical of the condition
        openers = [
            f
            for f, p in cond.findings.items()
            if kinds_of[f] == "symptom" and not table.finding(f).modifier and p >= 0.5
        ]
        assert openers, f"{cond.id} has no typical non-modifier symptom"
        assert cond.aliases and cond.prevalence > 0
        assert cond.age_range[0] <= cond.age_range[1]


def test_every_finding_of_every_condition_is_in_the_vocabulary_with_lay_words(
    table: ConditionTable,
) -> None:
    vocab = {f.id: f for f in table.findings}
    for cond in table.conditions:
        for fid in cond.findings:
            assert fid in vocab, f"{cond.id} uses {fid!r}, which the vocabulary lacks"
    for f in table.findings:
        assert f.kind in FINDING_KINDS
        assert f.lay_present and f.lay_absent and f.lay_present != f.lay_absent
        assert f.synonyms and all(f.synonyms)


def test_every_finding_is_reachable_by_its_canonical_question(table: ConditionTable) -> None:
    for f in table.findings:
        asked = match_findings(f.canonical_question, table)
        assert f.id in asked, (f.id, f.canonical_question, asked)
        # panels (abdominal exam, blood count, urine dipstick, ...) may reveal a few findings
        # at once, but a canonical question must never sweep up the whole vocabulary
        assert len(asked) <= 4, (f.id, asked)


def test_condition_names_and_aliases_are_unambiguous(table: ConditionTable) -> None:
    from turngym.envs.clinical import match_condition

    for cond in table.conditions:
        for alias in (cond.name, *cond.aliases):
            assert match_condition(alias, table) == cond.id, (cond.id, alias)


def test_table_validation_names_the_problem() -> None:
    fever = Finding("fever", "symptom", "fever", "Yes.", "No.", (("fever",),))
    cond = Condition("x", "X", ("x",), 1.0, (1, 2), 0.5, MappingProxyType({"cough": 0.5}))
    with pytest.raises(ValueError, match="cough.*not in the vocabulary"):
        ConditionTable((fever,), (cond,))
    bad_p = Condition("x", "X", ("x",), 1.0, (1, 2), 0.5, MappingProxyType({"fever": 1.0}))
    with pytest.raises(ValueError, match="outside"):
        ConditionTable((fever,), (bad_p,))
    odd = Finding("fever", "vibe", "fever", "Yes.", "No.", (("fever",),))
    with pytest.raises(ValueError, match="kind"):
        ConditionTable((odd,), ())


# ---- case generator -----------------------------------------------------------------------


def test_generator_is_deterministic_and_seed_and_split_matter(table: ConditionTable) -> None:
    model = NaiveBayesModel(table)
    a = CaseGenerator(model, seed=7)
    b = CaseGenerator(model, seed=7)
    c = CaseGenerator(model, seed=8)
    assert a.num_cases("train") + a.num_cases("test") == 600
    assert a.num_cases("test") == 120
    first = [a.case(i) for i in range(40)]
    assert first == [b.case(i) for i in range(40)]
    assert first != [c.case(i) for i in range(40)]
    assert first != [a.case(i, "test") for i in range(40)]
    # the same case again after others were drawn (no hidden generator state)
    assert a.case(3) == first[3]


def test_generated_cases_are_consistent_with_the_table(table: ConditionTable) -> None:
    model = NaiveBayesModel(table)
    gen = CaseGenerator(model, seed=0)
    cases = [gen.case(i) for i in range(gen.num_cases("train"))]
    conditions = {c.condition for c in cases}
    assert len(conditions) >= 25  # several hundred cases cover most of the table
    for case in cases:
        cond = table.condition(case.condition)
        chief = table.finding(case.chief_complaint)
        assert case.chief_complaint in case.present
        assert chief.kind == "symptom" and not chief.modifier
        assert cond.age_range[0] <= case.age <= cond.age_range[1]
        assert case.sex in ("female", "male")
        if case.sex == "male":
            assert "heavy_periods" not in case.present
        assert PatientCase.from_task(case.to_task(), table) == case
    # findings are sampled from the table: a typical finding shows up in most of its cases
    flu = [c for c in cases if c.condition == "influenza"]
    assert len(flu) >= 20
    share = sum("fever" in c.present for c in flu) / len(flu)
    assert 0.7 <= share <= 1.0


def test_generator_rejects_bad_arguments(table: ConditionTable) -> None:
    model = NaiveBayesModel(table)
    with pytest.raises(ValueError, match="test_fraction"):
        CaseGenerator(model, test_fraction=1.5)
    with pytest.raises(ValueError, match="num_cases"):
        CaseGenerator(model, num_cases=1)
    with pytest.raises(ValueError, match="out of range"):
        CaseGenerator(model, num_cases=10).case(10)
    with pytest.raises(ValueError, match="lacks keys"):
        PatientCase.from_task({"id": "t", "condition": "influenza"}, table)
    with pytest.raises(ValueError, match="unknown condition"):
        PatientCase.from_task(
            {
                "condition": "dragon_pox",
                "present": ["fever"],
                "age": 3,
                "sex": "male",
                "chief_complaint": "fever",
            },
            table,
        )
