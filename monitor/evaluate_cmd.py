"""`stormwatch evaluate`: check the deployment's model on a labelled sample of its own stream before trusting it."""

from __future__ import annotations

import json
import sys
from typing import IO

import click
import numpy as np

from detectors.classifier import ModelError, TextClassifier
from detectors.datasets import FORMATS, TASKS, DatasetError, load_dataset


def _describe(enricher, texts: list[str]) -> dict:
    info = enricher.classifier.info
    model = {"name": info.get("name"), "version": info.get("version"), "adapted": enricher.adapted}
    if enricher.adapted:
        model["corrections_learned"] = enricher.scorer.n_corrections
        # How far the corrections reach this sample: what they taught applies to a text in proportion to its
        # familiarity (detectors.feedback._FamiliarityGate); a sample unlike the corrections is scored by the
        # shipped model, whatever the corrections were.
        familiarity = enricher.scorer.familiarity(texts)
        model["familiarity"] = {"median": round(float(np.median(familiarity)), 4) if len(texts) else None,
                                "share_at_least_half": round(float(np.mean(familiarity >= 0.5)), 4)
                                if len(texts) else None}
    return model


def evaluate_command(task: str, data: str, fmt: str, enricher, *, stdout: IO[str] | None = None,
                     stderr: IO[str] | None = None) -> int:
    """Scores the sample with the enricher's model (base or adapted) and writes one JSON report; 0 done,
    2 bad input (file and line on stderr, no traceback)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    from detectors.evaluation import evaluate_scores  # imports scikit-learn: off the start-up path of other commands

    try:
        # a sample may lack a class entirely (an authority labelling 100 comments may find no positive one)
        dataset = load_dataset(data, fmt, task, min_per_class=0)
    except DatasetError as exc:
        stderr.write(f"stormwatch evaluate: {exc}\n")
        return 2
    scores = enricher.scorer.predict(dataset.texts)
    calibration = enricher.classifier.info.get("calibration", {})
    threshold = scores.toxic_threshold if task == "toxicity" else float(
        (calibration.get("question") or {}).get("threshold", 0.5))
    report = evaluate_scores(task, scores, dataset.labels, threshold)
    stdout.write(json.dumps({"task": task, "data": {"file": data, "format": fmt, "rows": len(dataset),
                                                    "classes": dataset.class_counts()},
                             "model": _describe(enricher, dataset.texts), **report}, ensure_ascii=False) + "\n")
    for warning in report["warnings"]:
        stderr.write(f"stormwatch evaluate: warning: {warning}\n")
    return 0


@click.command("evaluate")
@click.option("--task", type=click.Choice(TASKS), required=True, help="Which head to check.")
@click.option("--data", type=click.Path(dir_okay=False), required=True, help="Labelled sample (as for `train`).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="Layout of the sample file.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model directory (default: the shipped model).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Evaluate what this deployment classifies with: its model and, unless switched off, the model "
                   "adapted by its staff corrections.")
def evaluate(task: str, data: str, fmt: str, model_dir: str | None, config_path: str | None) -> None:
    """Check a model on your own labelled comments: accuracy, GermEval macro-F1, the majority baseline, and how far
    its probabilities (which the detectors add up) are from the true shares. Nothing is trained."""
    from monitor.enrich import Enricher

    if model_dir and config_path:
        raise click.UsageError("give --model or --config, not both")
    try:
        if config_path:
            from monitor.config import ConfigError, load_settings
            from monitor.pipeline import enricher_from

            try:
                enricher = enricher_from(load_settings(config_path))
            except ConfigError as exc:
                click.echo(f"stormwatch evaluate: {exc}", err=True)
                sys.exit(2)
        else:
            enricher = Enricher(TextClassifier.load(model_dir))
    except ModelError as exc:
        click.echo(f"stormwatch evaluate: {exc}", err=True)
        sys.exit(2)
    sys.exit(evaluate_command(task, data, fmt, enricher))
