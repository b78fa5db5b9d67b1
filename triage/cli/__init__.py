"""The ``triage`` command line: train, evaluate, predict, serve.

A module per command group; each command turns its options into one call to the service or
training layer and prints what it returns. The commands are registered here, in the order
``triage --help`` lists them.
"""

from triage.cli.app import app
from triage.cli.db import db_app
from triage.cli.index import index_app
from triage.cli.keys import keys_app
from triage.cli.models import activate, evaluate, export_onnx, predict, report
from triage.cli.serve import serve, worker
from triage.cli.training import EXIT_REFUSED, retrain, train

app.command()(train)
app.command()(retrain)
app.command()(activate)
app.command()(evaluate)
app.command()(predict)
app.command()(report)
app.add_typer(keys_app, name="keys")
app.command()(serve)
app.command()(worker)
app.add_typer(db_app, name="db")
app.add_typer(index_app, name="index")
app.command("export-onnx")(export_onnx)

__all__ = ["EXIT_REFUSED", "app"]
