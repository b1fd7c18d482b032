"""`stormwatch correct`: store a staff correction of a mention's labels and update the deployment's adapted model."""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from detectors.classifier import HEADS, ModelError, TextClassifier
from detectors.feedback import STATE_FILE, AdaptiveClassifier
from monitor.adapted import adapted_model_dir, exclusive, load_base, rebuild
from monitor.config import ConfigError, load_settings
from monitor.storage import StorageError, Store
from monitor.storage import corrections as store_corrections


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"stormwatch correct: {message}", err=True)
    sys.exit(code)


@click.command("correct")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--platform", default=None, help="Platform of the mention, as stored.")
@click.option("--id", "external_id", default=None, help="External id of the mention on that platform.")
@click.option("--polarity", type=click.Choice(["negative", "neutral", "positive"]), default=None)
@click.option("--toxic", type=click.Choice(["0", "1"]), default=None)
@click.option("--question", type=click.Choice(["0", "1"]), default=None)
@click.option("--threat", type=click.Choice(["0", "1"]), default=None,
              help="Is it a threat? 0 clears a wrong \"mögliche Drohung\" flag; 1 also stores toxic=1.")
@click.option("--by", "corrected_by", default=None, help="Who corrected it (free text, optional).")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None,
              help="Directory of the adapted model (default: classifier.adapted_model, else next to a SQLite database file).")
@click.option("--reset", is_flag=True, help="Drop the adapted model; stored corrections are kept.")
@click.option("--rebuild", is_flag=True,
              help="Relearn the adapted model from the stored corrections whose text is still kept "
                   "(after a base model upgrade, or to recover a lost or broken adapted model).")
