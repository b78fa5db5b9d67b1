"""Starting (or joining) a Ray cluster, and the one place ``ray`` is imported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from triage.core.errors import TriageError

Engine = Literal["local", "ray"]
ENGINES: tuple[Engine, ...] = ("local", "ray")


class RayUnavailableError(TriageError):
    """``--engine ray`` without Ray installed."""


def require_ray() -> Any:
    """The ``ray`` module, or a clear error naming the extra that installs it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RayUnavailableError(
            f"--engine ray needs Ray ({exc}): pip install 'triage[scale]' (or run with "
            "--engine local, one process)"
        ) from exc
    return ray


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray, initialised for the block: joined at ``address`` (``auto``, ``ray://host:10001``)
    or started on this machine with ``num_cpus``; a Ray already initialised in this process
    (a test's, a notebook's) is used as it is and left running."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=num_cpus, **options)
    try:
        yield ray
    finally:
        ray.shutdown()


def ordered_data_context(ray: Any) -> None:
    """Ray Data hands batches back in input order (the loader and the job output rely on it)."""
    ray.data.DataContext.get_current().execution_options.preserve_order = True


def actor_pool(ray: Any, workers: int | None) -> dict[str, Any]:
    """``map_batches`` options for a pool of ``workers`` actors of one CPU each (default: one
    per CPU of the cluster): each actor loads the body once and keeps it."""
    size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    return {"concurrency": size, "num_cpus": 1}
