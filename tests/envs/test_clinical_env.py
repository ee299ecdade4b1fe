"""turngym/ClinicalDialogue-v0: conformance, diagnosis scoring, rewards, turn cap, doctors."""

from __future__ import annotations

import numpy as np
import pytest

import turngym
from turngym.core import Message, StopReason, Trajectory
from turngym.envs.clinical import (
    ClinicalDialogueEnv,
    PatientCase,
    default_table,
    parse_diagnosis,
    score_diagnosis,
)
from turngym.envs.clinical.env import REWARD_TERMS
from turngym.envs.clinical.rewards import diagnosis_reward, shapley_reward, turn_cost_reward
from turngym.trainer.rubric import RewardTerm, Rubric

ENV_ID = "turngym/ClinicalDialogue-v0"
FLU = PatientCase(
    id="hand-flu",
    condition="influenza",
    present=("fever", "body_aches", "cough", "fatigue", "chills", "test_flu_positive"),
    age=40,
    sex="male",
    chief_complaint="fever",
)


@pytest.fixture
def env() -> ClinicalDialogueEnv:
    return ClinicalDialogueEnv()


def _start(env: ClinicalDialogueEnv, case: PatientCase = FLU) -> tuple[Message, ...]:
    obs, _ = env.reset(seed=0, options={"task": case.to_task()})
    return obs


# ---- conformance --------------------------------------------------------------------------


def test_registered_and_check_env_passes() -> None:
    assert ENV_ID in turngym.registered_ids("turngym")
    assert "not medical advice" in turngym.describe(ENV_ID)
    turngym.check_env(turngym.make(ENV_ID))
    turngym.check_env(turngym.make(ENV_ID, max_questions=2, patient="rule"))
    # a deterministic fake chat model keeps the seeded determinism checks meaningful
    turngym.check_env(turngym.make(ENV_ID, patient="llm", responder=lambda messages: "Yes."))


def test_docstrings_and_prompt_say_it_is_a_simulation(env: ClinicalDialogueEnv) -> None:
    import turngym.envs.clinical.env as module

    for doc in (module.__doc__, ClinicalDialogueEnv.__doc__):
        assert doc is not None and "NOT MEDICAL ADVICE" in doc
    assert "Protocol" in module.__doc__ and "Reward" in module.__doc__
    assert "not medical advice" in env.system_prompt


def test_doctor_sees_only_demographics_and_chief_complaint(env: ClinicalDialogueEnv) -> None:
    obs = _start(env)
    assert [m.role for m in obs] == ["system", "user"]
    opening = obs[1].text
    assert opening.startswith("A 40-year-old man comes in.")
    assert "running a fever" in opening
    table = env.table
    for fid in FLU.present:
        if fid != FLU.chief_complaint:
            assert table.finding(fid).lay_present.removeprefix("Yes, ") not in opening
    assert "influenza" not in opening.lower()


# ---- diagnosis parsing and scoring ----------------------------------------------------------


def test_parse_diagnosis_formats() -> None:
    assert parse_diagnosis("I think it's flu.") is None
    assert parse_diagnosis("<diagnosis>Influenza</diagnosis>") == ["Influenza"]
    assert parse_diagnosis("<DIAGNOSIS>\n1. Flu\n2) Common cold\n- COVID-19\n</DIAGNOSIS>") == [
        "Flu",
        "Common cold",
        "COVID-19",
    ]
    assert parse_diagnosis("<diagnosis>flu; cold, covid</diagnosis>") == ["flu", "cold", "covid"]
    assert parse_diagnosis("<diagnosis>migraine") == ["migraine"]  # unclosed: the rest
    assert parse_diagnosis("<diagnosis></diagnosis>") == []


@pytest.mark.parametrize(
    ("items", "true", "score", "rank"),
    [
        (["Influenza"], "influenza", 1.0, 1),
        (["the flu"], "influenza", 1.0, 1),  # alias
        (["Strep throat"], "strep_pharyngitis", 1.0, 1),
        (["common cold", "influenza"], "influenza", 0.5, 2),  # partial credit
        (["cold", "pneumonia", "flu"], "influenza", 0.25, 3),
        (["dragon pox", "influenza"], "influenza", 0.5, 2),  # unknown items keep their rank
        (["stomach flu"], "influenza", 0.0, None),  # longest alias: gastroenteritis
        (["stomach flu"], "gastroenteritis", 1.0, 1),
        (
            ["cold", "covid", "sinusitis", "otitis media", "asthma", "influenza"],
            "influenza",
            0.0,
            None,
        ),  # past max_differential=5
        ([], "influenza", 0.0, None),
    ],
)
def test_score_diagnosis_hand_cases(
    items: list[str], true: str, score: float, rank: int | None
) -> None:
    result = score_diagnosis(items, true, default_table())
    assert result.score == pytest.approx(score)
    assert result.rank == rank


