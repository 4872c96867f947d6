"""Behavioural tests of the speech model: shapes and padding, CTC decoding, features that ignore
the recording level, learning a toy "language" of tones, and refused uploads."""

import numpy as np
import pytest
import torch

from components.kinds.speech_recognition import inference
from components.kinds.speech_recognition.fit import ctc_loss
from components.models import build_model
from components.runtime.trainer import evaluate_loss, fit
from components.settings import TrainSettings

CPU = torch.device("cpu")
RATE = 16_000
TONES = {"a": 500.0, "b": 1500.0}  # each symbol a tone; symbols apart by silence
CONFIG = {"n_mels": 20, "channels": 8, "hidden_size": 32, "num_layers": 1, "dropout": 0.0}


def card(alphabet: str = "ab ", **fields) -> inference.SpeechCard:
    return inference.SpeechCard(
        family="speech",
        kind=inference.KIND,
        model=CONFIG,
        dims={"n_symbols": len(alphabet) + 1},
        alphabet=alphabet,
        n_mels=20,
        max_seconds=4.0,
        **fields,
    )


def tones(text: str, rng: np.random.Generator) -> np.ndarray:
    """`text` over "ab" as tones of 0.12-0.2 s with 0.05-0.1 s of silence around each."""
    parts = [np.zeros(int(rng.uniform(0.05, 0.1) * RATE))]
    for symbol in text:
        t = np.arange(int(rng.uniform(0.12, 0.2) * RATE)) / RATE
        parts += [0.5 * np.sin(2 * np.pi * TONES[symbol] * t),
                  np.zeros(int(rng.uniform(0.05, 0.1) * RATE))]  # fmt: skip
    wave = np.concatenate(parts)
    return (wave + 0.01 * rng.standard_normal(len(wave))).astype(np.float32)


def toy(n: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    rng = np.random.default_rng(seed)
    texts = ["".join(rng.choice(list("ab"), int(rng.integers(1, 5)))) for _ in range(n)]
    return [tones(t, rng) for t in texts], texts


def tensors(waves, texts, c: inference.SpeechCard):
    x = inference.batch([inference.log_mel(w, c) for w in waves])
    y = torch.zeros(len(texts), 8, dtype=torch.long)
    for i, text in enumerate(texts):
        y[i, : len(text)] = torch.tensor([c.alphabet.index(s) + 1 for s in text])
    return x, y


def test_output_steps_and_padding_are_harmless():
    c = card()
    net = build_model("speech", CONFIG, c.dims).eval()
    waves, _ = toy(3, 0)
    alone = inference.frame_log_probs(net, c, waves[:1])[0]
    together = inference.frame_log_probs(net, c, waves)[0]  # padded to the longest
    assert alone.shape == together.shape
    assert np.allclose(alone, together, atol=1e-4)
    frames = inference.log_mel(waves[0], c).shape[0]
    assert alone.shape == (int(net.output_lengths(torch.tensor(frames))), len(c.alphabet) + 1)


def test_padding_steps_are_certain_blanks():
    c = card()
    net = build_model("speech", CONFIG, c.dims).eval()
    waves, _ = toy(2, 1)
    x = inference.batch([inference.log_mel(w, c) for w in (waves[0], np.tile(waves[1], 4))])
    out = net(x)[0]  # the short one, padded to the long one
    real = int(net.output_lengths(x[0, :, -1].sum().long()))
    assert torch.allclose(out[inference.BLANK, real:].exp(), torch.ones(out.shape[1] - real))


def test_greedy_merges_repeats_and_the_beam_finds_the_likelier_labelling():
    log = np.log
    # frames: blank 0.6 / a 0.4 twice. Best path: blank, blank ("", p = 0.36); but "a" has
    # p = 0.4·0.6 + 0.6·0.4 + 0.4·0.4 = 0.64: a search over labellings finds it
    frames = log(np.array([[0.6, 0.4, 1e-9, 1e-9], [0.6, 0.4, 1e-9, 1e-9]]))
    assert inference.greedy(frames) == []
    assert inference.prefix_beam(frames, 4) == [1]
    peaked = log(np.array([[0.01, 0.97, 0.01, 0.01]] * 2 + [[0.97, 0.01, 0.01, 0.01]]
                          + [[0.01, 0.97, 0.01, 0.01]]))  # fmt: skip
    assert inference.greedy(peaked) == [1, 1]  # a a (a blank between repeats)
    assert inference.prefix_beam(peaked, 3) == [1, 1]


def test_features_ignore_the_recording_level():
    c = card()
    waves, _ = toy(1, 2)
    loud, quiet = inference.log_mel(waves[0], c), inference.log_mel(0.1 * waves[0], c)
    assert torch.allclose(loud, quiet, atol=0.05)


def test_loss_falls_and_tone_sequences_are_transcribed():
    import jiwer

    c = card()
    net = build_model("speech", CONFIG, c.dims)
    train, test = tensors(*toy(240, 3), c), tensors(*toy(40, 4), c)
    before, _ = evaluate_loss(net, test, ctc_loss, CPU, 64, False)
    settings = TrainSettings(epochs=25, batch_size=16, learning_rate=0.005, progress=False)
    fit(net, train, test, settings, CPU, loss_fn=ctc_loss, classification=False)
    after, _ = evaluate_loss(net, test, ctc_loss, CPU, 64, False)
    assert after < before / 3
    waves, texts = toy(40, 4)
    heard = inference.transcribe(net, c, waves)
    assert jiwer.cer(texts, heard) < 0.15


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"RIFF....WAVEfmt not really", "not a readable audio file"),
        (b"", "not a readable audio file"),
    ],
)
def test_undecodable_uploads_are_refused(tmp_path, content, message):
    path = tmp_path / "upload.wav"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        inference.decode(path, card())


