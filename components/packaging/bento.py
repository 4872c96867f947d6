"""Champion → BentoML model store (weights + card + lineage) → Bento."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as installed
from pathlib import Path

from components import tags as tag
from components.code import closure
from components.project import CODE_ROOT, DlopsError
from components.registry.versions import CHAMPION, alias_version, version_info
from components.settings import FamilySettings, default_model_name
from components.tracking.models import local_model_dir

EXAMPLE_FILES = ("MLmodel", "input_example.json")  # of the logged model, beside its artifacts/


def service_path(family: str) -> str:
    """Each family's service is the class `Service` in `serving/<family>.py`."""
    return f"serving.{family}:Service"


def bento_model_tag(model_name: str, version: str, run_id: str) -> str:
    """The store tag `<model>:v<version>-<run>`.

    A registry version re-created after a delete never reuses the store entry of the run that
    held its number before.
    """
    return f"{model_name}:v{version}-{run_id[:12].lower()}"


def champion(model_name: str, family: str) -> str:
    """The model's champion version; DlopsError when it has none yet."""
    found = alias_version(model_name, CHAMPION)
    if found is None:
        raise DlopsError(
            f"{model_name} has no champion yet: run `dlops run --family {family}` first"
            + ("" if model_name == default_model_name(family) else " with its data source")
        )
    return found


@contextmanager
def _store_turn(item_tag: str) -> Iterator[None]:
    """One writer of a BentoML store item at a time, across the processes sharing the store.

    BentoML checks that an item is new, then writes it: two processes writing the same tag at
    once (two runs packaging one champion) would write into one folder. The lock file sits in
    the store's home, so every checkout on the machine that shares the store takes it.
    """
    from filelock import FileLock

    home = Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")
    locks = home / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(item_tag.encode()).hexdigest()[:16]
    with FileLock(str(locks / f"{name}.lock"), timeout=600):
        yield


def stored_version(model_name: str, version: str | None) -> tuple[str, str, int] | None:
    """(version, store tag, max batch) of `version` (default: the champion), if stored here.

    Read from the tracking store's tables and this machine's BentoML store, without importing
    MLflow. None when the store lacks it (then `import_version` copies it in).
    """
    import bentoml
    from bentoml.exceptions import NotFound

    from components.tracking.store import reader

    found = reader()
    version = version or found.alias_version(model_name, CHAMPION)
    if version is None:
        return None
    run_id, _ = found.version_tags(model_name, version)
    if not run_id:
        return None
    try:
        stored = bentoml.models.get(bento_model_tag(model_name, version, run_id))
    except NotFound:
        return None
    return version, str(stored.tag), int(stored.info.metadata.get("max_batch") or 0)


def import_version(settings: FamilySettings, version: str) -> str:
    """Copy a registered version into the BentoML model store (once); returns the model tag."""
    info = version_info(settings.model_name, version)
    model_tag = bento_model_tag(settings.model_name, version, info.run_id)
    with _store_turn(model_tag):
        return _import(settings, version, info, model_tag)


def _import(settings: FamilySettings, version: str, info, model_tag: str) -> str:
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        return str(bentoml.models.get(model_tag).tag)
    except NotFound:
        pass
    source = local_model_dir(info.source)
    metadata = {
        "model_name": settings.model_name,
        "model_version": version,
        "run_id": info.run_id,
        "max_batch": settings.serving.max_batch,
        **{k: info.tags.get(k, "") for k in tag.LINEAGE_KEYS},
        tag.FAMILY: settings.family,
    }
    labels = {tag.FAMILY: settings.family}
    with bentoml.models.create(model_tag, labels=labels, metadata=metadata) as model:
        for item in source.iterdir():
            shutil.copy2(item, Path(model.path) / item.name)
        for name in EXAMPLE_FILES:  # what a following service checks a new version on
            if (source.parent.parent / name).is_file():
                shutil.copy2(source.parent.parent / name, Path(model.path) / name)
    return model_tag


def service_requirements(family: str) -> list[str]:
    """Pinned distributions the family's service imports (followed through the project's code).

    The roots are the service module and the plug-ins it loads by name at run time (every model
    file, every kind's inference module); BentoML itself comes with the Bento's base image.
    """
    from importlib.metadata import packages_distributions

    plugins = [
        *(
            f"components.models.{p.stem}"
            for p in (CODE_ROOT / "components" / "models").glob("*.py")
        ),
        *(
            f"components.kinds.{p.parent.name}.inference"
            for p in (CODE_ROOT / "components" / "kinds").glob("*/inference.py")
        ),
    ]
    names = closure((f"serving.{family}", *plugins)).external - {"bentoml", "_bentoml_sdk"}
    distributions = packages_distributions()
    found = {dist for name in names for dist in distributions.get(name, [])}
    return sorted(f"{dist}=={installed(dist)}" for dist in found)


def _code_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([*root.glob("components/**/*.py"), *root.glob("serving/*.py")]):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()[:8]


def build_bento(settings: FamilySettings, model_tag: str) -> str:
    """Build (once per model and code) the family's Bento, pinned to `model_tag`."""
    name = settings.model_name  # a data set registered under its own name gets its own Bentos
    version = f"{model_tag.split(':')[1]}-{_code_digest(CODE_ROOT)}"
    with _store_turn(f"{name}:{version}"):
        return _build(settings, model_tag, name, version)


def _build(settings: FamilySettings, model_tag: str, name: str, version: str) -> str:
    import bentoml
    from bentoml._internal.bento.build_config import BentoEnvSchema
    from bentoml.exceptions import NotFound

    try:
        return str(bentoml.bentos.get(f"{name}:{version}").tag)
    except NotFound:
        pass
    packages = service_requirements(settings.family)
    # The service reads its model tag at import: point it at this model and import it afresh.
    previous = os.environ.get("DLOPS_MODEL_TAG")
    os.environ["DLOPS_MODEL_TAG"] = model_tag
    sys.modules.pop(service_path(settings.family).split(":")[0], None)
    try:
        bento = bentoml.bentos.build(
            service=service_path(settings.family),
            name=name,
            version=version,
            build_ctx=str(CODE_ROOT),
            include=["/serving/*.py", "/components/**/*.py"],
            labels={tag.FAMILY: settings.family, "model": model_tag.replace(":", "-")},
            # pinned to its model; given MLFLOW_TRACKING_URI it follows the champion alias
            envs=[
                BentoEnvSchema(name="DLOPS_MODEL_TAG", value=model_tag),
                BentoEnvSchema(name="DLOPS_FOLLOW", value=CHAMPION),
                BentoEnvSchema(name="DLOPS_MODEL_NAME", value=settings.model_name),
                BentoEnvSchema(name="DLOPS_MAX_BATCH", value=str(settings.serving.max_batch)),
            ],
            python={"packages": packages, "lock_packages": False},
        )
    finally:
        if previous is None:
            os.environ.pop("DLOPS_MODEL_TAG", None)
        else:
            os.environ["DLOPS_MODEL_TAG"] = previous
    return str(bento.tag)
