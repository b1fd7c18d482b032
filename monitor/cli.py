"""The `stormwatch` command line: one function per command, thin wrappers over the modules that do the work."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from monitor.config import ConfigError, Settings, check_settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO_ROOT / "config" / "demo.yaml"
DEMO_STREAM = Path(__file__).resolve().parent / "demo" / "stream.jsonl"


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"stormwatch: {message}", err=True)
    sys.exit(code)


def _settings(path: str | Path) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable; keeps type checkers calm


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log warnings about rejected input and more.")
def main(verbose: bool) -> None:
    """stormwatch: early warning and crisis monitoring for the social-media teams of public authorities."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


@main.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
def check_config(file: str) -> None:
    """Validate a configuration file; errors name the file, the key and the problem."""
    try:
        settings = load_settings(file)
    except ConfigError as exc:
        _fail(f"configuration invalid:\n{exc}", 1)
        return
    problems = check_settings(settings, file)
    if problems:
        click.echo("\n".join(problems), err=True)
        sys.exit(1)
    click.echo(
        f"{file}: ok ({len(settings.scopes)} scopes, {len(settings.collectors)} collectors, "
        f"{len(settings.notifications.targets)} notification targets)"
    )


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=str(DEMO_CONFIG), show_default=True)
@click.option("--input", "input_path", type=click.Path(dir_okay=False), default=str(DEMO_STREAM), show_default=True)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on standard error.")
def demo(config_path: str, input_path: str, progress: bool) -> None:
    """Replay the bundled German sample stream through the whole chain and print the alerts as they fire."""
    from monitor.demo_runner import run_demo

    sys.exit(run_demo(_settings(config_path), Path(input_path), progress=progress))


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--database", default="sqlite://", show_default=True, help="SQLAlchemy URL to keep the replayed data in.")
@click.option("--format", "input_format", type=click.Choice(["jsonl", "csv"]), default=None)
@click.option("--rejected", "rejected_path", type=click.Path(dir_okay=False), default=None,
              help="Where to keep rejected input lines (default: OUT.rejected.jsonl, only if there are any).")
@click.option("--progress/--no-progress", default=False)
def backtest(
    config_path: str, input_path: str, out_path: str, database: str, input_format: str | None,
    rejected_path: str | None, progress: bool,
) -> None:
    """Run the whole pipeline on a recorded stream and write one JSON object per alert event (no notifications)."""
    from monitor.replay import run_backtest

    settings = _settings(config_path)
    result = run_backtest(
        settings, Path(input_path), Path(out_path), database_url=database, progress=progress,
        rejected_path=Path(rejected_path) if rejected_path else None, input_format=input_format,
    )
    stats = result.stats
    click.echo(
        f"{stats.records} records, {stats.stored} mentions, {stats.rejected} rejected, {stats.duplicates} duplicates, "
        f"{result.events} alert events in {result.seconds:.1f} s ({result.mentions_per_second:,.0f} mentions/s)",
        err=True,
    )


@main.command()
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None, help="Model directory (default: shipped).")
@click.option("--jsonl", is_flag=True, help="Input lines are JSON objects with a 'text' field.")
@click.option("--batch-size", default=4096, show_default=True)
@click.option("--abuse-terms", type=click.Path(dir_okay=False), default=None,
              help="TSV file of your own abuse terms (format of detectors/data/abuse_de.tsv), added to the model's "
                   "abuse lexicon without retraining.")
def classify(model_dir: str | None, jsonl: bool, batch_size: int, abuse_terms: str | None) -> None:
    """Classify texts from standard input, one per line; write one JSON object per line."""
    from monitor.classify_cmd import classify_stream

    sys.exit(classify_stream(sys.stdin, sys.stdout, sys.stderr, model_dir=model_dir, jsonl=jsonl, batch_size=batch_size,
                             abuse_terms=abuse_terms))


@main.command("detect-series")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Default: standard output.")
def detect_series_command(file: str, out_path: str | None) -> None:
    """Run the volume detector online over timestamp,value rows; write timestamp,value,anomaly_score."""
    from monitor.series import SeriesError, detect_series, read_series

    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            rows, problems = [], []
            for item in read_series(handle, file):
                if len(item) == 2:
                    problems.append(item[1])
                else:
                    rows.append(item[1:])
    except (SeriesError, UnicodeDecodeError) as exc:
        _fail(str(exc), 1)
        return
    for problem in problems[:20]:
        click.echo(f"stormwatch: skipped {problem}", err=True)
    out = open(out_path, "w", encoding="utf-8", newline="") if out_path else sys.stdout
    try:
        out.write("timestamp,value,anomaly_score\n")
        for stamp, value, score in detect_series(rows):
            out.write(f"{stamp},{value:g},{score:.6f}\n")
    finally:
        if out_path:
            out.close()


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--host", default=None, help="Default: web.host from the configuration.")
@click.option("--port", default=None, type=int, help="Default: web.port from the configuration.")
def run(config_path: str, host: str | None, port: int | None) -> None:
    """The long-running service: collectors, pipeline, web UI and /metrics."""
    from monitor.service import run_service

    sys.exit(run_service(_settings(config_path), host=host, port=port))


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--state-dir", type=click.Path(file_okay=False), default=None,
              help="Adapted model kept elsewhere (as with `stormwatch correct --state-dir`).")
def purge(config_path: str, state_dir: str | None) -> None:
    """Apply the retention rules now: erase old texts, delete old mentions and buckets, and make the adapted
    model forget the corrections older than the text retention (their replay items and what it learned)."""
    from datetime import datetime, timezone

    from monitor.adapted import apply_retention
    from monitor.storage import Store

    settings = _settings(config_path)
    now = datetime.now(timezone.utc)
    store = Store.open(settings.database.url)
    try:
        counts = store.purge_expired(now, settings.privacy)
        # The database purge above is done and must not fail because of a broken model file; null = "not applied".
        # The model is relearned from the corrections the purge kept.
        forgotten, warning = apply_retention(settings, now, state_dir, store)
    finally:
        store.close()
    if warning:
        click.echo(f"stormwatch purge: warning: {warning}", err=True)
    click.echo(json.dumps({**counts, "replay_items_forgotten": forgotten.items if forgotten else None,
                           "corrections_relearned": forgotten.relearned if forgotten else None}))


def _register_optional_commands() -> None:
    """Commands that live in their own modules (one module per command keeps cli.py a table of contents)."""
    from monitor.correct_cmd import correct
    from monitor.evaluate_cmd import evaluate
    from monitor.train_cmd import train

    main.add_command(correct)
    main.add_command(evaluate)
    main.add_command(train)


_register_optional_commands()

if __name__ == "__main__":
    main()
