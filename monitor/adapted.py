"""Where a deployment's adapted model (learned from staff corrections) lives, and how the pipeline picks it up."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock, as before
    fcntl = None

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from detectors.classifier import ModelError, TextClassifier
from detectors.feedback import STATE_FILE, AdaptiveClassifier, ForeignBase, Forgotten, utc_day

from monitor.storage import StorageError
from monitor.storage import corrections as store_corrections

if TYPE_CHECKING:
    from monitor.config import ClassifierSettings, Settings
    from monitor.storage import Store

log = logging.getLogger("stormwatch.adapted")

ADAPTED_DIR_SUFFIX = ".adapted-model"


def load_base(classifier: "ClassifierSettings") -> TextClassifier:
    """The deployment's base model: `classifier.model` (default: the shipped one) with the deployment's own abuse
    terms (`classifier.abuse_terms`). Every command that classifies, corrects or forgets loads it this way, so an
    adapted model always meets the base model it was learned on."""
    return TextClassifier.load(classifier.model, classifier.abuse_terms)


def default_state_dir(database_url: str) -> Path | None:
    """Next to a SQLite file database (stormwatch.db -> stormwatch.adapted-model/); None for other databases."""
    try:
        url = make_url(database_url)
    except Exception:  # noqa: BLE001 - any unparsable URL simply has no default
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    db = Path(url.database).expanduser()
    return db.with_name(db.stem + ADAPTED_DIR_SUFFIX)


def adapted_model_dir(configured: str | None, database_url: str) -> Path | None:
    """The configured directory, else the default next to a SQLite file; None when there is no place for one."""
    return Path(configured).expanduser() if configured else default_state_dir(database_url)


@contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """Hold the adapted model in `directory` for one load-change-save across processes.

    `stormwatch correct`, `stormwatch purge` and the service's hourly purge each load the model, change it and save
    it; a purge rebuild takes seconds (benchmarks/forget_speed.py), and without a lock a correction saved in that
    time would be overwritten. The lock file sits next to the directory, so `correct --reset` can delete the
    directory while holding it.
    """
    lock_path = directory.with_name(directory.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def state_stamp(directory: Path | None) -> tuple[int, int] | None:
    """(mtime_ns, size) of the adapted model's state file, None when there is none: cheap change detection."""
    if directory is None:
        return None
    try:
        stat = (directory / STATE_FILE).stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def load_adapted(base: TextClassifier, directory: Path | None) -> AdaptiveClassifier | None:
    """The adapted model in `directory` on top of `base`, or None (none there, or unusable: logged, never fatal).

    A broken or foreign adapted model must not stop the pipeline: it falls back to the base model and says why.
    """
    if state_stamp(directory) is None:
        return None
    try:
        model = AdaptiveClassifier.load(base, directory)
    except ModelError as exc:
        log.warning("adapted model not used, classifying with the base model: %s", exc)
        return None
    log.info("using the adapted model in %s (%d corrections learned)", directory, model.n_corrections)
    return model


def reset_marker(directory: Path) -> Path:
    """Where `stormwatch correct --reset` noted the last correction it dropped before session 7 (a file beside the
    directory); resets are now recorded in the database (corrections.withdrawn_at), and old markers still count."""
    return directory.with_name(directory.name + ".reset.json")


def reset_watermark(directory: Path) -> int:
    """The id of the last correction before a reset noted in an old marker file (0: none). Raises ModelError if
    the marker cannot be read: guessing 0 would bring back corrections staff dropped."""
    marker = reset_marker(directory)
    try:
        return int(json.loads(marker.read_text(encoding="utf-8"))["after_correction_id"])
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{marker}: unreadable reset marker ({exc}); delete it to relearn every stored correction")


