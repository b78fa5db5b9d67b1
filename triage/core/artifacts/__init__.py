"""Versioned model artifacts: a directory with a manifest, checksums and the trained parts.

- ``layout``: the versions in a models directory, the files of one version and their names.
- ``manifest``: what the manifest records, how it is written and verified.
- ``save``: writing a trained model as a new version, atomically.
- ``load``: loading a version (checksums verified before anything is unpickled) and reading
  its held-out metrics.
- ``amend``: later additions to a saved version (its ONNX body, a record such as ``triage
  retrain``'s decision), each replacing the manifest atomically.
"""

from triage.core.artifacts.amend import add_onnx_embedder, add_record, remove_onnx_embedder
from triage.core.artifacts.layout import (
    MANIFEST,
    METRICS,
    NEIGHBOURS,
    OPERATING_POINTS,
    check_version_name,
    list_versions,
    new_version,
    resolve_model_dir,
)
from triage.core.artifacts.load import Runtime, artifact_embedder, load_model, read_metrics
from triage.core.artifacts.manifest import (
    FORMAT_VERSION,
    ONNX_ENTRY,
    library_versions,
    read_manifest,
)
from triage.core.artifacts.save import save_model

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "METRICS",
    "NEIGHBOURS",
    "ONNX_ENTRY",
    "OPERATING_POINTS",
    "Runtime",
    "add_onnx_embedder",
    "add_record",
    "artifact_embedder",
    "check_version_name",
    "library_versions",
    "list_versions",
    "load_model",
    "new_version",
    "read_manifest",
    "read_metrics",
    "remove_onnx_embedder",
    "resolve_model_dir",
    "save_model",
]
