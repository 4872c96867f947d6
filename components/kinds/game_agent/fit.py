"""How the agents learn: PPO and DQN loops on the game's environments, judged every round.

A round is `eval_every` environment steps; after each, the greedy agent plays the validation
seeds and the round's row joins the history (what MLflow shows per epoch): the training
episodes' mean return and length, the losses, the policy's entropy (PPO) or the exploration
rate (DQN), and the validation return. The best round's weights are kept; training stops at
`stop_return` on validation, after `train.patience` rounds without a better one, or when the
step budget is spent. Training episodes start from the training seed range, one seed each, in
order: a seeded run is reproducible on the CPU.

With a Checkpointer, every round is saved (weights, optimiser, random state, history; DQN's
target network and replay buffer; each environment's episode in flight as its seed and the
actions taken since) and a saved round is continued from: an episode in flight is replayed
from its seed, so a resumed run reaches the same weights as an uninterrupted one.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from components.kinds.base import Split
from components.kinds.game_agent.data import Game
from components.kinds.game_agent.environment import make
from components.kinds.game_agent.inference import play
from components.runtime.checkpoint import Checkpointer
from components.runtime.device import seed_everything
from components.runtime.trainer import FitResult, snapshot

RECENT = 20  # a round's training return: the mean of the last RECENT finished episodes


class Episodes:
    """Training environments that restart from the next training seed when an episode ends."""

    def __init__(self, game: Game, n: int):
        self.envs = [make(game.spec) for _ in range(n)]
        self.next_seed = game.seeds.train.start
        self.end = game.seeds.train.start + game.seeds.train.count
        self.returns = np.zeros(n)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.finished: list[tuple[float, int]] = []  # (return, length) of ended episodes
        self.seeds = np.zeros(n, dtype=np.int64)  # the seed each episode in flight began from
        self.actions: list[list[int]] = [[] for _ in range(n)]  # and its actions so far
        self.observations = np.stack([self._reset(i) for i in range(n)])

    def _reset(self, i: int) -> np.ndarray:
        seed = self.next_seed
        self.next_seed = self.next_seed + 1 if self.next_seed + 1 < self.end else self.end - 1
        return self._begin(i, int(seed))

    def _begin(self, i: int, seed: int) -> np.ndarray:
        observation, _ = self.envs[i].reset(seed=seed)
        self.envs[i].action_space.seed(seed)
        self.seeds[i], self.actions[i] = seed, []
        return np.asarray(observation, dtype=np.float32)

    def state(self) -> dict:
        """What `restore` needs to continue every episode where it is (a checkpoint's part)."""
        return {
            "next_seed": int(self.next_seed),
            "finished": [list(f) for f in self.finished[-RECENT:]],
            "seeds": self.seeds.tolist(),
            "actions": [torch.tensor(a, dtype=torch.int64) for a in self.actions],
        }

    def restore(self, state: dict) -> None:
        """Replay each episode in flight from its seed: the environments are where they were.

        A gymnasium environment reset with a seed and given the same actions takes the same
        steps, so this holds for any game, not only those whose internal state can be read.
        """
        self.finished = [(float(r), int(n)) for r, n in state["finished"]]
        for i, (seed, actions) in enumerate(zip(state["seeds"], state["actions"], strict=True)):
            self.observations[i] = self._begin(i, int(seed))
            self.returns[i], self.lengths[i] = 0.0, 0
            for action in actions.tolist():
                observation, reward, term, trunc, _ = self.envs[i].step(int(action))
                if term or trunc:
                    raise ValueError(f"checkpoint: the episode from seed {seed} ended in replay")
                self.returns[i] += reward
                self.lengths[i] += 1
                self.actions[i].append(int(action))
                self.observations[i] = observation
        self.next_seed = int(state["next_seed"])

    def step(self, actions: np.ndarray):
        """Step every environment; returns rewards, terminated, truncated and final observations.

        A finished environment is reset at once (its new first observation is in
        `observations`); `final[i]` is the observation it ended on, for bootstrapping a
        time-limit truncation.
        """
        n = len(self.envs)
        rewards, terminated, truncated = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
        final = self.observations.copy()
        for i, (env, action) in enumerate(zip(self.envs, actions, strict=True)):
            observation, reward, term, trunc, _ = env.step(int(action))
            rewards[i], terminated[i], truncated[i] = reward, term, trunc
            final[i] = observation
            self.returns[i] += reward
            self.lengths[i] += 1
            self.actions[i].append(int(action))
            if term or trunc:
                self.finished.append((float(self.returns[i]), int(self.lengths[i])))
                self.returns[i], self.lengths[i] = 0.0, 0
                observation = self._reset(i)
            self.observations[i] = observation
        return rewards, terminated, truncated, final

    def recent(self, k: int = RECENT) -> tuple[float, float]:
        """Mean return and length of the last `k` finished training episodes (NaN: none yet)."""
        if not self.finished:
            return math.nan, math.nan
        last = np.asarray(self.finished[-k:], dtype=np.float64)
        return float(last[:, 0].mean()), float(last[:, 1].mean())

    def close(self) -> None:
        for env in self.envs:
            env.close()


def validation_return(model, game: Game) -> float:
    """The greedy agent's mean return over the validation seeds."""
    return float(np.mean([play(model, game.spec, seed)[0] for seed in game.seeds.validation]))


def _round(result: FitResult, model, game: Game, row: dict, patience: int,
           stop_return: float | None) -> bool:  # fmt: skip
    """Judge the round on validation, keep the best weights; True when training should stop."""
    row["val_return"] = validation_return(model, game)
    row["val_loss"] = -row["val_return"]  # the selection score (lower is better)
    result.history.append(row)
    stop = result.keep_if_best(len(result.history), row["val_loss"], model, patience)
    return stop or (stop_return is not None and row["val_return"] >= stop_return)


def _resume(checkpoints, model, optimizer, generator, result, device) -> dict:
    """Restore the last saved round into the given objects; its loop state ({}: none saved)."""
    if checkpoints is None or not checkpoints.exists():
        return {}
    saved: dict = {}
    checkpoints.restore(model, [optimizer], [], generator, result, device, saved)
    return saved


def _finish(model, result: FitResult, episodes: Episodes) -> FitResult:
    episodes.close()
    model.load_state_dict(result.best_state)
    return result


def _elapsed(result: FitResult) -> float:
    """Seconds the rounds before a resume took (0 for a new run)."""
    return result.history[-1]["seconds"] if result.history else 0.0


def fit_ppo(model, game: Game, config, settings, device, stop_return,
            checkpoints: Checkpointer | None = None) -> FitResult:  # fmt: skip
    """PPO (clipped surrogate, GAE, value loss, entropy bonus; learning rate and clip decay)."""
    from torch.distributions import Categorical

    seed_everything(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)  # minibatch order
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate, eps=1e-5)
    episodes = Episodes(game, config.n_envs)
    n, steps = config.n_envs, config.n_steps
    per_update = n * steps
    updates = max(1, config.timesteps // per_update)
    rounds_every = max(1, config.eval_every // per_update)
    result = FitResult(best_state=snapshot(model))
    first = 0
    if saved := _resume(checkpoints, model, optimizer, generator, result, device):
        if saved["stop"]:
            return _finish(model, result, episodes)
        first = saved["update"]
        episodes.restore(saved["episodes"])
    losses: dict[str, list[float]] = {"policy_loss": [], "value_loss": [], "entropy": []}
    started = time.perf_counter() - _elapsed(result)
    for update in range(first, updates):
        progress = update / updates
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate * (1 - progress)
        clip = config.clip_range * (1 - progress)
        obs = torch.zeros(steps, n, episodes.observations.shape[1], device=device)
        actions = torch.zeros(steps, n, dtype=torch.long, device=device)
        log_probs, rewards, dones, values = (torch.zeros(steps, n, device=device) for _ in range(4))
        model.eval()
        for t in range(steps):
            obs[t] = torch.as_tensor(episodes.observations, device=device)
            with torch.no_grad():
                dist = Categorical(logits=model(obs[t]))
                action = dist.sample()
                values[t] = model.value(obs[t])
            log_probs[t], actions[t] = dist.log_prob(action), action
            reward, terminated, truncated, final = episodes.step(action.cpu().numpy())
            if truncated.any():  # a time limit is not a failure: bootstrap from where it stopped
                with torch.no_grad():
                    tail = model.value(torch.as_tensor(final[truncated], device=device)).cpu()
                reward[truncated] += config.gamma * tail.numpy() * ~terminated[truncated]
            rewards[t] = torch.as_tensor(reward, device=device, dtype=torch.float32)
            dones[t] = torch.as_tensor(terminated | truncated, device=device, dtype=torch.float32)
        with torch.no_grad():
            next_value = model.value(torch.as_tensor(episodes.observations, device=device))
        advantages = torch.zeros_like(rewards)
        gae = torch.zeros(n, device=device)
        for t in reversed(range(steps)):
            following = next_value if t == steps - 1 else values[t + 1]
            delta = rewards[t] + config.gamma * following * (1 - dones[t]) - values[t]
            gae = delta + config.gamma * config.gae_lambda * (1 - dones[t]) * gae
            advantages[t] = gae
        returns = advantages + values
        flat = [a.reshape(per_update, *a.shape[2:]) for a in (obs, actions, log_probs,
                                                              advantages, returns)]  # fmt: skip
        model.train()
        for _ in range(config.n_epochs):
            order = torch.randperm(per_update, generator=generator).to(device)
            for start in range(0, per_update, config.batch_size):
                rows = order[start : start + config.batch_size]
                b_obs, b_act, b_logp, b_adv, b_ret = (a[rows] for a in flat)
                b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8) if len(rows) > 1 else b_adv
                dist = Categorical(logits=model(b_obs))
                ratio = torch.exp(dist.log_prob(b_act) - b_logp)
                clipped = ratio.clamp(1 - clip, 1 + clip) * b_adv
                policy_loss = -torch.min(ratio * b_adv, clipped).mean()
                value_loss = nn.functional.mse_loss(model.value(b_obs), b_ret)
                entropy = dist.entropy().mean()
                loss = policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                for key, value in (("policy_loss", policy_loss), ("value_loss", value_loss),
                                   ("entropy", entropy)):  # fmt: skip
                    losses[key].append(value.item())
        if (update + 1) % rounds_every == 0 or update == updates - 1:
            mean_return, mean_length = episodes.recent()
            row = {"train_return": mean_return, "train_length": mean_length,
                   **{k: float(np.mean(v)) for k, v in losses.items() if v},
                   "steps": float((update + 1) * per_update),
                   "seconds": time.perf_counter() - started}  # fmt: skip
            losses = {k: [] for k in losses}
            stop = _round(result, model, game, row, settings.patience, stop_return)
            if checkpoints is not None:
                checkpoints.save(len(result.history), model, [optimizer], [], generator, result,
                                 {"update": update + 1, "stop": stop,
                                  "episodes": episodes.state()})  # fmt: skip
            if stop:
                break
    return _finish(model, result, episodes)


def fit_dqn(model, game: Game, config, settings, device, stop_return,
            checkpoints: Checkpointer | None = None) -> FitResult:  # fmt: skip
    """DQN: ε-greedy play into a replay buffer, a target network, Huber loss on TD targets."""
    import copy

    seed_everything(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model.to(device)
    target = copy.deepcopy(model).eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    episodes = Episodes(game, 1)
    size = episodes.observations.shape[1]
    capacity = min(config.buffer_size, config.timesteps)
    buffer = {"obs": np.zeros((capacity, size), np.float32),
              "act": np.zeros(capacity, np.int64), "rew": np.zeros(capacity, np.float32),
              "next": np.zeros((capacity, size), np.float32),
              "done": np.zeros(capacity, np.float32)}  # fmt: skip
    n_actions = model(torch.zeros(1, size, device=device)).shape[1]
    result = FitResult(best_state=snapshot(model))
    first = 0
    if saved := _resume(checkpoints, model, optimizer, torch.Generator(), result, device):
        if saved["stop"]:
            return _finish(model, result, episodes)
        first = saved["step"]
        target.load_state_dict(saved["target"])
        for name, filled in saved["buffer"].items():
            buffer[name][: len(filled)] = filled.cpu().numpy()
        rng.bit_generator.state = saved["rng"]
        episodes.restore(saved["episodes"])
    losses: list[float] = []
    started = time.perf_counter() - _elapsed(result)
    explore_steps = config.exploration_fraction * config.timesteps
    epsilon = 1.0
    for step in range(first, config.timesteps):
        epsilon = max(
            config.exploration_final, 1 - (1 - config.exploration_final) * step / explore_steps
        )
        observation = episodes.observations[0].copy()
        if rng.random() < epsilon:
            action = int(rng.integers(n_actions))
        else:
            with torch.no_grad():
                action = int(model(torch.as_tensor(observation[None], device=device)).argmax())
        reward, terminated, _, final = episodes.step(np.array([action]))
        slot = step % capacity
        buffer["obs"][slot], buffer["act"][slot], buffer["rew"][slot] = (
            observation,
            action,
            reward[0],
        )
        buffer["next"][slot] = final[0]
        buffer["done"][slot] = float(terminated[0])  # a time limit is not an end: bootstrap
        if step % config.target_update == 0:
            target.load_state_dict(model.state_dict())
        if step >= config.learning_starts and (step + 1) % config.train_freq == 0:
            model.train()
            filled = min(step + 1, capacity)
            for _ in range(config.gradient_steps):
                rows = rng.integers(0, filled, config.batch_size)
                o, a, r, o2, d = (torch.as_tensor(buffer[b][rows], device=device)
                                  for b in ("obs", "act", "rew", "next", "done"))  # fmt: skip
                with torch.no_grad():
                    goal = r + config.gamma * (1 - d) * target(o2).max(dim=1).values
                q = model(o).gather(1, a[:, None]).squeeze(1)
                loss = nn.functional.smooth_l1_loss(q, goal)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                losses.append(loss.item())
        if (step + 1) % config.eval_every == 0 or step == config.timesteps - 1:
            mean_return, mean_length = episodes.recent()
            row = {"train_return": mean_return, "train_length": mean_length,
                   "td_loss": float(np.mean(losses)) if losses else math.nan,
                   "epsilon": epsilon, "steps": float(step + 1),
                   "seconds": time.perf_counter() - started}  # fmt: skip
            losses = []
            stop = _round(result, model, game, row, settings.patience, stop_return)
            if checkpoints is not None:
                filled = min(step + 1, capacity)
                checkpoints.save(len(result.history), model, [optimizer], [], torch.Generator(),
                                 result, {"step": step + 1, "stop": stop,
                                          "target": target.state_dict(),
                                          "buffer": {k: torch.from_numpy(v[:filled].copy())
                                                     for k, v in buffer.items()},
                                          "rng": rng.bit_generator.state,
                                          "episodes": episodes.state()})  # fmt: skip
            if stop:
                break
    return _finish(model, result, episodes)


ALGORITHMS = {"ppo": fit_ppo, "dqn": fit_dqn}


def fit(
    model, split: Split, settings, device, checkpoints: Checkpointer | None = None
) -> FitResult:
    """Train `model` by its algorithm (PPO or DQN) on the split's game, from a saved round."""
    from components.models import model_config_class

    config = model_config_class(settings.family).model_validate(settings.model)
    game = split.info["game"]
    stop = split.info.get("stop_return")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a step of a small MLP is slower split across threads
    try:
        return ALGORITHMS[model.algorithm](
            model, game, config, settings.train, device, stop, checkpoints
        )
    finally:
        torch.set_num_threads(threads)