def relearn_stored(base: TextClassifier, stored: Iterable[dict], cutoff: datetime | None = None,
                   hyperparameters: dict | None = None, after_id: int = 0) -> tuple[AdaptiveClassifier, int]:
    """A new adapted model on `base` that learns the stored corrections (`storage.corrections.list_corrections`,
    oldest first) as `stormwatch correct` learned them, and the number learned.

    The corrections table is the record; the adapted model is derived from it and can always be derived again:
    after a base model upgrade (an adapted model only fits the base it was learned on), and when retention
    removes corrections, because the model's own replay buffer holds only the last `reservoir_size` of them.
    Skipped: corrections whose text is erased (nothing to learn from, as when they were made), those withdrawn by
    `correct --reset` (and those up to `after_id`, which a reset before the withdrawn_at column noted in a marker
    file, see reset_watermark) and, with a `cutoff`, those made on or before its UTC day, as
    `AdaptiveClassifier.forget_before` would drop them.
    """
    model = AdaptiveClassifier(base, **(hyperparameters or {}))
    cutoff_day = None if cutoff is None else utc_day(cutoff)
    # A base model without a threat head (a deployment may switch to one) cannot learn threat labels: they are
    # dropped, and a correction that was only about the threat flag is skipped, rather than failing every relearn.
    threat_ok = base.has_kinds
    kept = [(row["text"], row["polarity"], _flag(row["toxic"]), _flag(row["question"]), row["at"],
             _flag(row.get("threat")) if threat_ok else None) for row in stored
            if row["text"] is not None and row.get("withdrawn_at") is None and row["id"] > after_id
            and (cutoff_day is None or utc_day(row["at"]) > cutoff_day)
            and (threat_ok or any(row.get(k) is not None for k in ("polarity", "toxic", "question")))]
    model.learn_many(kept)
    return model, len(kept)


def rebuild(base: TextClassifier, directory: Path, stored: Callable[[], list[dict]], cutoff: datetime,
            still_needed: Callable[[], bool] | None = None) -> tuple[int, int] | None:
    """Replace the adapted model in `directory` by one relearned on `base` from the stored corrections (read under
    the lock, as `stormwatch correct` stores and learns under it) kept by the retention `cutoff` and made since the
    last reset, with the learning settings of the model it replaces (see saved_settings).
    `still_needed` is checked again under the lock (a reset may have come first): None if it says no.
    Returns (corrections learned, corrections stored)."""
    with exclusive(directory):
        if still_needed is not None and not still_needed():
            return None
        rows = stored()
        learned = _relearn_and_save(base, directory, rows, cutoff, saved_settings(base, directory))
    return learned, len(rows)


def saved_settings(base: TextClassifier, directory: Path) -> dict | None:
    """The learning settings saved with the adapted model in `directory`, also when the model itself cannot be used
    (another base model, no gate) and only its settings file can be read; None (the defaults) when there are none
    or they are not valid settings of this version."""
    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        return AdaptiveClassifier(base, **state["hyperparameters"]).hyperparameters()
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def _relearn_and_save(base: TextClassifier, directory: Path, rows: Iterable[dict], cutoff: datetime,
                      hyperparameters: dict | None = None) -> int:
    """relearn_stored with the directory's reset watermark, saved there; the caller holds the lock."""
    model, learned = relearn_stored(base, rows, cutoff, hyperparameters, after_id=reset_watermark(directory))
    model.save(directory)
    return learned


