"""The env registry: ``register()`` and ``make()`` on top of Gymnasium's.

Ids follow Gymnasium's ``namespace/Name-vN`` form; built-in envs live in the ``turngym``
namespace. Every single-agent env registered here is also reachable through ``gymnasium.make``
once ``turngym`` is imported.

Multi-agent envs (PettingZoo ``AECEnv`` or ``ParallelEnv``) are registered with
``multi_agent="aec"`` or ``"parallel"``. Their spec lives in Gymnasium's registry too (so ids,
descriptions and close-match errors work the same), but ``make`` builds them directly, without
Gymnasium's single-agent wrappers and checker; ``gymnasium.make`` does not support them.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec, WrapperSpec

_ID_RE = re.compile(r"^(?:[\w:.-]+/)?[\w:.-]+?(?:-v\d+)?$")
_TURN_LIMIT_ENTRY = "turngym.core.wrappers:TurnLimit"

_descriptions: dict[str, str] = {}
_turngym_ids: list[str] = []
_multi_agent_apis: dict[str, str] = {}
"""Id -> ``"aec"`` or ``"parallel"`` for multi-agent entries (absent: single-agent)."""
MULTI_AGENT_APIS: tuple[str, ...] = ("aec", "parallel")
ENV_KINDS: tuple[str, ...] = ("single", "multi", *MULTI_AGENT_APIS)


class UnknownEnvError(KeyError):
    """No env is registered under the requested id."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


class EnvEntryPointError(ImportError):
    """A registered entry point cannot be imported or does not build an env."""


def register(
    id: str,
    entry_point: str | Callable[..., gym.Env],
    *,
    max_turns: int | None = None,
    description: str | None = None,
    nondeterministic: bool = False,
    multi_agent: str | None = None,
    kwargs: dict[str, Any] | None = None,
    **env_kwargs: Any,
) -> None:
    """Register an env under a versioned id.

    Args:
        id: ``namespace/Name-vN``, e.g. ``"mypkg/Echo-v0"``.
        entry_point: ``"module.path:ClassName"`` (imported lazily, on ``make``) or a callable
            returning a ``gymnasium.Env``.
        max_turns: Turn cap added by ``make`` (a ``TurnLimit`` wrapper); None for no cap.
        description: One line shown by ``turngym envs``; defaults to the first line of the
            entry point's docstring.
        nondeterministic: Whether seeded resets may still differ (skips determinism checks).
        multi_agent: ``"aec"`` or ``"parallel"`` for a PettingZoo env (``make`` then returns
            it unwrapped; ``max_turns`` is not allowed: such games take their own caps as
            constructor arguments); None for a ``gymnasium.Env``.
        kwargs: Default constructor arguments (merged with ``env_kwargs``).
        **env_kwargs: More default constructor arguments.

    Raises:
        ValueError: The id or entry point is malformed, or ``max_turns`` is not positive.
    """
    if not isinstance(id, str) or not _ID_RE.match(id):
        raise ValueError(
            f"Env id {id!r} is malformed: use 'namespace/Name-vN', e.g. 'mypkg/Echo-v0'."
        )
    if isinstance(entry_point, str):
        if ":" not in entry_point or entry_point.startswith(":") or entry_point.endswith(":"):
            raise ValueError(
                f"Entry point {entry_point!r} for {id!r} is malformed: use 'package.module:ClassName'."
            )
    elif not callable(entry_point):
        raise ValueError(f"Entry point for {id!r} must be a 'module:Class' string or a callable.")
    if max_turns is not None and (
        not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns <= 0
    ):
        raise ValueError(f"max_turns for {id!r} must be a positive int or None, got {max_turns!r}")
    if multi_agent is not None and multi_agent not in MULTI_AGENT_APIS:
        raise ValueError(
            f"multi_agent for {id!r} must be one of {MULTI_AGENT_APIS} or None, got {multi_agent!r}"
        )
    if multi_agent is not None and max_turns is not None:
        raise ValueError(
            f"max_turns is not supported for the multi-agent env {id!r}: pass the game's own "
            "turn cap as a constructor argument instead"
        )
    wrappers: tuple[WrapperSpec, ...] = ()
    if max_turns is not None:
        wrappers = (WrapperSpec("TurnLimit", _TURN_LIMIT_ENTRY, {"max_turns": max_turns}),)
    all_kwargs = {**(kwargs or {}), **env_kwargs}
    gym.register(
        id=id,
        entry_point=entry_point,
        nondeterministic=nondeterministic,
        additional_wrappers=wrappers,
        kwargs=all_kwargs,
    )
    _descriptions.pop(id, None)
    _multi_agent_apis.pop(id, None)
    if multi_agent is not None:
        _multi_agent_apis[id] = multi_agent
    if description is not None:
        _descriptions[id] = description
    if id not in _turngym_ids:
        _turngym_ids.append(id)


