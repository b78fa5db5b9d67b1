"""A short, honest model card written into every artifact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from triage.training.evaluation_plan import CROSS_VALIDATION, LEAVE_ONE_OUT

# Methods that score every ticket rather than a held-out part.
_CROSS_VALIDATION = (LEAVE_ONE_OUT, CROSS_VALIDATION)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def render_model_card(
    *,
    version: str,
    embedder: Mapping[str, Any],
    text_columns: Sequence[str],
    label_columns: Mapping[str, str],
    training_data: Mapping[str, Any],
    metrics: Mapping[str, Any],
) -> str:
    """Markdown describing what the model is, what it was trained on and how well it does."""
    split = metrics["split"]
    cross_validated = split["method"] in _CROSS_VALIDATION
    lines = [
        f"# Model card: triage {version}",
        "",
        *_what_it_does(text_columns, label_columns),
        "",
        *_how(embedder, metrics["heads"]),
        "",
        "## Training data",
        f"- File `{training_data['file']}` (sha256 `{str(training_data['sha256'])[:16]}…`), "
        f"{training_data['rows_used']} of {training_data['rows']} rows used.",
        *_sample_line(training_data.get("sample")),
        _evaluation_line(split),
        "",
        *_results(metrics["heads"], split["method"], cross_validated),
        "",
        *_served_body(metrics.get("onnx_embedder")),
        *_decisions(metrics["heads"], cross_validated),
        *_no_auto_lines(metrics),
        *_slices(metrics["heads"]),
        "",
        "## What this model can promise",
        "",
        *(
            f"- {head}: {report['promise']['statement']}"
            for head, report in metrics["heads"].items()
            if "promise" in report
        ),
        "",
        *_limits(cross_validated),
        "",
    ]
    return "\n".join(lines)


def _what_it_does(text_columns: Sequence[str], label_columns: Mapping[str, str]) -> list[str]:
    return [
        "## What it does",
        "Classifies a helpdesk ticket ("
        + " + ".join(text_columns)
        + ") into "
        + ", ".join(f"**{head}** (column `{col}`)" for head, col in label_columns.items())
        + ", each with a calibrated probability and the full distribution over labels.",
    ]


def _how(embedder: Mapping[str, Any], heads: Mapping[str, Any]) -> list[str]:
    """The body, the heads' recipe, and each head's tuning and refinement."""
    return [
        "## How",
        f"- Embedding body: `{embedder.get('name')}` ({embedder.get('kind')}, "
        f"{embedder.get('dim')} dimensions), loaded from local files.",
        "- Each head: word 1–2-gram and character 2–5-gram TF-IDF beside the sentence embedding, "
        "a linear SVM, probabilities by temperature scaling fitted on out-of-fold scores.",
        *(
            f"- {head}: C={r['tuning']['chosen']['C']}, class weight "
            f"{r['tuning']['chosen']['class_weight'] or 'none'} (best out-of-fold macro-F1 "
            f"of {len(r['tuning']['candidates'])} settings on the training part)."
            for head, r in heads.items()
            if "tuning" in r
        ),
        *(
            _refinement_line(head, r["refinement"])
            for head, r in heads.items()
            if "refinement" in r
        ),
    ]


def _results(heads: Mapping[str, Any], method: str, cross_validated: bool) -> list[str]:
    """Each head's accuracy, macro-F1 and calibration beside the two baselines."""
    lines = [
        f"## {method.capitalize() if cross_validated else 'Held-out'} results",
        "",
        "| head | accuracy | macro-F1 | TF-IDF+LR baseline acc / macro-F1 | majority acc | ECE |",
        "|---|---|---|---|---|---|",
    ]
    for head, report in heads.items():
        base = report["baselines"]["tfidf_logreg"]
        lines.append(
            f"| {head} | {_pct(report['accuracy'])} | {report['macro_f1']:.3f} | "
            f"{_pct(base['accuracy'])} / {base['macro_f1']:.3f} | "
            f"{_pct(report['baselines']['majority']['accuracy'])} | "
            f"{report['calibration']['ece']:.3f} |"
        )
    return lines


