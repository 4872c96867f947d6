"""An environment spec: which gymnasium game, with which wrappers, and how it is made.

The spec is a data file (`environment.json` in the versioned folder): the same spec and the same
evaluation seeds are the same task and the same exam, so a changed reward wrapper is a new data
version. Torch-free: validation, training and the service share it.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

SPEC_FILE = "environment.json"


class RewardShaping(BaseModel):
    """reward → scale × reward + shift (gymnasium's TransformReward)."""

    model_config = ConfigDict(extra="forbid")

    scale: float = 1.0
    shift: float = 0.0


class EnvironmentSpec(BaseModel):
    """A gymnasium environment as the agents train and are judged on it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="a registered gymnasium id, e.g. CartPole-v1")
    kwargs: dict[str, float | int | str | bool] = Field(
        default_factory=dict, description="keyword arguments of gymnasium.make"
    )
    max_episode_steps: int | None = Field(None, ge=1, description="None: the id's own limit")
    reward: RewardShaping = RewardShaping()


def make(spec: EnvironmentSpec, render: bool = False):
    """The gymnasium environment of `spec` (rgb_array rendering when `render`)."""
    import gymnasium as gym

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # rendering needs no display
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    options = {"render_mode": "rgb_array"} if render else {}
    if spec.max_episode_steps is not None:
        options["max_episode_steps"] = spec.max_episode_steps
    env = gym.make(spec.id, **spec.kwargs, **options)
    if spec.reward.scale != 1.0 or spec.reward.shift != 0.0:
        scale, shift = spec.reward.scale, spec.reward.shift
        env = gym.wrappers.TransformReward(env, lambda r: scale * r + shift)
    return env


def reward_threshold(spec: EnvironmentSpec) -> float | None:
    """The id's own "solved" return (CartPole-v1: 475), for unshaped rewards only."""
    import gymnasium as gym

    if spec.reward.scale != 1.0 or spec.reward.shift != 0.0:
        return None
    return gym.spec(spec.id).reward_threshold
