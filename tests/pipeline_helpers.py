"""Helpers shared by the data and integration tiers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TINY = """\
pipeline:
  families: [mlp]
mlp:
  model: {hidden_sizes: [16]}
  train: {epochs: 15, patience: 5, progress: false}
"""


def tiny_config(folder: Path, extra: str = "") -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY + extra)
    return path


def registry_state(model_name: str) -> dict:
    """Versions and aliases of a registered model (empty when it does not exist)."""
    from mlflow.exceptions import MlflowException

    from components.tracking.runs import client

    try:
        model = client().get_registered_model(model_name)
    except MlflowException:
        return {"versions": [], "aliases": {}}
    versions = sorted(
        int(v.version) for v in client().search_model_versions(f"name='{model_name}'")
    )
    return {"versions": versions, "aliases": dict(model.aliases)}


def training_runs(family: str) -> list:
    from components.tracking.runs import client

    experiments = [e.experiment_id for e in client().search_experiments()]
    return client().search_runs(
        experiments, filter_string=f"tags.family = '{family}' and tags.`dlops.kind` = 'training'"
    )


def store_tag(model_name: str, version: str = "1") -> str:
    """The BentoML store's tag of a registered version (imported by the pipeline's packaging)."""
    import bentoml

    found = [
        str(m.tag)
        for m in bentoml.models.list(model_name)
        if m.info.metadata.get("model_version") == version
    ]
    assert len(found) == 1, (model_name, version, found)
    return found[0]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def bentoml_serve(family: str, model_tag: str, env: dict[str, str]) -> Iterator[str]:
    """A real `bentoml serve` process of `serving/<family>.py` on `model_tag`; yields its URL."""
    import httpx

    port = _free_port()
    cli = str(Path(sys.executable).parent / "bentoml")
    process = subprocess.Popen(
        [cli, "serve", f"serving.{family}:Service", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **env, "DLOPS_MODEL_TAG": model_tag},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError(
                    f"bentoml serve exited: {process.stderr.read().decode()[-2000:]}"
                )
            time.sleep(0.5)
        else:
            raise RuntimeError("bentoml serve did not become ready in 120 s")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict]]]:
    """A local HTTP server that records the JSON bodies POSTed to it; yields (url, bodies)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()


def append_rows(csv: Path, rows: int = 20) -> None:
    """Append copies of the first `rows` data rows to a CSV (new rows dropped into data/)."""
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines + lines[1 : rows + 1]))


def _forget_service_metrics() -> None:
    """BentoML registers its request metrics process-wide: one app's at a time in tests."""
    from prometheus_client import REGISTRY

    for collector, names in list(REGISTRY._collector_to_names.items()):
        if any(name.startswith("bentoml_") for name in names):
            REGISTRY.unregister(collector)


@contextmanager
def asgi_client(family: str, model_tag: str) -> Iterator:
    """The family's service in this process, through its ASGI app (`Service.to_asgi()`)."""
    import importlib
    import warnings

    module_name = f"serving.{family}"
    previous = os.environ.get("DLOPS_MODEL_TAG")
    os.environ["DLOPS_MODEL_TAG"] = model_tag  # the service reads its model tag at import
    sys.modules.pop(module_name, None)
    _forget_service_metrics()
    try:
        service = importlib.import_module(module_name).Service
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # starlette's note on httpx
            from starlette.testclient import TestClient

            client = TestClient(service.to_asgi(), raise_server_exceptions=True)
        with client:
            yield client
    finally:
        _forget_service_metrics()
        sys.modules.pop(module_name, None)
        if previous is None:
            os.environ.pop("DLOPS_MODEL_TAG", None)
        else:
            os.environ["DLOPS_MODEL_TAG"] = previous


def assert_lineage(body: dict, family: str) -> None:
    """Every answer, error bodies included, names the model and its whole lineage."""
    for key in ("model_name", "model_version", "data_version", "git_commit", "config_hash"):
        assert body[key], (key, body)
    assert body["family"] == family and body["device"] in ("cpu", "cuda", "mps")
    assert body["bento_model"].startswith(f"{body['model_name']}:")


