"""Wall time to solve CartPole-v1: dlops' PPO and DQN against stable-baselines3's, same seeds.

Both libraries use rl-zoo's CartPole hyperparameters, one torch thread, the CPU. Every ~5,000
environment steps (PPO; 2,560 for DQN) the greedy agent plays the same 10 validation seeds;
the clock (training and those plays, for both) stops when their mean return reaches 475, or
at the step budget. stable-baselines3 is the benchmark's own dependency: `make bench`
installs it without its dependencies (torch is installed apart from the lock).

.venv/bin/python benchmarks/agents_vs_sb3.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import torch

from components.kinds.game_agent import data
from components.kinds.game_agent.fit import fit_dqn, fit_ppo
from components.kinds.game_agent.inference import play
from components.models import build_model, model_config_class
from components.settings import TrainSettings

SOLVED = 475.0


def ours(algorithm: str, seed: int, game, lr: float) -> tuple[float, int]:
    config = model_config_class(algorithm).model_validate(
        {"eval_every": 5_120 if algorithm == "ppo" else 2_560, "timesteps": 100_000}
    )
    model = build_model(algorithm, config.model_dump(), {"observation_size": 4, "n_actions": 2})
    train = TrainSettings(learning_rate=lr, seed=seed, patience=1_000, progress=False)
    loop = fit_ppo if algorithm == "ppo" else fit_dqn
    start = time.perf_counter()
    result = loop(model, game, config, train, torch.device("cpu"), SOLVED)
    seconds = time.perf_counter() - start
    last = result.history[-1]
    return (seconds if last["val_return"] >= SOLVED else float("nan")), int(last["steps"])


def theirs(algorithm: str, seed: int, game) -> tuple[float, int]:
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    def linear(value: float):
        return lambda remaining: remaining * value

    if algorithm == "ppo":
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
        agent = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                    n_epochs=20, ent_coef=0.0, learning_rate=linear(0.001),
                    clip_range=linear(0.2), seed=seed, device="cpu")  # fmt: skip
        chunk = 5_120
    else:
        env = make_vec_env("CartPole-v1", n_envs=1, seed=seed)
        agent = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                    learning_starts=1_000, gamma=0.99, target_update_interval=10,
                    train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                    exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]},
                    seed=seed, device="cpu")  # fmt: skip
        chunk = 2_560
    budget = 100_000 if algorithm == "ppo" else 50_000

    def greedy(env_, observation):
        return int(agent.predict(np.asarray(observation), deterministic=True)[0])

    class Exam(BaseCallback):
        """Plays the validation seeds every `chunk` steps; stops the learning once solved."""

        def __init__(self) -> None:
            super().__init__()
            self.next_exam, self.solved_at = chunk, None

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_exam:
                return True
            self.next_exam += chunk
            scores = [play(None, game.spec, s, policy=greedy)[0] for s in game.seeds.validation]
            if np.mean(scores) >= SOLVED:
                self.solved_at = self.num_timesteps
                return False
            return True

    exam = Exam()
    start = time.perf_counter()
    # one learn() over the whole budget: the learning-rate and clip schedules run over it, as in
    # rl-zoo (chunked learn() calls would restart them on each chunk)
    agent.learn(total_timesteps=budget, callback=exam)
    seconds = time.perf_counter() - start
    if exam.solved_at is None:
        return float("nan"), budget
    return seconds, exam.solved_at


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with TemporaryDirectory() as folder:
        data.write_builtin(Path(folder))
        game = data.read(Path(folder))
    print("| agent | seed | dlops (s) | dlops steps | stable-baselines3 (s) | SB3 steps | ratio |")
    print("|---|---|---|---|---|---|---|")
    for algorithm, lr in (("ppo", 0.001), ("dqn", 0.0023)):
        ratios = []
        for seed in range(args.seeds):
            mine, my_steps = ours(algorithm, seed, game, lr)
            other, other_steps = theirs(algorithm, seed, game)
            ratio = mine / other
            ratios.append(ratio)
            print(f"| {algorithm} | {seed} | {mine:.1f} | {my_steps} | {other:.1f} | "
                  f"{other_steps} | {ratio:.2f} |", flush=True)  # fmt: skip
        finite = [r for r in ratios if np.isfinite(r)]
        median = statistics.median(finite) if finite else float("nan")
        print(f"| {algorithm} | median | | | | | {median:.2f} |", flush=True)


if __name__ == "__main__":
    main()
