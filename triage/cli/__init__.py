"""The ``triage`` command line: train, evaluate, predict, serve.

A module per command group; each command turns its options into one call to the service or
training layer and prints what it returns. The commands are registered here, in the order
``triage --help`` lists them.
"""

from triage.cli.app import app
from triage.cli.db import db_app
from triage.cli.events import events_app
from triage.cli.index import index_app
from triage.cli.jobs import jobs_app
from triage.cli.keys import keys_app
from triage.cli.mail import mail_app
from triage.cli.models import activate, evaluate, export_onnx, predict, report
from triage.cli.ops_report import ops_report
from triage.cli.serve import serve, worker
from triage.cli.training import EXIT_REFUSED, retrain, train

# One line each in `triage --help`, whole (click would cut a longer first sentence).
app.command(short_help="Train a model and save it as a new version.")(train)
app.command(short_help="Train a challenger; serve it only if no head got worse.")(retrain)
app.command(short_help="Serve a saved version (models/ACTIVE).")(activate)
app.command(short_help="Evaluate a saved model on a labelled ticket file.")(evaluate)
app.command(short_help="Classify one ticket and print the JSON answer.")(predict)
app.command(short_help="A model's evaluation as one HTML or Markdown file.")(report)
app.command("ops-report", short_help="The helpdesk's reports for leadership, one HTML file.")(
    ops_report
)
app.add_typer(keys_app, name="keys")
app.command(short_help="Serve the HTTP API and the staff page.")(serve)
app.command(short_help="Run queued jobs, webhook deliveries and the mailbox poller.")(worker)
app.add_typer(db_app, name="db")
app.add_typer(mail_app, name="mail")
app.add_typer(index_app, name="index")
app.add_typer(events_app, name="events")
app.add_typer(jobs_app, name="jobs")
app.command("export-onnx", short_help="Add an int8 ONNX body to a saved model.")(export_onnx)

__all__ = ["EXIT_REFUSED", "app"]