def test_score_diagnosis_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="decay"):
        score_diagnosis(["flu"], "influenza", default_table(), decay=2.0)
    with pytest.raises(ValueError, match="max_differential"):
        score_diagnosis(["flu"], "influenza", default_table(), max_differential=0)


# ---- episodes and rewards -------------------------------------------------------------------


def test_episode_rewards_are_weighted_terms_and_summary_is_complete(
    env: ClinicalDialogueEnv,
) -> None:
    _start(env)
    questions = ["Any body aches or cough?", "Do you have a rash?", "Let's do a flu test."]
    totals = dict.fromkeys(REWARD_TERMS, 0.0)
    for question in questions:
        obs, reward, terminated, truncated, info = env.step(question)
        assert not (terminated or truncated) and obs[0].role == "user"
        terms = info["reward_terms"]
        assert terms["turn_cost"] == -1.0 and terms["diagnosis"] == 0.0
        assert reward == pytest.approx(sum(env.reward_weights[k] * terms[k] for k in terms))
        totals = {k: totals[k] + terms[k] for k in totals}
    assert info["revealed"] == {"test_flu_positive": True}
    obs, reward, terminated, truncated, info = env.step(
        "<diagnosis>\n1. Common cold\n2. Influenza\n</diagnosis>"
    )
    assert terminated and not truncated and obs == ()
    assert info["stop_reason"] == StopReason.TERMINATED.value
    terms = info["reward_terms"]
    assert terms["diagnosis"] == 0.5 and not info["correct"]
    assert reward == pytest.approx(sum(env.reward_weights[k] * terms[k] for k in terms))
    totals = {k: totals[k] + terms[k] for k in totals}
    assert info["reward_totals"] == pytest.approx(totals)
    summary = info["consultation"]
    assert summary["true_condition"] == "influenza"
    assert summary["asked"] == ["body_aches", "cough", "skin_redness", "test_flu_positive"]
    assert summary["revealed_present"] == ["fever", "body_aches", "cough", "test_flu_positive"]
    assert summary["revealed_absent"] == ["skin_redness"]
    # key findings of influenza (p >= .5) the patient has but nobody asked about
    assert summary["missed_key_findings"] == ["chills", "fatigue"]
    assert summary["diagnosis_rank"] == 2
    gains = summary["question_information_gain"]
    assert len(gains) == 3 and gains[0] > 0 and gains[2] > 0
    assert sum(gains) == pytest.approx(totals["info_gain"])
    shapley = summary["shapley_values"]
    assert len(shapley) == 3 and shapley[2] > 0  # the positive flu test helped most
    assert shapley[2] == max(shapley)
    model = env.model
    v_all = model.probability_of(
        "influenza",
        {
            f: f in FLU.present
            for f in ["fever", "body_aches", "cough", "skin_redness", "test_flu_positive"]
        },
    )
    v_empty = model.probability_of("influenza", {"fever": True})
    assert sum(shapley) == pytest.approx(v_all - v_empty)
    assert terms["shapley"] == pytest.approx(v_all - v_empty)
    assert summary["posterior_true"] == pytest.approx(v_all)


def test_known_findings_carry_no_information_and_no_shapley_credit(
    env: ClinicalDialogueEnv,
) -> None:
    _start(env)
    infos = [env.step(q)[4] for q in ("Any fever?", "Any cough?", "Any cough?", "Hello!")]
    gains = [i["reward_terms"]["info_gain"] for i in infos]
    assert gains[0] == 0.0  # the chief complaint is already known
    assert gains[1] != 0.0 and gains[2] == 0.0 and gains[3] == 0.0
    assert infos[3]["not_understood"] == 1
    info = env.step("<diagnosis>influenza</diagnosis>")[4]
    values = info["consultation"]["shapley_values"]
    assert values[0] == 0.0 and values[2] == 0.0 and values[3] == 0.0
    assert values[1] == pytest.approx(info["reward_terms"]["shapley"])


