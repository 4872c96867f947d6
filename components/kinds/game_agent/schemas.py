"""The agent services' requests: observations to act on; a seed to play an episode from."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from components.runtime.service_spec import Answer, ServiceSpec

# Strict, finite numbers: no "1.5" strings, no booleans, no NaN or Infinity.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
MAX_OBSERVATIONS = 4_096
MAX_SEED = 2**31 - 1


class ActRequest(BaseModel):
    """Observations (each as long as the observation space) → one action each."""

    model_config = ConfigDict(extra="forbid")

    observations: Annotated[
        list[Annotated[list[Number], Field(min_length=1, max_length=1_000)]],
        Field(min_length=1, max_length=MAX_OBSERVATIONS),
    ]
    deterministic: bool = Field(True, description="greedy; False samples the policy (PPO)")
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = None


class EpisodeRequest(BaseModel):
    """Play one episode of the agent's game from `seed`, server-side."""

    model_config = ConfigDict(extra="forbid")

    seed: Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)]


SERVICE = ServiceSpec(max_batch=MAX_OBSERVATIONS, batchable=False, timeout_s=60)


class Acted(Answer):
    """`POST /act`: an action per observation, in order."""

    actions: list[int]
    deterministic: bool


class Played(Answer):
    """`POST /episode`: one greedy episode's return and length."""

    seed: int
    return_: float = Field(alias="return")
    length: int
    environment: dict
