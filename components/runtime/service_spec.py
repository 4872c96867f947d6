"""What a kind declares about its service: the batch ceiling, whether batching pays, the time limit.

Each kind's `schemas` module holds one `ServiceSpec` (`SERVICE`); the family's service reads
its limits from it, and `describe(card)` in the kind's inference module says what `/metadata`
shows of a model besides its lineage.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    """A kind's service limits.

    Attributes:
        max_batch: The most items one request may carry, whatever the model's
            `serving.max_batch` setting says (the smaller of the two applies).
        batchable: Whether requests are worth gathering into one forward pass (adaptive
            batching); false for kinds whose answer costs grow per item (beams, episodes).
        timeout_s: How long one request may take.
    """

    max_batch: int
    batchable: bool = False
    timeout_s: int = 30
