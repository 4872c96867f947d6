"""Champion → BentoML model store (weights + card + lineage) → Bento."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from importlib.metadata import version as installed
from pathlib import Path

from components.project import CODE_ROOT, DlopsError
from components.registry.versions import CHAMPION, alias_version, version_info
from components.settings import FamilySettings


def service_path(family: str) -> str:
    """Each family's service is the class `Service` in `serving/<family>.py`."""
    return f"serving.{family}:Service"


def bento_model_tag(settings: FamilySettings, version: str) -> str:
    return f"{settings.model_name}:v{version}"


def champion(settings: FamilySettings) -> str:
    """The champion's version number; DlopsError when the family has none yet."""
    found = alias_version(settings.model_name, CHAMPION)
    if found is None:
        raise DlopsError(
            f"{settings.model_name} has no champion yet: run `dlops run --family "
            f"{settings.family}` first"
        )
    return found


def import_version(settings: FamilySettings, version: str) -> str:
    """Copy a registered version into the BentoML model store (once); returns the model tag."""
    import bentoml
    from bentoml.exceptions import NotFound

    from components.evaluation.evaluate import local_model_dir

    tag = bento_model_tag(settings, version)
    try:
        return str(bentoml.models.get(tag).tag)
    except NotFound:
        pass
    info = version_info(settings.model_name, version)
    source = local_model_dir(info.source)
    metadata = {
        "model_name": settings.model_name,
        "model_version": version,
        "family": settings.family,
        "run_id": info.run_id,
        "max_batch": settings.serving.max_batch,
        **{k: info.tags.get(k, "") for k in ("data_version", "git_commit", "config_hash")},
    }
    with bentoml.models.create(tag, labels={"family": settings.family}, metadata=metadata) as model:
        for item in source.iterdir():
            shutil.copy2(item, Path(model.path) / item.name)
    return tag


def _code_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([*root.glob("components/**/*.py"), *root.glob("serving/*.py")]):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()[:8]


def build_bento(settings: FamilySettings, model_tag: str) -> str:
    """Build (once per model and code) the family's Bento, pinned to `model_tag`."""
    import bentoml
    from bentoml._internal.bento.build_config import BentoEnvSchema
    from bentoml.exceptions import NotFound

    name = settings.model_name  # a data set registered under its own name gets its own Bentos
    version = f"{model_tag.split(':')[1]}-{_code_digest(CODE_ROOT)}"
    try:
        return str(bentoml.bentos.get(f"{name}:{version}").tag)
    except NotFound:
        pass
    packages = [
        f"{pkg}=={installed(pkg)}"
        for pkg in ("torch", "safetensors", "pydantic", "numpy", "pandas")
    ]
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
            labels={"family": settings.family, "model": model_tag.replace(":", "-")},
            envs=[BentoEnvSchema(name="DLOPS_MODEL_TAG", value=model_tag)],
            python={"packages": packages, "lock_packages": False},
        )
    finally:
        if previous is None:
            os.environ.pop("DLOPS_MODEL_TAG", None)
        else:
            os.environ["DLOPS_MODEL_TAG"] = previous
    return str(bento.tag)
