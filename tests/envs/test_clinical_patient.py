"""Simulated patients: rule-based answers and the LLM patient through a fake responder."""

from __future__ import annotations

import pytest

from turngym.envs.clinical import (
    ConditionTable,
    LLMPatient,
    PatientCase,
    RuleBasedPatient,
    default_table,
    match_findings,
)


@pytest.fixture(scope="module")
def table() -> ConditionTable:
    return default_table()


@pytest.fixture
def uti_case() -> PatientCase:
    return PatientCase(
        id="hand-uti",
        condition="uti",
        present=("dysuria", "urinary_frequency", "test_urine_nitrite"),
        age=34,
        sex="female",
        chief_complaint="dysuria",
    )


@pytest.fixture
def patient(table: ConditionTable, uti_case: PatientCase) -> RuleBasedPatient:
    p = RuleBasedPatient(table)
    p.reset(uti_case)
    return p


def test_present_symptom_is_confirmed_in_lay_words(
    patient: RuleBasedPatient, table: ConditionTable
) -> None:
    reply = patient.answer("Does it burn when you pee?")
    assert reply.revealed == {"dysuria": True}
    assert reply.text == table.finding("dysuria").lay_present
    assert "dysuria" not in reply.text.lower()  # lay words, not the medical term


def test_absent_symptom_gets_a_no(patient: RuleBasedPatient, table: ConditionTable) -> None:
    reply = patient.answer("Have you had a fever?")
    assert reply.revealed == {"fever": False}
    assert reply.text == table.finding("fever").lay_absent
    assert reply.text.startswith("No")


def test_unasked_findings_are_not_volunteered(
    patient: RuleBasedPatient, table: ConditionTable
) -> None:
    reply = patient.answer("Any fever?")
    for fid in ("urinary_frequency", "test_urine_nitrite"):
        assert table.finding(fid).lay_present not in reply.text
        assert fid not in reply.revealed


def test_several_questions_in_one_turn_each_get_an_answer(
    patient: RuleBasedPatient, table: ConditionTable
) -> None:
    reply = patient.answer("Do you have a fever, and do you need to pee more often than usual?")
    assert reply.revealed == {"fever": False, "urinary_frequency": True}
    assert table.finding("fever").lay_absent in reply.text
    assert table.finding("urinary_frequency").lay_present in reply.text
    both = patient.answer("Any cough or sore throat?")
    assert both.revealed == {"cough": False, "sore_throat": False}


def test_exam_and_test_requests_report_results(
    patient: RuleBasedPatient, table: ConditionTable
) -> None:
    reply = patient.answer("Let's do a urine dipstick test.")
    assert reply.revealed == {"test_urine_nitrite": True, "test_urine_blood": False}
    assert table.finding("test_urine_nitrite").lay_present in reply.text
    assert patient.answer("Can we get a CT of the head?").revealed == {
        "test_brain_imaging_stroke": False
    }


def test_unintelligible_question_is_not_understood(patient: RuleBasedPatient) -> None:
    for question in ("What is the capital of France?", "", "???"):
        reply = patient.answer(question)
        assert not reply.understood and reply.revealed == {}
        assert "don't understand" in reply.text


def test_demographic_questions(patient: RuleBasedPatient) -> None:
    reply = patient.answer("How old are you?")
    assert reply.text == "I'm 34." and reply.revealed == {} and reply.understood
    assert "burns" in patient.answer("What brings you in today?").text
    # onset comes from the condition (UTI: days; not part of the posterior, reveals nothing)
    onset = patient.answer("How long has this been going on?")
    assert onset.text == "It started a few days ago." and onset.revealed == {}


def test_history_questions_cover_several_findings(patient: RuleBasedPatient) -> None:
    meds = patient.answer("Are you taking any medication?")
    assert meds.revealed == {"nsaid_use": False, "hormone_use": False}
    history = patient.answer("Do you have any medical conditions?")
    assert set(history.revealed) == {
        "hypertension_history",
        "diabetes_history",
        "high_cholesterol",
        "heart_disease_history",
        "lung_disease_history",
    }
    assert not any(history.revealed.values())


def test_more_specific_phrase_wins(table: ConditionTable) -> None:
    assert match_findings("Do you cough up blood?", table) == ["sputum", "hemoptysis"]
    assert match_findings("Do you have headaches?", table) == ["headache"]
    assert match_findings("Does your chest hurt, and does it spread to your jaw?", table) == [
        "chest_pain",
        "pain_radiating_arm_jaw",
    ]
    # "ear" must not match inside "earlier"
    assert "ear_pain" not in match_findings("Did this start earlier today?", table)


def test_patient_needs_a_case(table: ConditionTable) -> None:
    with pytest.raises(RuntimeError, match="reset"):
        RuleBasedPatient(table).answer("Any fever?")


# ---- LLM patient through a fake responder -------------------------------------------------


class FakeResponder:
    """Deterministic stand-in for a chat model: records the messages, echoes the question."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, str]]] = []

    def __call__(self, messages: list[dict[str, str]]) -> str:
        self.calls.append(messages)
        return f"(patient) about '{messages[-1]['content']}'"


def test_llm_patient_gets_the_case_record_and_the_history(
    table: ConditionTable, uti_case: PatientCase
) -> None:
    fake = FakeResponder()
    llm = LLMPatient(table, fake)
    llm.reset(uti_case)
    first = llm.answer("Does it burn when you pee?")
    second = llm.answer("Any fever?")
    assert first.text == "(patient) about 'Does it burn when you pee?'"
    assert first.revealed == {"dysuria": True} and second.revealed == {"fever": False}
    system = fake.calls[0][0]
    assert system["role"] == "system"
    assert "34-year-old female" in system["content"]
    assert "it burns when I pee" in system["content"]  # present finding, lay words
    assert "nitrites" in system["content"]  # test result to report when asked
    assert "RESEARCH SIMULATION" in system["content"]
    # the diagnosis is not in the record, so the model cannot leak it
    assert "cystitis" not in system["content"].lower() and "uti" not in system["content"]
    roles = [m["role"] for m in fake.calls[1]]
    assert roles == ["system", "user", "assistant", "user"]
    assert fake.calls[1][2]["content"] == first.text


def test_llm_patient_failures_are_data_and_bad_types_are_named(
    table: ConditionTable, uti_case: PatientCase
) -> None:
    def broken(messages: list[dict[str, str]]) -> str:
        raise ConnectionError("server down")

    llm = LLMPatient(table, broken)
    llm.reset(uti_case)
    reply = llm.answer("Any fever?")
    assert reply.error == "ConnectionError: server down"
    assert reply.revealed == {} and len(llm.history) == 1  # the failed turn is not kept

    bad = LLMPatient(table, lambda messages: 42)  # type: ignore[arg-type, return-value]
    bad.reset(uti_case)
    with pytest.raises(TypeError, match="must return str"):
        bad.answer("Any fever?")
    with pytest.raises(TypeError, match="responder must be a callable"):
        LLMPatient(table, "not a function")  # type: ignore[arg-type]
