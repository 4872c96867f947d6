"""The speech model's plot: log-mel spectrograms with the CTC alignment written under them."""

from __future__ import annotations

from pathlib import Path

from components.kinds.speech_recognition import inference
from components.kinds.speech_recognition.data import read_audio
from components.runtime.plots import pyplot, save


def plot_alignments(model, card, files: list, references: list, path: Path) -> Path:
    """Each utterance's features, and where the model's best path emits each character."""
    plt = pyplot()
    fig, axes = plt.subplots(len(files), 1, figsize=(10, 2.6 * len(files)), squeeze=False)
    for ax, file, reference in zip(axes[:, 0], files, references, strict=True):
        wave = read_audio(Path(file), card.sample_rate)
        features = inference.log_mel(wave, card)
        [frames] = inference.frame_log_probs(model, card, [wave])
        ax.imshow(features.T.numpy(), origin="lower", aspect="auto", cmap="magma")
        best = frames.argmax(axis=1)
        step = features.shape[0] / max(1, len(best))  # input frames per output step
        for t, symbol in enumerate(best):
            if symbol != inference.BLANK and (t == 0 or symbol != best[t - 1]):
                ax.text(t * step, -3, card.alphabet[symbol - 1].replace(" ", "␣"),
                        ha="center", va="top", fontsize=8)  # fmt: skip
        heard = inference.text_of(inference.greedy(frames), card)
        ax.set_title(f"reference: {reference}  |  model: {heard}", fontsize=9)
        ax.set_ylabel("mel band")
        ax.set_ylim(-6, features.shape[1])
    axes[-1, 0].set_xlabel("10 ms frames")
    return save(fig, path)
