"""The agent's plots: the learning curve, and one test episode as an animated GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.runtime.plots import pyplot, save


def plot_learning_curve(history: list[dict], best_round: int, threshold: float | None,
                        path: Path) -> Path:  # fmt: skip
    """Training episodes' and validation seeds' mean return per round, against steps."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [row["steps"] for row in history]
    ax.plot(steps, [row["train_return"] for row in history], label="training episodes (last 20)")
    ax.plot(steps, [row["val_return"] for row in history], marker="o", label="validation seeds")
    if threshold is not None:
        ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"reward threshold {threshold:g}")
    if 1 <= best_round <= len(history):
        ax.axvline(steps[best_round - 1], color="green", ls=":", lw=1, label="kept (best round)")
    ax.set(xlabel="environment steps", ylabel="mean return", title="learning curve")
    ax.legend(loc="lower right", fontsize=8)
    return save(fig, path)


def plot_episode(frames: list[np.ndarray], path: Path, every: int = 3, width: int = 300) -> Path:
    """Every `every`-th rendered frame of an episode as a looping GIF, `width` pixels wide."""
    from PIL import Image

    images = []
    for frame in frames[::every] or [np.zeros((10, 10, 3), np.uint8)]:
        image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
        height = max(1, round(image.height * width / image.width))
        images.append(image.resize((width, height)))
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=60, loop=0)
    return path
