"""A value-based agent (DQN): a Q-network over the observation, one value per action.

The algorithm's settings travel with the network's (`DQNConfig`); training is in
components/kinds/game_agent/fit.py.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.ppo import mlp
from components.models.registry import register_family


class DQNConfig(BaseModel):
    """Network sizes and DQN's settings (stable-baselines3's rl-zoo values for CartPole)."""

    model_config = ConfigDict(extra="forbid")

    hidden_sizes: list[int] = Field([256, 256], min_length=1)
    timesteps: int = Field(50_000, ge=256, description="environment steps at most")
    buffer_size: int = Field(100_000, ge=100)
    learning_starts: int = Field(1_000, ge=0)
    batch_size: int = Field(64, ge=8)
    gamma: float = Field(0.99, gt=0, le=1)
    train_freq: int = Field(256, ge=1, description="environment steps between updates")
    gradient_steps: int = Field(128, ge=1, description="gradient steps per update")
    target_update: int = Field(10, ge=1, description="updates between target-network copies")
    exploration_fraction: float = Field(0.16, gt=0, le=1)
    exploration_final: float = Field(0.04, ge=0, le=1)
    max_grad_norm: float = Field(10.0, gt=0)
    stop_return: float | None = Field(
        None, description="training stops once the validation seeds' mean return reaches it"
    )
    eval_every: int = Field(2_560, ge=256, description="steps between validation plays")


class QNetwork(nn.Module):
    """Q-values (N, n_actions): the greedy action is their argmax."""

    algorithm = "dqn"

    def __init__(self, config: DQNConfig, observation_size: int, n_actions: int):
        super().__init__()
        self.q = mlp([observation_size, *config.hidden_sizes, n_actions], activation=nn.ReLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.q(x)


@register_family("dqn", DQNConfig, kind="game_agent")
def build(config: DQNConfig, observation_size: int, n_actions: int) -> QNetwork:
    return QNetwork(config, observation_size, n_actions)