def correct(
    config_path: str, platform: str | None, external_id: str | None, polarity: str | None, toxic: str | None,
    question: str | None, threat: str | None, corrected_by: str | None, state_dir: str | None, reset: bool,
    rebuild: bool,
) -> None:
    """Correct a mention's labels: store the correction and let the adapted model learn from it."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        _fail(str(exc))
        return
    state = Path(state_dir) if state_dir else adapted_model_dir(settings.classifier.adapted_model, settings.database.url)
    if state is None:
        _fail("the database is not a SQLite file, so there is no default place for the adapted model: set classifier.adapted_model or pass --state-dir")
        return
    if reset and rebuild:
        _fail("--reset and --rebuild exclude each other")
        return
    if reset:
        _reset(settings, state)
        return
    if rebuild:
        _rebuild(settings, state)
        return
    if not platform or not external_id:
        _fail("--platform and --id are required (or --reset, --rebuild)")
        return
    if polarity is None and toxic is None and question is None and threat is None:
        _fail("nothing to correct: give --polarity, --toxic, --question and/or --threat")
        return
    if threat == "1":
        # A threat is toxic by the labels' definition; P(toxic) and the threat flag learn as separate groups, so
        # the toxic label is stored with it rather than left to chance.
        if toxic == "0":
            _fail("--threat 1 with --toxic 0 contradicts itself: a threat counts as toxic")
            return
        toxic = "1"
    try:
        base = load_base(settings.classifier)
    except ModelError as exc:
        _fail(f"{exc}")
        return
    if threat is not None and not base.has_kinds:
        _fail(f"the model {base.info.get('name')!r} has no threat head, so there is no threat flag to correct")
        return
    # Load, learn and save under the lock that `stormwatch purge` also takes (see monitor.adapted.exclusive).
    with exclusive(state):
        _store_and_learn(settings, state, base, platform, external_id, polarity, toxic, question, threat,
                         corrected_by)


def _reset(settings, state: Path) -> None:
    try:
        with exclusive(state):
            with Store.open(settings.database.url) as store:
                # recorded before the model goes, so a rebuild from the stored corrections cannot bring these back
                withdrawn, last = store_corrections.withdraw_corrections(store.engine, datetime.now(timezone.utc))
            existed = (state / STATE_FILE).exists()
            shutil.rmtree(state, ignore_errors=True)
    except (StorageError, SQLAlchemyError) as exc:
        _fail(f"cannot read the stored corrections: {exc}", 1)
        return
    except OSError as exc:
        _fail(f"cannot reset the adapted model in {state}: {exc}", 1)
        return
    click.echo(f"adapted model {'removed' if existed else 'was not there'}: {state}; {withdrawn} stored "
               f"corrections marked withdrawn (up to correction {last}; kept as a record, a rebuild relearns only "
               "later ones)")


def _rebuild(settings, state: Path) -> None:
    try:
        base = load_base(settings.classifier)
    except ModelError as exc:
        _fail(f"{exc}")
        return
    # the text retention applies as in `stormwatch purge`, so a rebuild never brings an expired correction back
    cutoff = datetime.now(timezone.utc) - timedelta(days=settings.privacy.raw_text_days)
    try:
        with Store.open(settings.database.url) as store:
            learned, stored = rebuild(base, state, lambda: store_corrections.list_corrections(store.engine), cutoff)
    except (StorageError, SQLAlchemyError) as exc:
        _fail(f"cannot read the stored corrections: {exc}", 1)
        return
    except ModelError as exc:  # an unreadable reset marker
        _fail(str(exc), 1)
        return
    except OSError as exc:
        _fail(f"cannot write the adapted model to {state}: {exc}", 1)
        return
    click.echo(f"adapted model rebuilt on {base.info.get('name')} {base.info.get('version')}: {learned} of "
               f"{stored} stored corrections learned (the others' texts are erased, past the retention or before "
               f"the last reset); saved to {state}")


def _store_and_learn(settings, state: Path, base: TextClassifier, platform: str, external_id: str,
                     polarity: str | None, toxic: str | None, question: str | None, threat: str | None,
                     corrected_by: str | None) -> None:
    try:
        model = AdaptiveClassifier.load(base, state) if (state / STATE_FILE).exists() else AdaptiveClassifier(base)
    except ModelError as exc:
        _fail(f"{exc}")
        return
    if not model.gated:
        click.echo("note: this adapted model predates the familiarity gate; `stormwatch correct --rebuild` adds it "
                   "(`stormwatch run` does so at start)")
    # one time for the stored correction and the reservoir item, so `stormwatch purge` ages both out together
    now = datetime.now(timezone.utc)
    try:
        with Store.open(settings.database.url) as store:
            found, text = store_corrections.mention_text(store.engine, platform, external_id)
            if not found:
                _fail(f"no mention {platform}/{external_id} in {store.url_masked}", 1)
                return
            correction_id = store_corrections.add_correction(
                store.engine, platform=platform, external_id=external_id, text=text, polarity=polarity,
                toxic=None if toxic is None else toxic == "1", question=None if question is None else question == "1",
                threat=None if threat is None else threat == "1",
                corrected_by=corrected_by, at=now,
            )
    except StorageError as exc:
        _fail(str(exc), 1)
        return
    click.echo(f"correction {correction_id} stored for {platform}/{external_id}")
    if text is None:
        # labels without text cannot teach a text model; saying so is better than pretending
        click.echo("the mention's text has been erased, so the adapted model cannot learn from this correction")
        return
    before = model.predict([text])
    model.learn_one(text, polarity=polarity, toxic=None if toxic is None else int(toxic),
                    question=None if question is None else int(question), at=now,
                    threat=None if threat is None else int(threat))
    after = model.predict([text])
    model.save(state)
    for head in HEADS:
        old, new = float(getattr(before, head)[0]), float(getattr(after, head)[0])
        click.echo(f"  {head:<9} {old:.3f} -> {new:.3f}")
    if before.kinds is not None:
        click.echo(f"  {'threat':<9} {float(before.kinds['threat'][0]):.3f} -> {float(after.kinds['threat'][0]):.3f}")
    click.echo(f"  sentiment {before.sentiment()[0]} -> {after.sentiment()[0]}")
    click.echo(f"adapted model saved to {state} ({model.n_corrections} corrections learned)")
