"""Shared fixtures: the default model's tokenizer and tiny random models built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

# llama_server / llama_cpp_server: a real OpenAI-compatible server on the default model's GGUF.
pytest_plugins = ["tests.llama_server"]


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    """The converted default model folder (converted once into the user cache)."""
    from turngym.agents.models import resolve_model

    return resolve_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def tokenizer(default_model_path: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(default_model_path)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory, default_model_path: Path) -> Path:
    """A tiny random Llama model with the default tokenizer and chat template."""
    from turngym.agents.tiny import make_tiny_model

    return make_tiny_model(
        tmp_path_factory.mktemp("tiny") / "model", tokenizer_from=str(default_model_path)
    )


_REQUIRED_SKIPS = ("bubblewrap is not installed", "no pids cgroup here")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """With TURNGYM_REQUIRE_BWRAP=1 (scripts/test.sh sets it), a bwrap test must not skip."""
    import os

    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("TURNGYM_REQUIRE_BWRAP") == "1":
        reason = (
            str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        )
        if any(text in reason for text in _REQUIRED_SKIPS):
            report.outcome = "failed"
            report.longrepr = f"TURNGYM_REQUIRE_BWRAP=1 but the test skipped: {reason}"
