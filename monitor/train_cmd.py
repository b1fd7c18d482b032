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


def default_model_command(out: str, germeval2018: str | None, corpus: str | None, seed: int, *,
                          threats: str | None = None, stdout: IO[str] | None = None,
                          stderr: IO[str] | None = None) -> int:
    """Rebuild the shipped model (all heads, GermEval 2018 + the project corpus) into `out`; exit code as above.

    The threat labels name corpus lines, so the shipped threat file goes with the shipped corpus only: with
    another --corpus and no --threats the model is built without the kinds of toxicity."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    from detectors.lexicon import LexiconError
    from detectors.training import DEFAULT_CORPUS, DEFAULT_GERMEVAL2018, DEFAULT_THREATS, train_default_model

    germeval2018 = germeval2018 or str(DEFAULT_GERMEVAL2018)
    own_corpus = corpus is not None and pathlib.Path(corpus).resolve() != DEFAULT_CORPUS.resolve()
    corpus = corpus or str(DEFAULT_CORPUS)
    if threats is None and own_corpus:
        stderr.write("stormwatch train: --corpus without --threats: building no kinds-of-toxicity heads "
                     "(the shipped threat labels refer to lines of the shipped corpus)\n")
    elif threats is None:
        threats = str(DEFAULT_THREATS)
    for what, path in (("--germeval2018", germeval2018), ("--corpus", corpus), ("--threats", threats)):
        if path is not None and not pathlib.Path(path).is_file():
            stderr.write(f"stormwatch train: {what} {path}: no such file\n")
            return 2
    stderr.write(f"stormwatch train: rebuilding the default model from {germeval2018} and {corpus} "
                 f"(seed {seed}, 5-fold CV, about a minute) ...\n")
    try:
        metrics = train_default_model(out, germeval2018, corpus, seed, threats_path=threats)
    except (ValueError, LexiconError) as exc:  # malformed training files name file and line
        stderr.write(f"stormwatch train: {exc}\n")
        return 2
    except OSError as exc:
        stderr.write(f"stormwatch train: cannot write model to {out}: {exc}\n")
        return 2
    stdout.write(json.dumps({"task": "default-model", "out": out, "cv_metrics": metrics}, ensure_ascii=False) + "\n")
    return 0


@click.command("train")
@click.option("--task", type=click.Choice(TASKS), default=None, help="Which head to train.")
@click.option("--data", type=click.Path(dir_okay=False), default=None, help="Labelled training file.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Layout of the training file.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Directory for the new model.")
@click.option("--base", type=click.Path(file_okay=False), default=None,
              help="Model whose other heads are copied (default: the shipped model).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the cross-validation folds.")
@click.option("--default-model", is_flag=True,
              help="Rebuild the shipped model (all heads) from GermEval 2018 and the project corpus instead.")
@click.option("--germeval2018", type=click.Path(dir_okay=False), default=None,
              help="With --default-model: GermEval 2018 training file (default: ../shared/data/germeval2018/...).")
@click.option("--corpus", type=click.Path(dir_okay=False), default=None,
              help="With --default-model: the project corpus (default: detectors/data/comments_de.tsv).")
@click.option("--threats", type=click.Path(dir_okay=False), default=None,
              help="With --default-model: threat labels (default with the shipped corpus: "
                   "detectors/data/threats_de.tsv).")
def train(task: str | None, data: str | None, fmt: str | None, out: str, base: str | None, seed: int,
          default_model: bool, germeval2018: str | None, corpus: str | None, threats: str | None) -> None:
    """Train one head (polarity, toxicity or question) on your own labelled data.

    The result is a complete model directory: the other heads come unchanged from --base.
    Formats: germeval2018 (text TAB OFFENSE|OTHER TAB fine), germeval2017 (url TAB text TAB relevance TAB
    sentiment [TAB aspects]), germeval2021 (CSV with comment_text, Sub1_Toxic), csv (header with `text` and
    `polarity` = negative|neutral|positive, `toxic` = 0|1 or `question` = 0|1; comma, semicolon or tab).

    With --default-model it rebuilds the shipped model instead (see MODEL_CARD.md): byte-identical for the same
    data, seed and library versions.
    """
    if default_model:
        if task or data or fmt or base:
            raise click.UsageError("--default-model trains every head from fixed data: leave out --task, --data, "
                                   "--format and --base")
        sys.exit(default_model_command(out, germeval2018, corpus, seed, threats=threats))
    missing = [name for name, value in (("--task", task), ("--data", data), ("--format", fmt)) if value is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or use --default-model)")
    sys.exit(train_command(task, data, fmt, out, base, seed))
