"""What the speech service declares: requests are multipart uploads, checked file by file."""

from __future__ import annotations

from components.runtime.service_spec import ServiceSpec

HARD_MAX_BATCH = 64  # files per request; the model's own serving.max_batch applies too

SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=True, timeout_s=60)