def test_top1_diagnosis_by_alias_is_a_success(env: ClinicalDialogueEnv) -> None:
    _start(env)
    _, reward, terminated, _, info = env.step("It is probably <diagnosis>flu</diagnosis>")
    assert terminated and info["success"] and info["reward_terms"]["diagnosis"] == 1.0
    assert info["consultation"]["shapley_values"] == []  # no questions, nothing to attribute
    assert reward == pytest.approx(1.0)


def test_turn_cap_truncates_with_summary() -> None:
    env = ClinicalDialogueEnv(max_questions=2)
    _start(env)
    env.step("Any cough?")
    obs, _, terminated, truncated, _ = env.step("Any sore throat?")
    assert not (terminated or truncated) and "maximum" in obs[0].text
    obs, reward, terminated, truncated, info = env.step("And a headache?")
    assert truncated and not terminated and obs == ()
    assert info["stop_reason"] == StopReason.TURN_LIMIT.value
    assert reward == 0.0 and not info["success"]
    assert info["consultation"]["questions"] == 2
    assert info["consultation"]["diagnosis"] is None
    assert len(info["consultation"]["shapley_values"]) == 2
    with pytest.raises(turngym.envs.base.EpisodeOverError):
        env.step("<diagnosis>flu</diagnosis>")


def test_reward_weights_are_configurable_and_validated() -> None:
    env = ClinicalDialogueEnv(reward_weights={"info_gain": 0.0, "turn_cost": 0.5})
    assert env.reward_weights["diagnosis"] == 1.0  # default kept
    _start(env)
    _, reward, _, _, info = env.step("Any cough?")
    assert info["reward_terms"]["info_gain"] != 0.0  # logged even with weight 0
    assert reward == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="unknown terms.*bonus"):
        ClinicalDialogueEnv(reward_weights={"bonus": 1.0})
    with pytest.raises(ValueError, match="responder"):
        ClinicalDialogueEnv(patient="llm")
    with pytest.raises(ValueError, match="patient must be"):
        ClinicalDialogueEnv(patient="actor")
    with pytest.raises(ValueError, match="max_questions"):
        ClinicalDialogueEnv(max_questions=0)
    with pytest.raises(ValueError, match="lacks keys"):
        ClinicalDialogueEnv().reset(options={"task": {"id": "broken"}})


def test_rubric_logs_each_term_from_the_last_info(env: ClinicalDialogueEnv) -> None:
    _start(env)
    rewards, infos, messages = [], {}, []
    for action in ("Any cough?", "<diagnosis>influenza</diagnosis>"):
        _, reward, _, _, infos = env.step(action)
        rewards.append(reward)
        messages.append(Message("assistant", action))
    traj = Trajectory(
        (), tuple(messages), tuple(rewards), True, False, StopReason.TERMINATED, infos
    )
    rubric = Rubric(
        [
            RewardTerm("diagnosis", diagnosis_reward, 1.0),
            RewardTerm("shapley", shapley_reward, 0.0),
            RewardTerm("turn_cost", turn_cost_reward, 0.1),
        ],
        env_weight=0.0,
    )
    totals, metrics = rubric.score([traj])
    assert metrics["reward/diagnosis"] == 1.0 and metrics["reward/turn_cost"] == -1.0
    assert metrics["reward/shapley"] == pytest.approx(infos["reward_totals"]["shapley"])
    assert totals == [pytest.approx(1.0 - 0.1)]
    with pytest.raises(TypeError, match="infos"):
        diagnosis_reward(["x"])


def test_llm_patient_env_path_with_a_fake_responder() -> None:
    seen: list[list[dict[str, str]]] = []

    def fake(messages: list[dict[str, str]]) -> str:
        seen.append(messages)
        if "crash" in messages[-1]["content"]:
            raise TimeoutError("slow model")
        return "Yes, doctor."

    env = turngym.make(ENV_ID, patient="llm", responder=fake)
    env.reset(seed=0, options={"task": FLU.to_task()})
    obs, _, _, _, info = env.step("Any body aches?")
    assert obs[0].text == "Yes, doctor."
    assert info["revealed"] == {"body_aches": True}  # from the parser, not the model's words
    obs, _, terminated, _, info = env.step("crash please")
    assert not terminated and info["patient_errors"] == 1
    assert "could not answer" in obs[0].text
    _, _, terminated, _, info = env.step("<diagnosis>influenza</diagnosis>")
    assert terminated and info["success"]
    assert seen[0][0]["role"] == "system" and "40-year-old male" in seen[0][0]["content"]


