"""Seeded generation of simulated patient cases from the condition table.

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE: cases are samples from a hand-written toy
model, not records of real patients.

A case draws its true condition from the table's prior, then every finding of the vocabulary
independently with ``P(f | c)`` (the table's value, or the model's leak probability for
findings the condition does not list): exactly the naive-Bayes model the rewards use. The
chief complaint is one present symptom, picked with probability proportional to how typical it
is of the condition, so the doctor usually starts from a characteristic complaint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turngym.envs.base import seeded_rng
from turngym.envs.clinical.bayes import NaiveBayesModel
from turngym.envs.clinical.table import ConditionTable

__all__ = ["CaseGenerator", "PatientCase"]

_MAX_DRAWS = 100


@dataclass(frozen=True)
class PatientCase:
    """One simulated patient."""

    id: str
    """Stable id, e.g. ``"clinical-train-00042"``."""
    condition: str
    """Id of the true condition."""
    present: tuple[str, ...]
    """Ids of the findings this patient has (in vocabulary order); all others are absent."""
    age: int
    """Age in years."""
    sex: str
    """``"female"`` or ``"male"``."""
    chief_complaint: str
    """Id of the present symptom the patient comes in with (the only one the doctor sees)."""

    def to_task(self) -> dict[str, Any]:
        """The case as a task dict for ``env.reset(options={"task": ...})``."""
        return {
            "id": self.id,
            "condition": self.condition,
            "present": list(self.present),
            "age": self.age,
            "sex": self.sex,
            "chief_complaint": self.chief_complaint,
        }

    @classmethod
    def from_task(cls, task: dict[str, Any], table: ConditionTable) -> PatientCase:
        """Validate a task dict and build the case.

        Raises:
            ValueError: A key is missing or names an unknown condition or finding.
        """
        required = ("condition", "present", "age", "sex", "chief_complaint")
        missing = [k for k in required if k not in task]
        if missing:
            raise ValueError(
                f"clinical task {task.get('id', '?')!r} lacks keys {missing}; a task needs "
                f"{list(required)} (see PatientCase.to_task)"
            )
        known = {f.id for f in table.findings}
        try:
            table.condition(str(task["condition"]))
        except KeyError as exc:
            raise ValueError(
                f"clinical task: {exc.args[0]}; use a condition id of the table"
            ) from None
        present = tuple(str(f) for f in task["present"])
        unknown = sorted(set(present) - known)
        if unknown:
            raise ValueError(f"clinical task: unknown findings {unknown} in 'present'")
        if task["chief_complaint"] not in present:
            raise ValueError("clinical task: 'chief_complaint' must be one of the present findings")
        if task["sex"] not in ("female", "male"):
            raise ValueError(f"clinical task: sex must be 'female' or 'male', got {task['sex']!r}")
        return cls(
            id=str(task.get("id", "custom")),
            condition=str(task["condition"]),
            present=present,
            age=int(task["age"]),
            sex=str(task["sex"]),
            chief_complaint=str(task["chief_complaint"]),
        )


class CaseGenerator:
    """Deterministic patient cases: the same (seed, split, index) always gives the same case.

    Train and test cases come from separate random streams (the split name is part of the
    seed), so the two splits are independent samples of the same model.

    Args:
        model: The naive-Bayes model (table + leak) to sample from.
        seed: Seed of the generator.
        num_cases: Total number of cases over both splits.
        test_fraction: Share of ``num_cases`` in the test split.
    """

    def __init__(
        self,
        model: NaiveBayesModel,
        *,
        seed: int = 0,
        num_cases: int = 600,
        test_fraction: float = 0.2,
    ):
        if num_cases < 2:
            raise ValueError(f"num_cases must be >= 2 (one per split), got {num_cases!r}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        self.model = model
        self.seed = int(seed)
        num_test = min(num_cases - 1, max(1, round(num_cases * test_fraction)))
        self._sizes = {"train": num_cases - num_test, "test": num_test}

    def num_cases(self, split: str = "train") -> int:
        """Cases in a split."""
        if split not in self._sizes:
            raise ValueError(f"split must be one of {tuple(self._sizes)}, got {split!r}")
        return self._sizes[split]

    def case(self, index: int, split: str = "train") -> PatientCase:
        """The case at ``index`` of ``split``."""
        total = self.num_cases(split)
        if not 0 <= index < total:
            raise ValueError(f"case index {index} out of range for split {split!r} ({total} cases)")
        rng = seeded_rng("clinical", self.seed, split, index)
        table = self.model.table
        ci = int(rng.choice(len(self.model.prior_C), p=self.model.prior_C))
        condition = table.conditions[ci]
        lo, hi = condition.age_range
        age = int(rng.integers(lo, hi + 1))
        sex = "female" if rng.random() < condition.female_fraction else "male"
        symptom_cols = [
            j for j, f in enumerate(table.findings) if f.kind == "symptom" and not f.modifier
        ]
        likelihood_F = self.model.likelihood_CF[ci].copy()
        if sex == "male" and "heavy_periods" in self.model.finding_ids:
            # the one sex-specific finding; the posterior ignores sex (a documented mismatch)
            likelihood_F[self.model.finding_index("heavy_periods")] = 0.0
        for _ in range(_MAX_DRAWS):
            present_F = rng.random(len(likelihood_F)) < likelihood_F
            complaints = [j for j in symptom_cols if present_F[j]]
            if complaints:
                break
        else:  # pragma: no cover - every condition has a symptom with p >= 0.5
            raise RuntimeError(f"could not draw a symptom for {condition.id!r}")
        weights = likelihood_F[complaints]
        chief = complaints[int(rng.choice(len(complaints), p=weights / weights.sum()))]
        return PatientCase(
            id=f"clinical-{split}-{index:05d}",
            condition=condition.id,
            present=tuple(table.findings[j].id for j in range(len(likelihood_F)) if present_F[j]),
            age=age,
            sex=sex,
            chief_complaint=table.findings[chief].id,
        )
