"""`stormwatch train`: retrain one classifier head on an authority's own labelled file into a new model directory."""

from __future__ import annotations

import json
import pathlib
import sys
from typing import IO

import click

from detectors.classifier import ModelError, default_model_dir
from detectors.datasets import FORMATS, TASKS, DatasetError, load_dataset


def train_command(task: str, data: str, fmt: str, out: str, base: str | None = None, seed: int = 0, *,
                  stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Returns an exit code: 0 done, 2 bad input (message on stderr, never a traceback)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    # sklearn's import is slow; keep it off the start-up path of every other stormwatch command.
    from detectors.training import train_task

    out_path = pathlib.Path(out)
    # The shipped model is rebuilt only by the documented full training; a custom head must not silently replace it.
    if out_path.resolve() == default_model_dir().resolve():
        stderr.write(f"stormwatch train: refusing to overwrite the shipped model in {out_path}; choose another --out\n")
        return 2
    if out_path.exists() and not out_path.is_dir():
        stderr.write(f"stormwatch train: --out {out_path} exists and is not a directory\n")
        return 2
    try:
        dataset = load_dataset(data, fmt, task)
        stderr.write(f"stormwatch train: {len(dataset)} examples from {data} ({dataset.class_counts()}), "
                     f"training head {task!r} (5-fold CV for C, calibration and threshold) ...\n")
        metrics = train_task(task, dataset, out_path, base, seed)
    except (DatasetError, ModelError) as exc:
        stderr.write(f"stormwatch train: {exc}\n")
        return 2
    except OSError as exc:
        stderr.write(f"stormwatch train: cannot write model to {out_path}: {exc}\n")
        return 2
    stdout.write(json.dumps({"task": task, "out": str(out_path), "cv_metrics": metrics}, ensure_ascii=False) + "\n")
    stderr.write(f"stormwatch train: model written to {out_path}; use it with `stormwatch classify --model {out_path}`\n")
    return 0


@click.command("train")
@click.option("--task", type=click.Choice(TASKS), required=True, help="Which head to train.")
@click.option("--data", type=click.Path(dir_okay=False), required=True, help="Labelled training file.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="Layout of the training file.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Directory for the new model.")
@click.option("--base", type=click.Path(file_okay=False), default=None,
              help="Model whose other heads are copied (default: the shipped model).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the cross-validation folds.")
def train(task: str, data: str, fmt: str, out: str, base: str | None, seed: int) -> None:
    """Train one head (polarity, toxicity or question) on your own labelled data.

    The result is a complete model directory: the other heads come unchanged from --base.
    Formats: germeval2018 (text TAB OFFENSE|OTHER TAB fine), germeval2017 (url TAB text TAB relevance TAB
    sentiment [TAB aspects]), germeval2021 (CSV with comment_text, Sub1_Toxic), csv (header with `text` and
    `polarity` = negative|neutral|positive, `toxic` = 0|1 or `question` = 0|1; comma, semicolon or tab).
    """
    sys.exit(train_command(task, data, fmt, out, base, seed))