def rebuild_if_outdated(settings: Settings, store: Store, now: datetime) -> tuple[int, int] | None:
    """Relearn the adapted model from the stored corrections when it no longer fits, before the pipeline starts.

    Two cases: (1) after a base model upgrade (or a change of `classifier.model`) it was learned for another base
    model, and the pipeline would fall back to the base model, silently dropping what staff taught it; (2) it was
    saved before the familiarity gate (format v1-v3) and would keep letting corrections of one kind of text move
    the scores of every other kind (benchmarks/FEEDBACK_RESULTS.md). None when there is nothing to do (no adapted
    model, it is current, corrections are switched off, or it is broken in another way, which load_adapted
    reports)."""
    directory = adapted_model_dir(settings.classifier.adapted_model, settings.database.url)
    if not settings.classifier.use_corrections:
        return None
    base = load_base(settings.classifier)

    def outdated() -> bool:
        if state_stamp(directory) is None:
            return False
        try:
            return not AdaptiveClassifier.load(base, directory).gated
        except ForeignBase:
            return True
        except ModelError:
            return False

    if not outdated():  # checked before locking, so a start without an adapted model creates no lock file
        return None
    try:
        return rebuild(base, directory, lambda: store_corrections.list_corrections(store.engine),
                       now - timedelta(days=settings.privacy.raw_text_days), still_needed=outdated)
    except (OSError, ModelError, StorageError, SQLAlchemyError) as exc:  # the service must start anyway
        log.warning("outdated adapted model not relearned (%s); `stormwatch correct --rebuild` does it by hand", exc)
        return None


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def forget_expired_corrections(classifier: "ClassifierSettings", directory: Path | None, cutoff: datetime,
                               stored: Callable[[], Iterable[dict]] | None = None) -> Forgotten:
    """Make the adapted model forget the corrections made on or before `cutoff`'s day (replay items and what the
    learners took from them) and save it if that changed it.

    With `stored` (reads the deployment's stored corrections), the model is relearned from the stored
    corrections that are still kept (`relearn_stored`), so none of them is lost; without it, from its own replay
    buffer (`AdaptiveClassifier.forget_before`), which holds only the most recent ones. Either way nothing of an
    expired correction remains. A model learned on another base model cannot be read; with `stored` it is
    relearned on the current one (Forgotten(0, learned)). Nothing to do when there is no adapted model. Raises
    ModelError when there is one but it cannot be loaded (broken, or foreign without `stored`): the caller decides
    whether that is fatal.
    """
    if state_stamp(directory) is None:  # checked before locking, so no lock file appears without a model
        return Forgotten(0, None)
    base = load_base(classifier)
    with exclusive(directory):
        if state_stamp(directory) is None:  # `correct --reset` got there first
            return Forgotten(0, None)
        try:
            model = AdaptiveClassifier.load(base, directory)
        except ForeignBase:
            if stored is None:
                raise
            # learned on another base model: it cannot be read to forget from, so relearn what may be kept
            return Forgotten(0, _relearn_and_save(base, directory, stored(), cutoff, saved_settings(base, directory)))
        if stored is None:
            forgotten = model.forget_before(cutoff)
            if forgotten.changed:
                model.save(directory)
            return forgotten
        if not model.holds_before(cutoff):
            return Forgotten(0, None)
        # read under the lock: `stormwatch correct` stores and learns under it too
        return Forgotten(model.expired_items(cutoff),
                         _relearn_and_save(base, directory, stored(), cutoff, model.hyperparameters()))


def apply_retention(settings: Settings, now: datetime, state_dir: str | None = None,
                    store: Store | None = None) -> tuple[Forgotten | None, str]:
    """Apply the text retention (`privacy.raw_text_days`) to the deployment's adapted model, as the database purge
    does to stored texts; for `stormwatch purge` and the service's hourly purge, which must both go on when the
    adapted model is broken: (what was forgotten, "") or (None, a warning that says how to drop the corrections).
    With the deployment's `store`, the model is relearned from its stored corrections (see
    forget_expired_corrections).
    """
    directory = Path(state_dir) if state_dir else adapted_model_dir(settings.classifier.adapted_model,
                                                                     settings.database.url)
    cutoff = now - timedelta(days=settings.privacy.raw_text_days)
    try:
        if store is not None:
            try:
                return forget_expired_corrections(settings.classifier, directory, cutoff,
                                                  lambda: store_corrections.list_corrections(store.engine)), ""
            except (StorageError, SQLAlchemyError) as exc:
                # the retention must hold anyway: forget with the model's own replay buffer
                return (forget_expired_corrections(settings.classifier, directory, cutoff),
                        f"stored corrections unreadable ({exc}); the adapted model kept only its replay buffer's")
        return forget_expired_corrections(settings.classifier, directory, cutoff), ""
    except (ModelError, OSError) as exc:
        # a ForeignBase message names --rebuild already
        relearn = "" if isinstance(exc, ForeignBase) else "; `stormwatch correct --rebuild` relearns the kept ones"
        return None, (f"expired corrections not removed from the adapted model ({exc}){relearn}; "
                      "`stormwatch correct --reset` drops them all")
