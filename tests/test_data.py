from pathlib import Path

import pandas as pd
import pytest

from triage.core.errors import DataValidationError
from triage.training.data import fingerprint, labelled_texts, read_table

LABELS = {"category": "category", "tier": "tier"}


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["subject", "body", "category", "tier"])


GOOD = _frame(
    [
        ("vpn down", "cannot connect", "network", "L1"),
        ("vpn slow", "very slow today", "network", "L2"),
        ("printer", "paper jam", "printers", "L1"),
        ("toner", "toner empty", "printers", "L2"),
    ]
)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".parquet"])
def test_every_supported_format_reads_the_same_rows(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"tickets{suffix}"
    if suffix == ".csv":
        GOOD.to_csv(path, index=False)
    elif suffix == ".jsonl":
        GOOD.to_json(path, orient="records", lines=True)
    elif suffix == ".json":
        GOOD.to_json(path, orient="records")
    else:
        GOOD.to_parquet(path)
    frame = read_table(path)
    data, notes = labelled_texts(frame, text_columns=["subject", "body"], label_columns=LABELS)
    assert data.texts[0] == "vpn down\ncannot connect"
    assert data.labels["category"] == ["network", "network", "printers", "printers"]
    assert notes == []


def test_unknown_format_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "tickets.xlsx").write_text("x")
    with pytest.raises(DataValidationError, match="unsupported format '.xlsx'"):
        read_table(tmp_path / "tickets.xlsx")


def test_missing_column_is_named_with_the_columns_available() -> None:
    with pytest.raises(DataValidationError, match=r"missing column\(s\) 'queue'.*'subject'"):
        labelled_texts(GOOD, text_columns=["subject"], label_columns={"category": "queue"})


def test_rows_without_text_are_named_not_dropped() -> None:
    frame = pd.concat([GOOD, _frame([("", "", "network", "L1")])], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"1 row\(s\) have no text .*rows 6"):
        labelled_texts(frame, text_columns=["subject", "body"], label_columns=LABELS)


def test_rows_without_a_label_are_named() -> None:
    frame = GOOD.copy()
    frame.loc[2, "tier"] = None
    with pytest.raises(DataValidationError, match=r"no tier label in column 'tier': rows 4"):
        labelled_texts(frame, text_columns=["subject", "body"], label_columns=LABELS)


def test_rare_classes_are_an_error_unless_dropped_and_reported() -> None:
    frame = pd.concat([GOOD, _frame([("disk", "disk full", "storage", "L1")])], ignore_index=True)
    with pytest.raises(DataValidationError, match="fewer than 2 rows \\(storage\\)"):
        labelled_texts(frame, text_columns=["subject", "body"], label_columns=LABELS)
    data, notes = labelled_texts(
        frame, text_columns=["subject", "body"], label_columns=LABELS, drop_rare=True
    )
    assert "storage" not in data.labels["category"]
    assert len(data.texts) == 4
    assert notes == ["dropped 1 row(s) of 1 rare category class(es): storage"]


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    GOOD.to_csv(path, index=False)
    first = fingerprint(path)
    GOOD.iloc[:3].to_csv(path, index=False)
    assert fingerprint(path) != first


def test_a_windows_1252_csv_is_read_and_the_encoding_said(tmp_path: Path) -> None:
    from triage.training.data import encoding_note

    path = tmp_path / "export.csv"
    path.write_bytes("subject,category\nImprimante bloquée,printers\n".encode("cp1252"))
    frame = read_table(path)
    assert frame["subject"].tolist() == ["Imprimante bloquée"]
    assert encoding_note(frame, path) == (
        "export.csv is not UTF-8: read as cp1252 (detected; --encoding names another)"
    )
    assert encoding_note(read_table(path, "latin-1"), path) == "export.csv read as iso8859-1"
    with pytest.raises(DataValidationError, match="not valid utf-8"):
        read_table(path, "utf-8")
    GOOD.to_csv(tmp_path / "utf8.csv", index=False)
    assert encoding_note(read_table(tmp_path / "utf8.csv"), tmp_path / "utf8.csv") is None
