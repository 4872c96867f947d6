"""A policy-gradient agent (PPO): separate policy and value networks over the observation.

The algorithm's settings travel with the network's (`PPOConfig`): the card rebuilds the agent,
and training reads them (components/kinds/game_agent/fit.py).
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family


class PPOConfig(BaseModel):
    """Network sizes and PPO's settings (stable-baselines3's rl-zoo values for CartPole)."""

    model_config = ConfigDict(extra="forbid")

    hidden_sizes: list[int] = Field([64, 64], min_length=1)
    timesteps: int = Field(100_000, ge=256, description="environment steps at most")
    n_envs: int = Field(8, ge=1, le=64)
    n_steps: int = Field(32, ge=4, description="steps per environment per update")
    batch_size: int = Field(256, ge=8)
    n_epochs: int = Field(20, ge=1, description="passes over each rollout")
    gamma: float = Field(0.98, gt=0, le=1)
    gae_lambda: float = Field(0.8, ge=0, le=1)
    clip_range: float = Field(0.2, gt=0, lt=1, description="decays linearly to 0")
    entropy_coef: float = Field(0.0, ge=0)
    value_coef: float = Field(0.5, ge=0)
    max_grad_norm: float = Field(0.5, gt=0)
    stop_return: float | None = Field(
        None, description="training stops once the validation seeds' mean return reaches it"
    )
    eval_every: int = Field(5_000, ge=256, description="steps between validation plays")


def mlp(sizes: list[int], activation=nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(a, b), activation()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """Policy logits and a state value, each from its own MLP."""

    algorithm = "ppo"

    def __init__(self, config: PPOConfig, observation_size: int, n_actions: int):
        super().__init__()
        self.policy = mlp([observation_size, *config.hidden_sizes, n_actions])
        self.critic = mlp([observation_size, *config.hidden_sizes, 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Action logits (N, n_actions): the greedy action is their argmax."""
        return self.policy(x)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)


@register_family("ppo", PPOConfig, kind="game_agent")
def build(config: PPOConfig, observation_size: int, n_actions: int) -> ActorCritic:
    return ActorCritic(config, observation_size, n_actions)