def _decisions(heads: Mapping[str, Any], cross_validated: bool) -> list[str]:
    """How thresholds are set, and the share and precision of each decision per head."""
    lines = [
        f"## Decisions on the {'evaluated' if cross_validated else 'held-out'} tickets",
        "",
        "Per-class thresholds are set on out-of-fold predictions of the training part: a class's "
        "threshold is the lowest confidence at which a one-sided 95 % lower confidence bound "
        "(Clopper–Pearson) on its precision still meets the target, so the promise is not "
        "resting on the rows that chose it. A class without that much evidence never decides "
        "automatically. Before any `auto`, the auto gate checks the ticket has enough "
        "informative words the training tickets use, resembles at least one training ticket, "
        "and lies near the training tickets of the label the head predicts (limits below). `auto` "
        "acts on the label, `suggest` shows it to staff, `review` abstains (a human triages).",
        "",
        "| head | target precision | auto: share / precision (n) | suggest: share / precision "
        "| review: share | classes without a threshold |",
        "|---|---|---|---|---|---|",
    ]
    for head, report in heads.items():
        points = report["operating_points"]
        test = points["test"]
        never = sorted(label for label, t in points["thresholds"].items() if t is None)
        lines.append(
            f"| {head} | {points['target_precision']:.2f} | {_pct(test['auto']['share'])} / "
            f"{_pct(test['auto']['precision'])} ({test['auto'].get('n', '–')}) | "
            f"{_pct(test['suggest']['share'])} / "
            f"{_pct(test['suggest']['precision'])} | {_pct(test['review']['share'])} | "
            f"{', '.join(never) or 'none'} |"
        )
    return lines


def _slices(heads: Mapping[str, Any]) -> list[str]:
    """One table per head and slice column (e.g. language)."""
    lines: list[str] = []
    for head, report in heads.items():
        for column, groups in report.get("slices", {}).items():
            lines += ["", f"### {head} by {column}", "", "| value | n | accuracy | macro-F1 |"]
            lines.append("|---|---|---|---|")
            for value, group in groups.items():
                lines.append(
                    f"| {value} | {group['n']} | {_pct(group['accuracy'])} | "
                    f"{group['macro_f1']:.3f} |"
                )
    return lines


def _served_body(check: Mapping[str, Any] | None) -> list[str]:
    """What the body the service runs (ONNX, without torch) scores, beside the training
    body's figures above; why int8 was refused, when it was."""
    if not check:
        return []
    lines = [
        f"### Served through the {check['precision']} ONNX body",
        "",
        f"The figures above come from the training body; the service runs the "
        f"{check['precision']} ONNX export. On the same {check['on']}:",
        "",
        "| head | accuracy served (Δ points) | macro-F1 served (Δ points) | same label |",
        "|---|---|---|---|",
    ]
    for head, c in check["heads"].items():
        macro = (
            f"{c['onnx']['macro_f1']:.3f} ({c['macro_f1_delta_points']:+.2f})"
            if "macro_f1_delta_points" in c
            else f"{c['onnx']['macro_f1']:.3f}"
        )
        lines.append(
            f"| {head} | {_pct(c['onnx']['accuracy'])} ({c['accuracy_delta_points']:+.2f}) | "
            f"{macro} | {_pct(c['same_label_share'])} |"
        )
    if refused := check.get("int8_refused"):
        lines += ["", f"The int8 export was refused: it {refused['why']}."]
    return [*lines, ""]


def _limits(cross_validated: bool) -> list[str]:
    return [
        "## Limits",
        f"- Figures come from {'the folds' if cross_validated else 'one held-out split'} of "
        "the training file; they describe tickets like those, not a different helpdesk's.",
        "- Classes with few examples have noisy per-class figures; see `metrics.json`.",
        "- `auto` precision is promised per class at 95 % confidence on tickets like the "
        "training data; on another helpdesk's tickets, measure it again (`triage evaluate`).",
    ]