def test_too_long_uploads_are_refused_and_any_rate_or_channels_are_read(tmp_path):
    import soundfile

    c = card()
    soundfile.write(tmp_path / "long.wav", np.zeros(5 * 8000, dtype=np.float32), 8000)
    with pytest.raises(ValueError, match="the limit is 4 s"):
        inference.decode(tmp_path / "long.wav", c)
    stereo = np.stack([np.sin(np.arange(44100) / 10)] * 2, axis=1).astype(np.float32)
    soundfile.write(tmp_path / "stereo.flac", stereo * 0.5, 44100)
    wave = inference.decode(tmp_path / "stereo.flac", c)
    assert wave.ndim == 1 and abs(len(wave) - RATE) <= 1


def test_a_batch_does_not_change_an_utterance_s_transcript_at_any_length():
    """Odd frame counts leave a half-step the convolution reads: it must read zeros."""
    c = card()
    net = build_model("speech", CONFIG, c.dims).eval()
    rng = np.random.default_rng(5)
    for seconds in (0.41, 0.42, 0.43, 0.44):  # frames 42-45: both parities after each halving
        wave = (0.3 * rng.standard_normal(int(seconds * RATE))).astype(np.float32)
        longer = np.tile(wave, 3)
        alone = inference.frame_log_probs(net, c, [wave])[0]
        batched = inference.frame_log_probs(net, c, [wave, longer])[0]
        assert np.allclose(alone, batched, atol=1e-4), seconds


@pytest.mark.parametrize("case", ["rate", "raw suffix", "not finite"])
def test_hostile_uploads_are_refused_before_decoding(tmp_path, case):
    import soundfile

    path = tmp_path / "upload.wav"
    if case == "rate":  # a header may claim any rate; resampling from it would exhaust memory
        soundfile.write(path, np.zeros(100, dtype=np.int16), 200_000_033, subtype="PCM_16")
        match = "sample rate"
    elif case == "raw suffix":  # libsndfile wants a rate for .raw: a TypeError, not a 500
        path = tmp_path / "upload.raw"
        path.write_bytes(b"\x00\x01" * 400)
        match = "not a readable audio file"
    else:
        soundfile.write(path, np.array([0.1, np.nan, 0.2] * 100, dtype=np.float32), RATE,
                        subtype="FLOAT")  # fmt: skip
        match = "not finite"
    with pytest.raises(ValueError, match=match):
        inference.decode(path, card())
