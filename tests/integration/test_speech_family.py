"""The speech family through the flow on a user's own folder of recordings and transcripts (the
quick start), served by /transcribe; corrupted recordings refused at the gate by column."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from tests.pipeline_helpers import asgi_client, fuzz

RATE = 16_000
TONES = {"a": 500.0, "b": 1500.0}
TINY = [
    "data.audio.alphabet=ab",
    "data.split.test=0.2",
    "model.n_mels=20",
    "model.channels=8",
    "model.hidden_size=32",
    "model.num_layers=1",
    "train.epochs=25",
    "train.batch_size=16",
    "train.learning_rate=0.005",
    "train.progress=false",
    "data.workers=0",
    "gate.limits.test_wer=[null, 0.9]",
]


def tones(text: str, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """Each symbol a 0.12-0.2 s tone between 0.05-0.1 s silences, with faint noise."""
    parts = [np.zeros(int(rng.uniform(0.05, 0.1) * rate))]
    for symbol in text:
        t = np.arange(int(rng.uniform(0.12, 0.2) * rate)) / rate
        parts += [0.5 * np.sin(2 * np.pi * TONES[symbol] * t),
                  np.zeros(int(rng.uniform(0.05, 0.1) * rate))]  # fmt: skip
    wave = np.concatenate(parts)
    return (wave + 0.01 * rng.standard_normal(len(wave))).astype(np.float32)


def wav_bytes(wave: np.ndarray, rate: int = RATE, channels: int = 1) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    data = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    soundfile.write(buffer, data, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def recordings(folder, n: int = 300, seed: int = 0) -> pd.DataFrame:
    """`n` tone recordings by 12 "speakers" (some at 8 kHz in stereo) and transcripts.csv."""
    rng = np.random.default_rng(seed)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        text = "".join(rng.choice(list("ab"), int(rng.integers(1, 5))))
        rate, channels = (8_000, 2) if i % 5 == 0 else (RATE, 1)
        (folder / "clips" / f"{i:04d}.wav").write_bytes(
            wav_bytes(tones(text, rng, rate), rate, channels)
        )
        rows.append({"file": f"clips/{i:04d}.wav", "text": text, "speaker": f"s{i % 12}"})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "transcripts.csv", index=False)
    return table


@pytest.fixture(scope="module")
def speech_run(project, prefect_server, tmp_path_factory):
    from pipelines.training import training_pipeline

    folder = tmp_path_factory.mktemp("speech") / "beeps"
    recordings(folder)
    overrides = [f"data.source=folder:{folder}", *TINY]
    [outcome] = training_pipeline(families=["speech"], overrides=overrides)
    assert outcome["status"] == "ok", outcome["message"]
    return outcome


def test_own_recordings_train_through_the_quick_start(speech_run):
    assert speech_run["model_name"] == "dlops-speech-beeps"
    assert speech_run["decision"] == "promoted"
    assert speech_run["metrics"]["test_cer"] < 0.25  # most symbols heard right
    assert "test_ood_wer" not in speech_run["metrics"]  # no out-of-domain set given


def test_transcribe_answers_and_refuses(speech_run):
    from components.packaging import bento
    from components.registry.versions import version_settings

    settings = version_settings(speech_run["model_name"], speech_run["champion"])
    rng = np.random.default_rng(9)
    with asgi_client("speech", bento.import_version(settings, speech_run["champion"])) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        clips = [wav_bytes(tones("ab", rng)), wav_bytes(tones("ba", rng, 44_100), 44_100, 2)]
        files = [("audio", (f"{i}.wav", clip, "audio/wav")) for i, clip in enumerate(clips)]
        ok = client.post("/transcribe", files=files)
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["model_name"] == "dlops-speech-beeps" and len(body["transcripts"]) == 2
        assert set("".join(t["text"] for t in body["transcripts"])) <= set("ab")
        long_clip = wav_bytes(np.zeros(RATE * 9, dtype=np.float32))
        for bad in (
            [("audio", ("x.wav", b"not audio at all", "audio/wav"))],
            [("audio", ("x.wav", b"", "audio/wav"))],
            [("audio", ("long.wav", long_clip, "audio/wav"))],
        ):
            refused = client.post("/transcribe", files=bad)
            assert 400 <= refused.status_code < 500 and "error" in refused.json(), refused.text
        too_many = client.post("/transcribe", files=files * 9)
        assert too_many.status_code == 413
        # a text value in a file field is refused, never fetched as a URL by BentoML (was a 500)
        for form in ({"audio": "http://127.0.0.1:9/x.wav"}, {"audio": "hello"}):
            as_text = client.post("/transcribe", data=form, files=[("note", ("n.txt", b"x"))])
            assert as_text.status_code == 422, as_text.text
            assert "expected an uploaded file" in as_text.json()["error"]
            not_multipart = client.post("/transcribe", data=form)  # a url-encoded form
            assert not_multipart.status_code == 415, not_multipart.text
            assert "multipart/form-data" in not_multipart.json()["error"]


def _corrupt_blank(folder, table):
    table.loc[3, "text"] = " "
    return table


def _corrupt_alphabet(folder, table):
    table.loc[4, "text"] = "abc!"
    return table


def _corrupt_silent(folder, table):
    (folder / table["file"][5]).write_bytes(wav_bytes(np.zeros(RATE, dtype=np.float32)))
    return table


def _corrupt_undecodable(folder, table):
    (folder / table["file"][6]).write_bytes(b"RIFF not a wave")
    return table


def _corrupt_twice(folder, table):
    (folder / table["file"][7]).write_bytes((folder / table["file"][8]).read_bytes())
    return table


def _corrupt_too_long_text(folder, table):
    table.loc[9, "text"] = "ab" * 60  # 120 symbols for a second of tones: cannot be aligned
    return table


CORRUPT = {
    "transcript longer than its audio": (_corrupt_too_long_text, "fits"),
    "blank transcript": (_corrupt_blank, "blank_text"),
    "outside the alphabet": (_corrupt_alphabet, "outside_alphabet"),
    "silent file": (_corrupt_silent, "rms_db"),
    "undecodable file": (_corrupt_undecodable, "decodable"),
    "the same recording twice": (_corrupt_twice, "md5"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupted_recordings_are_refused_by_column(case, project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.gx_runner import summarise
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate(
        {"family": "speech", "data": {"source": "folder:x", "audio": {"alphabet": "ab"}}}
    )
    corrupt, column = CORRUPT[case]
    table = corrupt(tmp_path, recordings(tmp_path, 60))
    table.to_csv(tmp_path / "transcripts.csv", index=False)
    report = validate_folder(project, settings, tmp_path)
    assert not report.success
    assert f"column '{column}'" in "\n".join(summarise(report.failures))


def test_a_folder_without_transcripts_is_refused(project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate({"family": "speech", "data": {"source": "folder:x"}})
    (tmp_path / "a.wav").write_bytes(wav_bytes(np.zeros(RATE, dtype=np.float32)))
    report = validate_folder(project, settings, tmp_path)
    assert "transcripts.csv is missing" in report.failures[0]


def test_a_real_bentoml_serve_transcribes_over_http(speech_run, project_env, project):
    import httpx

    from components.packaging import bento
    from components.registry.versions import version_settings
    from tests.pipeline_helpers import bentoml_serve, served_drift

    name, champion = speech_run["model_name"], speech_run["champion"]
    settings = version_settings(name, champion)
    tag = bento.import_version(settings, champion)
    clip = wav_bytes(tones("abba", np.random.default_rng(3)))
    env = {**project_env, "DLOPS_INPUT_LOG": str(project.served)}
    with bentoml_serve("speech", tag, env) as url:
        ok = httpx.post(f"{url}/transcribe", files=[("audio", ("a.wav", clip))] * 10, timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json()["model_version"] == champion
        refused = httpx.post(f"{url}/transcribe", files=[("audio", ("x.wav", b"junk"))], timeout=30)
        assert 400 <= refused.status_code < 500, refused.text
        check = served_drift(project, name, champion, rows=10)  # what was served, measured
        assert check["method"].startswith("MMD on the mean log-mel spectrum")
