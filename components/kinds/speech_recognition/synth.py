"""The two speech synthesisers the built-in data is made with: espeak-ng and flite.

Both come from Debian packages that `make setup` unpacks into `.venv/debian/<package>` without
root (`apt-get download` + `dpkg -x`), with the libraries they load; a system-wide install on
the PATH is used otherwise. Each utterance is one process writing one WAV file: the command
line output is byte-identical for the same options, which keeps the data version stable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from components.project import CODE_ROOT, DlopsError

DEBIAN = CODE_ROOT / ".venv" / "debian"


@cache
def _environment() -> dict[str, str]:
    """LD_LIBRARY_PATH over every unpacked package's libraries; espeak-ng's data folder."""
    libraries = sorted(str(p) for p in DEBIAN.glob("*/usr/lib/*-linux-gnu"))
    libraries += sorted(str(p) for p in DEBIAN.glob("*/usr/lib/*-linux-gnu/pulseaudio"))
    env = dict(os.environ)
    if libraries:
        env["LD_LIBRARY_PATH"] = ":".join([*libraries, env.get("LD_LIBRARY_PATH", "")]).strip(":")
    data = sorted(DEBIAN.glob("espeak-ng-data/usr/lib/*-linux-gnu/espeak-ng-data"))
    if data:
        env["ESPEAK_DATA_PATH"] = str(data[0])
    return env


@cache
def program(name: str) -> str:
    """The unpacked `name` binary, else the one on the PATH; DlopsError naming the package."""
    unpacked = DEBIAN / name / "usr" / "bin" / name
    if unpacked.is_file():
        return str(unpacked)
    found = shutil.which(name)
    if found:
        return found
    raise DlopsError(
        f"{name} is missing: the built-in speech data is synthesised with Debian's {name}, "
        "fetched by `make setup` (apt-get download + dpkg -x), or `--set "
        "data.source=folder:PATH` for your own recordings (audio files + transcripts.csv)"
    )


def _run(command: list[str], out: Path) -> tuple[np.ndarray, int]:
    import soundfile

    done = subprocess.run(command, env=_environment(), capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not out.is_file():
        raise DlopsError(f"{Path(command[0]).name} failed: {done.stderr.strip()[:300]}")
    audio, rate = soundfile.read(out, dtype="float32", always_2d=True)
    return audio.mean(axis=1), rate


def espeak(text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    """espeak-ng's rendering of `text` (mono float32 samples, their rate: 22,050 Hz)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.wav"
        command = [program("espeak-ng"), "-v", voice, "-s", str(speed), "-p", str(pitch),
                   "-w", str(out), text]  # fmt: skip
        return _run(command, out)


def flite(text: str, voice: str, stretch: float) -> tuple[np.ndarray, int]:
    """The rendering by flite of of `text` with one of its built-in voices (16,000 Hz)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.wav"
        command = [program("flite"), "-voice", voice, "--setf", f"duration_stretch={stretch}",
                   "-t", text, "-o", str(out)]  # fmt: skip
        return _run(command, out)


def variants() -> list[str]:
    """espeak-ng's voice variant files (names as `-v en+NAME` takes them)."""
    unpacked = _environment().get("ESPEAK_DATA_PATH")
    candidates = [Path(unpacked)] if unpacked else []
    candidates += [*Path("/usr/lib").glob("*/espeak-ng-data"), Path("/usr/share/espeak-ng-data")]
    for data in candidates:  # the unpacked package's, else a system install's
        folder = data / "voices" / "!v"
        if folder.is_dir():
            return sorted(p.name for p in folder.iterdir() if p.is_file())
    return []
