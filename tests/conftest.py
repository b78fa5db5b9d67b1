"""Shared fixtures. Fast tests use a deterministic hashing embedder instead of MiniLM."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.artifacts import load_model
from triage.core.embeddings import HashingEmbedder
from triage.service import TriageService
from triage.settings import Settings
from triage.training.train import TrainConfig, TrainResult, train_from_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "data" / "tickets.csv"
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

# Nothing in the test suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Apps built in a test worker must not fix glibc's mmap threshold for the whole worker: the
# torch and training work of later tests would pay for it (triage.core.allocator).
os.environ.setdefault("TRIAGE_RETURN_LARGE_BUFFERS", "false")
# Apps built with default settings keep their SQLite database out of the working tree.
_DATA_DIR = tempfile.mkdtemp(prefix="triage-tests-")
os.environ["TRIAGE_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)


# Under pytest-xdist (`make test`: -n 2 --dist loadfile) each module runs whole on one worker,
# so its module-scoped fixtures (a trained model, most often) are built once. (xdist's
# `loadgroup` did this through a private attribute that pytest 9.2 no longer reads: every
# module's tests were spread over both workers, which built each such fixture twice.) The
# costliest modules are handed out first (HEAVY_FIRST), so that neither worker is left with one
# long module at the end while the other idles (TRIAGE_TEST_CPU_LOG, tests/cpu_log.py, measures
# them).
HEAVY_FIRST = (  # wall seconds in the run of 2026-12-07 (8 min 16 s in all); "est.": scaled
    # by the module's CPU-s before/after a change of that day, not yet timed in a whole run
    "tests/test_notebooks.py",  # 66
    "tests/scale/test_ray_engine.py",  # 66 (Ray's own processes: little CPU of pytest's)
    "tests/slow/test_onnx_export.py",  # 58
    "tests/training/test_cold_start.py",  # 58
    "tests/slow/test_finetune.py",  # 51
    "tests/api/test_fuzz.py",  # est. 50 (was 60: 20 admin-key examples, not 30)
    "tests/slow/test_quality_kaggle.py",  # 46
    "tests/test_cli.py",  # est. 43 (was 57: two tests copy the session model, not train)
    "tests/slow/test_cold_start_real_body.py",  # 42
    "tests/api/test_hostile_text.py",  # 24
    "tests/test_retrain_cli.py",  # 18
    "tests/slow/test_multilingual_model.py",  # 16
    "tests/training/test_train.py",  # 16
    "tests/api/test_fuzz_live.py",  # 16
    "tests/slow/test_run_install.py",  # 15
    "tests/api/test_models.py",  # est. 12 (was 23: its two versions on the small sample)
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: place for place, module in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def pytest_configure(config: pytest.Config) -> None:
    prefix = os.environ.get("TRIAGE_TEST_CPU_LOG")
    if prefix:
        from tests.cpu_log import CpuLog

        config.pluginmanager.register(CpuLog(prefix), "triage-cpu-log")


def shared_dataset(relative: str) -> Path:
    """A file under ../shared/datasets, or a skip saying why it is absent."""
    path = SHARED_DATASETS / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party datasets live in ../shared, not in the repo)")
    return path


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def small_sample(sample_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 tickets of each category of the sample (240, every head's classes present), as a
    CSV: for tests of what training does rather than how well, at a fifth of the cost."""
    path = tmp_path_factory.mktemp("small-sample") / "tickets.csv"
    sample_frame.groupby("category").head(24).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder(dim=128)


@pytest.fixture(scope="session")
def trained(
    tmp_path_factory: pytest.TempPathFactory, hashing_embedder: HashingEmbedder
) -> TrainResult:
    """A model trained once on the sample data with the stand-in embedder, saved to disk."""
    models_dir = tmp_path_factory.mktemp("models")
    return train_from_file(
        SAMPLE_DATA, hashing_embedder, config=TrainConfig(), models_dir=models_dir
    )


@pytest.fixture(scope="session")
def artifact_dir(trained: TrainResult) -> Path:
    assert trained.path is not None
    return trained.path


@pytest.fixture(scope="session")
def service(artifact_dir: Path) -> TriageService:
    return TriageService(load_model(artifact_dir), max_text_chars=5_000)


@pytest.fixture
def settings(artifact_dir: Path, tmp_path: Path) -> Settings:
    return Settings(
        models_dir=artifact_dir.parent,
        data_dir=tmp_path / "var",
        max_text_chars=5_000,
        max_request_bytes=50_000,
    )


@pytest.fixture
def client(settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with TestClient(create_app(settings, service=service)) as test_client:
        yield test_client


POSTGRES_ADMIN_URL = os.environ.get(
    "TRIAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """An admin URL of a reachable PostgreSQL, or a skip (a failure on CI, where one runs)."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_ADMIN_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is required on CI: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL} (set TRIAGE_TEST_POSTGRES_URL)")
    finally:
        engine.dispose()
    return POSTGRES_ADMIN_URL


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    import sqlalchemy as sa

    name = f"triage_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same tests on both backends: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'triage.db'}"
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    """PostgreSQL 16 with pgvector, started from Python by the ``pgserver`` package.

    One per pytest process (each xdist worker has its own), its data and socket in a fresh
    folder of its own. Not under pytest's temporary root: run as root, pgserver runs postgres
    as another user and opens that root's permissions for it, and every pytest session that
    starts on the machine closes them again (0700), which stopped a running server's
    connections when two test runs overlapped."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver (a dev dependency) is needed")
    pgdata = Path(tempfile.mkdtemp(prefix="triage-pgvector-"))
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        try:
            uri = server.get_uri()
            yield "postgresql+psycopg://" + uri.removeprefix("postgresql://")
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture(params=["embedded", "pgvector"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The similar-ticket store on both backends: SQLite + the in-process index, pgvector."""
    if request.param == "embedded":
        yield f"sqlite:///{tmp_path / 'triage.db'}"
        return
    with fresh_postgres_database(request.getfixturevalue("pgvector_server")) as url:
        yield url
