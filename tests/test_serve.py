"""`triage serve` as a real process: what `make run` ends with."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

TRIAGE = str(Path(sys.executable).with_name("triage"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(models_dir: Path, port: int) -> dict[str, str]:
    return {**os.environ, "TRIAGE_MODELS_DIR": str(models_dir), "TRIAGE_PORT": str(port)}


def test_serve_answers_classify_on_the_configured_port(artifact_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [TRIAGE, "serve"], env=_env(artifact_dir.parent, port), stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    assert json.load(r)["model_version"] == artifact_dir.name
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not become ready in 60 s"
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/classify",
            data=json.dumps({"subject": "Printer on 3rd floor jams"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
        assert set(body["predictions"]) == {"category", "tier"}
        # The start-up log says where to go.
        url = f"http://127.0.0.1:{port}"
        assert f"staff page {url}/ui/ · API docs {url}/docs · health {url}/healthz" in (
            log.read_text(encoding="utf-8")
        )
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_without_a_model_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [TRIAGE, "serve"],
        env=_env(tmp_path / "nothing", _free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "error [model_not_found]: no trained model in" in result.stderr
    assert "Traceback" not in result.stderr