def detection_scenes(folder: Path, n: int = 60, size: int = 64, layout: str = "coco") -> dict:
    """`n` generated scenes as a user's folder: COCO `annotations.json` or YOLO txt labels.

    Returns the COCO dictionary (the same boxes, whichever layout was written).
    """
    import json

    from PIL import Image

    from components.kinds.object_detection.data import SHAPES, scene

    (folder / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(n):
        pixels, objects = scene(1_000_000 + i, size)
        Image.fromarray(pixels).save(folder / "images" / f"s{i:03d}.png")
        images.append({"id": i + 1, "file_name": f"s{i:03d}.png", "width": size, "height": size})
        for shape, (x1, y1, x2, y2) in objects:
            w, h = x2 - x1, y2 - y1
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1,
                                "category_id": SHAPES.index(shape) + 1, "iscrowd": 0,
                                "bbox": [x1, y1, w, h], "area": w * h})  # fmt: skip
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": i + 1, "name": s} for i, s in enumerate(SHAPES)]}  # fmt: skip
    if layout == "coco":
        (folder / "annotations.json").write_text(json.dumps(coco))
    else:
        (folder / "labels").mkdir(exist_ok=True)
        (folder / "classes.txt").write_text("\n".join(SHAPES) + "\n")
        for image in images:
            lines = [
                f"{a['category_id'] - 1} {(a['bbox'][0] + a['bbox'][2] / 2) / size:.6f} "
                f"{(a['bbox'][1] + a['bbox'][3] / 2) / size:.6f} {a['bbox'][2] / size:.6f} "
                f"{a['bbox'][3] / size:.6f}"
                for a in annotations
                if a["image_id"] == image["id"]
            ]
            stem = image["file_name"].removesuffix(".png")
            (folder / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    return coco


def served_drift(project, model_name: str, version: str, rows: int) -> dict:
    """Once the service has logged `rows` rows: a drift measurement on them (no MLflow run).

    What every kind's serve test checks: the service logged what it answered (into
    `project.served`: serve with `DLOPS_INPUT_LOG` there), its training run logged the
    reference, and the kind's drift features and test run on both.
    """
    from dataclasses import asdict

    from components.drift.check import measure
    from components.registry.versions import version_settings
    from components.runtime.input_log import folder_of, read_window
    from components.settings import DriftSettings

    folder = folder_of(project.served, model_name, version)
    deadline = time.monotonic() + 30
    while len(read_window(folder, rows + 1)) < rows:
        assert time.monotonic() < deadline, f"{model_name}: {rows} served rows not logged"
        time.sleep(0.5)
    time.sleep(2.5)  # one more flush: nothing beyond what was answered
    assert len(read_window(folder, rows + 1)) == rows  # refused requests log nothing
    settings = version_settings(model_name, version)
    drift = DriftSettings(window=rows, min_window=rows, permutations=100)
    result, _ = measure(project, settings, drift)
    assert result.p_value is not None and result.status in ("drift", "no drift"), result
    return asdict(result)


CONTENT_TYPES = (
    "application/json",
    "text/plain",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "",
)


def _fields(schema: dict, path: str) -> list[str]:
    """The input field names of a POST route, from the service's OpenAPI document."""
    body = schema["paths"][path]["post"].get("requestBody", {}).get("content", {})
    names: set[str] = set()
    for media in body.values():
        found = media.get("schema", {})
        if "$ref" in found:
            found = schema["components"]["schemas"][found["$ref"].rsplit("/", 1)[-1]]
        names |= set(found.get("properties", {}))
    return sorted(names) or ["x"]


def fuzz(client, examples: int = 60) -> int:
    """Requests generated from the service's OpenAPI to every POST route, in every content type
    (JSON of any shape, raw and undecodable bytes, forms and multipart uploads in any field,
    empty and oversized bodies); asserts that none is answered with a 5xx. Returns the count."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    schema = client.get("/docs.json").json()
    posts = sorted(p for p, ops in schema["paths"].items() if "post" in ops)
    fields = {path: _fields(schema, path) for path in posts}
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    values = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )
    sent = 0

    @st.composite
    def request(draw):
        path = draw(st.sampled_from(posts))
        names = fields[path]
        shape = draw(st.sampled_from(["fields", "json", "bytes", "multipart", "empty"]))
        if shape == "fields":  # the route's own fields, any values
            body = draw(st.dictionaries(st.sampled_from(names), values, max_size=len(names)))
            return path, {"content": json.dumps(body).encode(),
                          "headers": {"content-type": "application/json"}}  # fmt: skip
        if shape == "json":
            return path, {"content": json.dumps(draw(values)).encode(),
                          "headers": {"content-type": "application/json"}}  # fmt: skip
        if shape == "bytes":
            content_type = draw(st.sampled_from(CONTENT_TYPES))
            headers = {"content-type": content_type} if content_type else {}
            return path, {"content": draw(st.binary(max_size=200)), "headers": headers}
        if shape == "multipart":
            files = draw(st.lists(st.tuples(st.sampled_from(names), st.binary(max_size=200)),
                                  min_size=1, max_size=3))  # fmt: skip
            data = draw(st.dictionaries(st.sampled_from(names), st.text(max_size=10), max_size=2))
            parts = [(n, ("f.bin", b, "application/octet-stream")) for n, b in files]
            return path, {"files": parts, "data": data}
        return path, {
            "content": b"",
            "headers": {"content-type": draw(st.sampled_from(CONTENT_TYPES[:2]))},
        }

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(request())
    def check(case):
        nonlocal sent
        path, kwargs = case
        response = client.post(path, **kwargs)
        sent += 1
        assert response.status_code < 500, (path, str(kwargs)[:300], response.text[:300])

    check()
    for path in posts:  # the cases no generator reaches cheaply: too big, not UTF-8
        for content, content_type in (
            (b"\xff\xfe\x00{" * 8, "application/json"),
            (b"{" + b" " * (33 * 1024 * 1024) + b"}", "application/json"),
        ):
            response = client.post(path, content=content, headers={"content-type": content_type})
            assert 400 <= response.status_code < 500, (
                path,
                response.status_code,
                response.text[:300],
            )
            sent += 1
    return sent