def registered_ids(namespace: str | None = None, *, kind: str | None = None) -> list[str]:
    """Ids registered through turngym, sorted.

    Args:
        namespace: Keep only ids in this namespace (e.g. ``"turngym"``).
        kind: Keep only ``"single"`` (gymnasium) envs, ``"multi"`` (PettingZoo) envs, or
            only ``"aec"`` / ``"parallel"`` ones; None for all.

    Raises:
        ValueError: Unknown ``kind``.
    """
    if kind is not None and kind not in ENV_KINDS:
        raise ValueError(f"kind must be one of {ENV_KINDS} or None, got {kind!r}")
    ids = [i for i in _turngym_ids if i in gym.registry]
    if namespace is not None:
        ids = [i for i in ids if i.startswith(namespace + "/")]
    if kind == "single":
        ids = [i for i in ids if i not in _multi_agent_apis]
    elif kind == "multi":
        ids = [i for i in ids if i in _multi_agent_apis]
    elif kind is not None:
        ids = [i for i in ids if _multi_agent_apis.get(i) == kind]
    return sorted(ids)


def multi_agent_api(id: str) -> str | None:
    """``"aec"`` or ``"parallel"`` for a multi-agent id, None for a single-agent one."""
    spec(id)  # unknown ids fail with the helpful message
    return _multi_agent_apis.get(id)


def spec(id: str) -> EnvSpec:
    """The Gymnasium spec of a registered id, with a helpful error if it is unknown."""
    if id in gym.registry:
        return gym.registry[id]
    known = sorted(gym.registry.keys())
    close = difflib.get_close_matches(id, known, n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    turngym_known = registered_ids()
    raise UnknownEnvError(
        f"No env registered as {id!r}.{hint} Run `turngym envs` to list turngym envs "
        f"({len(turngym_known)} registered); register your own with turngym.register()."
    )


def describe(id: str) -> str:
    """A one-line description of a registered env."""
    if id in _descriptions:
        return _descriptions[id]
    entry = spec(id).entry_point
    try:
        creator = _load(id, entry) if isinstance(entry, str) else entry
    except EnvEntryPointError as exc:
        return f"(cannot import: {exc})"
    doc = (getattr(creator, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _load(id: str, entry_point: str) -> Callable[..., gym.Env]:
    module_name, _, attr = entry_point.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EnvEntryPointError(
            f"Env {id!r}: cannot import module {module_name!r} from entry point "
            f"{entry_point!r} ({exc}). Check the module path and that its package is installed."
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise EnvEntryPointError(
            f"Env {id!r}: module {module_name!r} has no attribute {attr!r} (entry point "
            f"{entry_point!r}). Check the class name."
        ) from exc


def make(id: str, *, max_turns: int | None = None, **kwargs: Any) -> Any:
    """Build a registered env with its safety wrappers.

    The env is wrapped (innermost first) in Gymnasium's passive checker and order enforcing
    (``step`` before ``reset`` raises), then in ``TurnLimit`` when the id has a turn cap.
    A multi-agent id gives the PettingZoo env itself (``AECEnv`` or ``ParallelEnv``), unwrapped.

    Args:
        id: A registered id, e.g. ``"turngym/CodeInterpreter-v0"``.
        max_turns: Overrides the registered turn cap.
        **kwargs: Constructor arguments, overriding the registered ones.

    Raises:
        UnknownEnvError: The id is not registered (the message lists close matches).
        EnvEntryPointError: The entry point cannot be imported.
    """
    env_spec = spec(id)
    if isinstance(env_spec.entry_point, str):
        _load(id, env_spec.entry_point)  # fail with our message, not a bare ImportError
    if id in _multi_agent_apis:
        return _make_multi_agent(id, env_spec, max_turns, kwargs)
    if max_turns is not None:
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns <= 0:
            raise ValueError(f"max_turns must be a positive int, got {max_turns!r}")
        others = tuple(
            w for w in env_spec.additional_wrappers if w.entry_point != _TURN_LIMIT_ENTRY
        )
        env_spec = dataclasses.replace(
            env_spec,
            additional_wrappers=(
                *others,
                WrapperSpec("TurnLimit", _TURN_LIMIT_ENTRY, {"max_turns": max_turns}),
            ),
        )
    env = gym.make(env_spec, **kwargs)
    if not isinstance(env.unwrapped, gym.Env):
        raise EnvEntryPointError(f"Env {id!r}: entry point did not build a gymnasium.Env")
    return env


def _make_multi_agent(
    id: str, env_spec: EnvSpec, max_turns: int | None, kwargs: dict[str, Any]
) -> Any:
    # Gymnasium's wrappers and checker assume one agent, so the creator is called directly.
    if max_turns is not None:
        raise ValueError(
            f"max_turns is not supported for the multi-agent env {id!r}: pass the game's own "
            "turn cap as a keyword argument instead"
        )
    entry = env_spec.entry_point
    creator = _load(id, entry) if isinstance(entry, str) else entry
    env = creator(**{**(env_spec.kwargs or {}), **kwargs})
    try:
        from pettingzoo import AECEnv, ParallelEnv
    except ImportError as exc:
        raise EnvEntryPointError(
            f"Env {id!r} is multi-agent and needs pettingzoo: pip install pettingzoo"
        ) from exc
    expected = AECEnv if _multi_agent_apis[id] == "aec" else ParallelEnv
    if not isinstance(env, expected):
        raise EnvEntryPointError(
            f"Env {id!r}: entry point did not build a pettingzoo.{expected.__name__} "
            f"(registered with multi_agent={_multi_agent_apis[id]!r}), got {type(env).__name__}"
        )
    return env
