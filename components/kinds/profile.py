"""Data contracts, the kinds' shared part: profiles of accepted data and the bounds they set.

A kind profiles the data a model first accepted (columns, labels, value ranges, image sizes,
frequencies...) as plain JSON; each later data version of that model gets the profile's rules
added to its validation suite. Numbers are rounded so a profile is the same on every machine.
"""

from __future__ import annotations

import math
from typing import Any

QUANTILES = (0.01, 0.5, 0.99)


def number(value: Any) -> float | int | None:
    """A plain JSON number with 6 significant digits (None for NaN)."""
    value = value.item() if hasattr(value, "item") else value
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, bool | int):
        return int(value)
    return float(f"{float(value):.6g}")


def plain(value: Any) -> Any:
    """A label or category as a plain JSON value (numpy scalars unwrapped)."""
    return value.item() if hasattr(value, "item") else value


def numeric_profile(values) -> dict[str, Any]:
    """Range and quantiles of a numeric pandas Series (NaN ignored)."""
    values = values.dropna()
    if values.empty:
        return {"min": None, "max": None, "quantiles": []}
    return {
        "min": number(values.min()),
        "max": number(values.max()),
        "quantiles": [number(values.quantile(q)) for q in QUANTILES],
    }


def widened(low: float | None, high: float | None, margin: float) -> tuple[float, float]:
    """The accepted range [low, high] widened by `margin` x its width on both sides.

    A constant column (width 0) is widened by `margin` x its magnitude (or by `margin`).
    """
    low = -math.inf if low is None else low
    high = math.inf if high is None else high
    width = high - low
    if not math.isfinite(width):
        return low, high
    slack = margin * (width or max(abs(low), abs(high), 1.0))
    return low - slack, high + slack


def differences(old: Any, new: Any, where: str = "") -> list[str]:
    """What changed between two profiles, one line per changed field (`a.b: old -> new`)."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{where}.{key}" if where else str(key)
            if key not in new:
                lines.append(f"{path}: removed (was {_short(old[key])})")
            elif key not in old:
                lines.append(f"{path}: added ({_short(new[key])})")
            else:
                lines += differences(old[key], new[key], path)
        return lines
    if _is_set(old) and _is_set(new) and old != new:  # columns, labels, classes
        gone = [v for v in old if v not in new]
        came = [v for v in new if v not in old]
        if not gone and not came:
            return [f"{where}: order {_short(old)} -> {_short(new)}"]
        parts = ([f"-{_short(gone)}"] if gone else []) + ([f"+{_short(came)}"] if came else [])
        return [f"{where}: {' '.join(parts)}"]
    return [] if old == new else [f"{where}: {_short(old)} -> {_short(new)}"]


def _is_set(value: Any) -> bool:
    """A list of names or labels (not numbers such as quantiles)."""
    return (
        isinstance(value, list)
        and all(isinstance(v, str | int) and not isinstance(v, bool) for v in value)
        and any(isinstance(v, str) for v in value)
        or (isinstance(value, list) and all(type(v) is int for v in value))
    )


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