# ---- scripted doctors -----------------------------------------------------------------------


def _strong_doctor(env: ClinicalDialogueEnv, budget: int, stop: float = 0.9) -> dict:
    """Asks the finding with the largest expected information gain, then names the MAP."""
    known = {env.case.chief_complaint: True}
    for _ in range(budget):
        if env.model.posterior(known).max() >= stop:
            break
        best = env.model.finding_ids[int(np.argmax(env.model.expected_information_gain(known)))]
        _, _, _, _, info = env.step(env.table.finding(best).canonical_question)
        known.update(info["revealed"])
    name = env.table.condition(env.model.map_condition(known)).name
    return env.step(f"<diagnosis>{name}</diagnosis>")[4]


def _random_doctor(env: ClinicalDialogueEnv, budget: int, rng: np.random.Generator) -> dict:
    """Asks random findings, then names a random condition."""
    for j in rng.choice(len(env.table.findings), size=budget, replace=False):
        env.step(env.table.findings[j].canonical_question)
    guess = env.table.conditions[int(rng.integers(len(env.table.conditions)))].name
    return env.step(f"<diagnosis>{guess}</diagnosis>")[4]


def _random_questions_map_doctor(
    env: ClinicalDialogueEnv, budget: int, rng: np.random.Generator
) -> dict:
    """Asks random findings, then names the MAP condition (isolates question choice)."""
    known = {env.case.chief_complaint: True}
    for j in rng.choice(len(env.table.findings), size=budget, replace=False):
        known.update(env.step(env.table.findings[j].canonical_question)[4]["revealed"])
    name = env.table.condition(env.model.map_condition(known)).name
    return env.step(f"<diagnosis>{name}</diagnosis>")[4]


def test_strong_doctor_beats_random_doctors_by_a_clear_margin() -> None:
    env = ClinicalDialogueEnv(shapley_permutations=50)
    rng = np.random.default_rng(0)
    budget = 8
    scores: dict[str, list[float]] = {"strong": [], "random": [], "random_q_map": []}
    returns: dict[str, list[float]] = {"strong": [], "random_q_map": []}
    for index in range(30):
        for name in scores:
            env.reset(seed=index, options={"task_index": index, "split": "test"})
            if name == "strong":
                info = _strong_doctor(env, budget)
            elif name == "random":
                info = _random_doctor(env, budget, rng)
            else:
                info = _random_questions_map_doctor(env, budget, rng)
            scores[name].append(info["reward_totals"]["diagnosis"])
            if name in returns:
                totals = info["reward_totals"]
                returns[name].append(sum(env.reward_weights[k] * totals[k] for k in totals))
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    assert mean["strong"] >= 0.8, mean
    assert mean["strong"] >= mean["random"] + 0.5, mean
    # the same MAP diagnosis after random questions: asking well is what makes the difference
    assert mean["strong"] >= mean["random_q_map"] + 0.2, mean
    assert np.mean(returns["strong"]) > np.mean(returns["random_q_map"]) + 0.2


def test_llm_patient_played_by_a_real_openai_compatible_server(llama_server):
    env = turngym.make(
        "turngym/ClinicalDialogue-v0",
        patient="llm",
        patient_llm={
            "base_url": llama_server.base_url,
            "model": llama_server.model,
            "max_tokens": 24,
            "extra_body": {"repeat_penalty": 1.0},
        },
    )
    obs, info = env.reset(seed=0, options={"task_index": 0})
    obs, reward, terminated, truncated, info = env.step("Do you have a fever?")
    assert not terminated and not truncated
    assert obs and obs[-1].text.strip()  # the served model answered as the patient
    assert info.get("patient_errors", 0) == 0
    env.close()


def test_bad_patient_llm_settings_are_named():
    with pytest.raises(ValueError, match="patient_llm"):
        turngym.make("turngym/ClinicalDialogue-v0", patient="llm", patient_llm={"nope": 1})
