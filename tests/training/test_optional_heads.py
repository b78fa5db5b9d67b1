"""Priority and assignment-group heads, learned by default where the file has them (issue 20)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import SAMPLE_DATA
from triage.cli.app import train_config
from triage.core.embeddings import HashingEmbedder
from triage.service import Ticket, TriageService
from triage.training.train import train_from_file


def test_the_default_heads_grow_with_the_columns_a_file_has() -> None:
    config = train_config(None, None)
    columns = pd.read_csv(SAMPLE_DATA, nrows=0).columns
    assert config.heads_for(columns) == {
        "category": "category",
        "tier": "tier",
        "priority": "priority",
        "group": "group",
    }
    without_group = [c for c in columns if c != "group"]
    assert config.heads_for([*without_group, "assignment_group"])["group"] == "assignment_group"
    # Heads named with --label are exactly those: nothing is added.
    assert train_config(None, ["category=category"]).heads_for(columns) == {"category": "category"}


def test_a_file_with_priority_and_groups_serves_every_head_with_its_own_decisions(
    tmp_path: Path,
) -> None:
    rows = []
    for i in range(24):
        rows.append(
            {
                "subject": f"vpn drops {i}",
                "body": "tunnel down",
                "category": "network",
                "tier": "L2",
                "priority": "high",
                "assignment_group": "net-ops",
            }
        )
        rows.append(
            {
                "subject": f"toner low {i}",
                "body": "printer toner",
                "category": "printers",
                "tier": "L1",
                "priority": "low",
                "assignment_group": "desk-side",
            }
        )
    path = tmp_path / "groups.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    config = train_config(None, None, tune=False)
    result = train_from_file(path, HashingEmbedder(32), config=config, models_dir=tmp_path / "m")
    assert set(result.model.heads) == {"category", "tier", "priority", "group"}
    assert result.model.manifest["label_columns"]["group"] == "assignment_group"
    answer = TriageService(result.model).classify(Ticket(subject="toner low", body="printer"))
    assert set(answer.predictions) == {"category", "tier", "priority", "group"}
    assert answer.predictions["group"].label == "desk-side"
    # No rule: the learned group head proposes the route, as sure as it is.
    assert answer.route is not None
    assert answer.predictions["group"].decision.value != "review"
    assert (answer.route.source.value, answer.route.group) == ("model", "desk-side")
    assert answer.route.decision is answer.predictions["group"].decision


def test_an_optional_head_the_file_cannot_teach_is_left_out_with_a_note(tmp_path: Path) -> None:
    from triage.training.split import split_rows

    rows = [
        {
            "subject": f"vpn {i}",
            "body": "x",
            "category": ["a", "b"][i % 2],
            "tier": ["L1", "L2"][i % 2],
            "priority": "high" if i else "low",
            "assignment_group": "" if i == 3 else "g",
        }
        for i in range(12)
    ]
    path = tmp_path / "few.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    split = split_rows(train_config(None, None), path, None)
    assert split.label_columns == {"category": "category", "tier": "tier"}
    assert (
        "not learning priority from column 'priority': a class with fewer than 2 rows"
        in split.notes
    )
    assert (
        "not learning group from column 'assignment_group': 1 row(s) have no label" in split.notes
    )
