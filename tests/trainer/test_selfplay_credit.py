"""Reward routing, role-conditioned baselines (RAE), Elo and the opponent pool, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from turngym.core.trajectory import StopReason, Trajectory
from turngym.trainer.rae import EloRatings, RoleBaselines, expected_score, route_rewards
from turngym.trainer.selfplay import OpponentPool, Snapshot, game_score

# ---- reward routing ---------------------------------------------------------------------------


def test_reward_routing_by_hand():
    returns = {"a": 1.0, "b": -1.2}  # b also paid two retry penalties
    assert route_rewards(returns, "individual") == {"a": 1.0, "b": -1.2}
    zs = route_rewards(returns, "zero_sum")
    assert zs["a"] == pytest.approx(1.1) and zs["b"] == pytest.approx(-1.1)
    assert sum(zs.values()) == pytest.approx(0.0)
    assert route_rewards({"a": 2.0, "b": 0.0}, "shared") == {"a": 1.0, "b": 1.0}


def test_reward_routing_rejects_bad_input():
    with pytest.raises(ValueError, match="must be one of"):
        route_rewards({"a": 1.0}, "team")
    with pytest.raises(ValueError, match="at least one player"):
        route_rewards({}, "zero_sum")


# ---- RAE --------------------------------------------------------------------------------------


def test_rae_by_hand():
    rae = RoleBaselines(decay=0.5)
    x, o = RoleBaselines.key("TicTacToe-v0", "x"), RoleBaselines.key("TicTacToe-v0", "o")
    # First batch: baselines start at 0, so advantages are the returns.
    assert rae.advantages([x, o, x], [1.0, -1.0, 0.0]) == [1.0, -1.0, 0.0]
    # Then the EMA folds the returns in order: x: 0 -> 0.5 -> 0.25; o: 0 -> -0.5.
    assert rae.baseline(x) == pytest.approx(0.25)
    assert rae.baseline(o) == pytest.approx(-0.5)
    # Second batch: subtract the baselines from before it.
    assert rae.advantages([x, o], [1.0, -1.0]) == pytest.approx([0.75, -0.5])
    assert rae.baseline(x) == pytest.approx(0.625)  # 0.5 * 0.25 + 0.5 * 1
    assert rae.counts == {x: 3, o: 2}


def test_rae_removes_a_seat_bias_that_a_shared_baseline_keeps():
    # X wins 70% of games, O 30% (zero-sum). After many games, each role's baseline tracks its
    # own mean, so the average advantage of either role is ~0 (no seat bias is learned).
    rng = np.random.default_rng(0)
    rae = RoleBaselines(decay=0.9)
    advantages: dict[str, list[float]] = {"g/x": [], "g/o": []}
    for _ in range(400):
        r = 1.0 if rng.random() < 0.7 else -1.0
        ax, ao = rae.advantages(["g/x", "g/o"], [r, -r])
        advantages["g/x"].append(ax)
        advantages["g/o"].append(ao)
    assert rae.baseline("g/x") == pytest.approx(0.4, abs=0.25)
    assert rae.baseline("g/o") == pytest.approx(-0.4, abs=0.25)
    assert abs(np.mean(advantages["g/x"][100:])) < 0.15
    assert abs(np.mean(advantages["g/o"][100:])) < 0.15


def test_rae_state_round_trip_and_errors():
    rae = RoleBaselines(decay=0.8)
    rae.advantages(["k"], [1.0])
    other = RoleBaselines(decay=0.8)
    other.load_state_dict(rae.state_dict())
    assert other.baseline("k") == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        RoleBaselines(decay=1.0)
    with pytest.raises(ValueError, match="2 keys but 1 returns"):
        rae.advantages(["a", "b"], [1.0])
    with pytest.raises(ValueError, match="finite"):
        rae.advantages(["a"], [math.nan])


# ---- Elo --------------------------------------------------------------------------------------


def test_elo_by_hand():
    assert expected_score(1000, 1000) == 0.5
    # 400 points apart: 10:1 odds.
    assert expected_score(1400, 1000) == pytest.approx(10 / 11)
    elo = EloRatings(k=32, initial=1000)
    up = elo.update("learner", "snap", 1.0)
    assert up.player_rating == pytest.approx(1016.0)
    assert up.opponent_rating == pytest.approx(984.0)
    # Now learner 1016 vs snap 984: E = 1 / (1 + 10^(-32/400)); a draw moves it by 32 (0.5 - E).
    e = 1 / (1 + 10 ** (-32 / 400))
    elo.update("learner", "snap", 0.5)
    assert elo.rating("learner") == pytest.approx(1016 + 32 * (0.5 - e))
    assert elo.rating("snap") == pytest.approx(984 - 32 * (0.5 - e))
    assert elo.games == {"learner": 2, "snap": 2}


def test_elo_anchors_stay_fixed_and_errors():
    elo = EloRatings(k=20, initial=1200, anchors={"random": 1000.0})
    elo.update("learner", "random", 0.0)  # a loss to a weaker anchor costs much
    assert elo.rating("random") == 1000.0
    e = 1 / (1 + 10 ** ((1000 - 1200) / 400))
    assert elo.rating("learner") == pytest.approx(1200 - 20 * e)
    with pytest.raises(ValueError, match="against itself"):
        elo.update("learner", "learner", 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        elo.update("learner", "random", 2.0)
    with pytest.raises(ValueError, match="k must be"):
        EloRatings(k=0)


# ---- opponent pool ------------------------------------------------------------------------------


def _snap(step: int) -> Snapshot:
    return Snapshot(f"learner@{step}", step, {"w": torch.tensor([float(step)])})


def test_pool_keeps_the_newest_and_samples_by_recency():
    pool = OpponentPool(max_size=3, sampling="recency", recency_decay=0.5)
    evicted = [pool.add(_snap(s)) for s in (10, 20, 30, 40)]
    assert [e.name if e else None for e in evicted] == [None, None, None, "learner@10"]
    assert [s.step for s in pool.snapshots] == [20, 30, 40]
    # weights 0.25, 0.5, 1 (oldest first) -> probabilities 1/7, 2/7, 4/7
    assert pool.probabilities() == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    rng = np.random.default_rng(0)
    draws = [pool.sample(rng).step for _ in range(7000)]
    freq = [draws.count(s) / len(draws) for s in (20, 30, 40)]
    assert freq == pytest.approx([1 / 7, 2 / 7, 4 / 7], abs=0.02)


def test_pool_latest_uniform_and_rating_sampling():
    elo = EloRatings(initial=1000)
    pool = OpponentPool(max_size=5, sampling="latest")
    for s in (1, 2, 3):
        pool.add(_snap(s))
    assert pool.probabilities() == [0.0, 0.0, 1.0]
    pool.sampling = "uniform"
    assert pool.probabilities() == pytest.approx([1 / 3] * 3)
    pool.sampling, pool.rating_scale = "rating", 100.0
    elo.add("learner", 1200.0)
    for name, rating in (("learner@1", 1000.0), ("learner@2", 1100.0), ("learner@3", 1200.0)):
        elo.add(name, rating)
    # gaps 200, 100, 0 -> weights e^-2, e^-1, 1: the closest in rating is the likeliest
    w = [math.exp(-2), math.exp(-1), 1.0]
    assert pool.probabilities(elo) == pytest.approx([x / sum(w) for x in w])


def test_pool_errors():
    with pytest.raises(LookupError, match="empty"):
        OpponentPool().sample(np.random.default_rng(0))
    with pytest.raises(ValueError, match="sampling must be one of"):
        OpponentPool(sampling="best")
    pool = OpponentPool(sampling="rating")
    pool.add(_snap(1))
    with pytest.raises(ValueError, match="needs the Elo ratings"):
        pool.probabilities()
    with pytest.raises(ValueError, match="already holds"):
        pool.add(_snap(1))


# ---- scoring for Elo --------------------------------------------------------------------------


def _result(returns, outcome, stop=StopReason.TERMINATED):
    from turngym.agents.multiagent import GameResult

    trajectory = Trajectory((), (), (), True, False, stop)
    return GameResult(
        trajectories=dict.fromkeys(returns, trajectory),
        roles={"player_0": "x", "player_1": "o"},
        policies={"player_0": "learner", "player_1": "random"},
        returns=returns,
        outcome=outcome,
        stop_reason=stop,
    )


def test_game_score():
    win = _result({"player_0": 1.0, "player_1": -1.0}, {"winner": "player_0"})
    assert game_score(win, "player_0") == 1.0 and game_score(win, "player_1") == 0.0
    # a draw with a retry penalty is still a draw
    draw = _result({"player_0": -0.1, "player_1": 0.0}, {"winner": None})
    assert game_score(draw, "player_0") == 0.5
    forfeit = _result({"player_0": -1.2, "player_1": 1.0}, {"forfeited_by": "player_0"})
    assert game_score(forfeit, "player_0") == 0.0 and game_score(forfeit, "player_1") == 1.0
    # no winner key (e.g. Kuhn poker): compare returns
    chips = _result({"player_0": -2.0, "player_1": 2.0}, {})
    assert game_score(chips, "player_0") == 0.0