def _evaluation_line(split: Mapping[str, Any]) -> str:
    """How the figures below were measured: held out, or by cross-validation and why."""
    if split["method"] in _CROSS_VALIDATION:
        return (
            f"- Evaluation: {split['method']} over all {split['n_train']} tickets, "
            f"{split['folds']} fits ({split['why']}). Every fit repeats the whole recipe, "
            "thresholds included, without the tickets it scores; the shipped heads are fitted "
            "on all of them."
        )
    return (
        "- Held-out evaluation: "
        + (
            f"the separate file `{split['test_file']}`"
            if split["method"] == "test file"
            else f"stratified split on `{split['stratify_on']}`, seed {split['seed']}"
        )
        + f"; {split['n_train']} train / {split['n_test']} test. "
        + (
            f"The served heads were then fitted on all {split['n_train'] + split['n_test']} "
            "tickets, the held-out ones included; the figures below are those of the heads "
            "fitted without them, the estimate for the served ones."
            if split.get("refit")
            else "The shipped heads are the ones evaluated (fitted on the training part only)."
        )
        + _unseen_sentence(split)
    )


def _unseen_sentence(split: Mapping[str, Any]) -> str:
    unseen = split.get("test_rows_unseen", 0)
    if not unseen:
        return ""
    return (
        f" {unseen} row(s) of the test file carry labels never trained (dropped as rare, or "
        "absent from the data file) and are left out of these figures."
    )


def _no_auto_lines(metrics: Mapping[str, Any]) -> list[str]:
    """The auto gate's limits, and why each class without a threshold has none."""
    lines: list[str] = []
    gate = metrics.get("auto_gate")
    if gate:
        lines += ["", _gate_sentence(gate)]
    for head, report in metrics["heads"].items():
        reasons = report["operating_points"].get("no_auto", {})
        if reasons:
            lines += ["", f"Classes of **{head}** that are never decided automatically:"]
            lines += [f"- `{label}`: {why}" for label, why in sorted(reasons.items())]
    return lines


def _refinement_line(head: str, refinement: Mapping[str, Any]) -> str:
    """How a head's answers are refined after it, and what that changed on held-out data."""
    alone = refinement["head_alone"]
    if refinement.get("mode") == "cold start":
        how = f"cold start ({refinement['why']}): answers by the class-centroid vote alone"
    elif refinement["vote_weight"] > 0:
        how = (
            f"a vote of the {refinement['vote_k']} nearest training tickets blended in at "
            f"weight {refinement['vote_weight']} (best out-of-fold macro-F1)"
        )
    else:
        how = "no neighbour vote (it did not help out of fold)"
    return (
        f"- {head}: {how}; calibration: {refinement['calibration']}. The head alone on the "
        f"same held-out tickets: accuracy {_pct(alone['accuracy'])}, macro-F1 "
        f"{alone['macro_f1']:.3f}, ECE {alone['ece']:.3f}."
    )


def _gate_sentence(gate: Mapping[str, Any]) -> str:
    """The auto gate's limits in words (the distance check: format 2 models only)."""
    similarity = gate.get("min_similarity")
    known = " that at least two training tickets use" if gate.get("vocabulary_words") else ""
    sentence = (
        f"Auto gate: at least {gate['min_informative_words']} informative word(s){known} "
        "(stop and filler words of English and Bahasa Indonesia do not count) and "
        + (
            f"similarity at least {similarity:.2f} to the nearest training ticket"
            if similarity is not None
            else "no similarity limit (too few training tickets to fit one)"
        )
        + f"; each limit is the {gate['quantile']:.0%} quantile over the training tickets, "
        f"out of fold. It refused {_pct(gate.get('test_refused'))} of the held-out tickets."
    )
    for head, check in gate.get("distances", {}).items():
        fitted = check["fitted_on"]
        sentence += (
            f" **{head}** decides automatically only within Mahalanobis distance "
            f"{check['max_distance']:.1f} of the training tickets of the label it predicts "
            "(Ledoit–Wolf covariance shared by the labels): the smallest limit that, out of "
            f"fold, takes at most {fitted['budget']:.1%} of the training tickets away from "
            f"`auto` and turns away at most {fitted['max_turned_away']:.0%} of them (it turned "
            f"away {fitted['turned_away']:.1%}, {fitted['auto_cost']:.1%} from `auto`)."
        )
    return sentence


def _sample_line(sample: Mapping[str, Any] | None) -> list[str]:
    """Training on a stratified sample (``triage train --max-tickets``), said."""
    if not sample:
        return []
    return [
        f"- Heads trained on a stratified sample: {sample['rows']} of {sample['of']} rows "
        f"(by `{sample['by']}`; cap {sample['max_tickets']})."
    ]
