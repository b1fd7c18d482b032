"""Where a deployment's adapted model (learned from staff corrections) lives, and how the pipeline picks it up."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock, as before
    fcntl = None

from sqlalchemy.engine import make_url

from detectors.classifier import ModelError, TextClassifier
from detectors.feedback import STATE_FILE, AdaptiveClassifier, Forgotten

if TYPE_CHECKING:
    from monitor.config import Settings

log = logging.getLogger("stormwatch.adapted")

ADAPTED_DIR_SUFFIX = ".adapted-model"


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


def forget_expired_corrections(model_dir: str | None, directory: Path | None, cutoff: datetime) -> Forgotten:
    """Make the adapted model forget the corrections made on or before `cutoff`'s day (replay items and what the
    learners took from them, see AdaptiveClassifier.forget_before) and save it if that changed it.

    Nothing to do when there is no adapted model. Raises ModelError when there is one but it cannot be loaded
    (broken, or learned for another base model): the caller decides whether that is fatal.
    """
    if state_stamp(directory) is None:  # checked before locking, so no lock file appears without a model
        return Forgotten(0, None)
    base = TextClassifier.load(model_dir)
    with exclusive(directory):
        if state_stamp(directory) is None:  # `correct --reset` got there first
            return Forgotten(0, None)
        model = AdaptiveClassifier.load(base, directory)
        forgotten = model.forget_before(cutoff)
        if forgotten.changed:
            model.save(directory)
    return forgotten


def apply_retention(settings: Settings, now: datetime, state_dir: str | None = None) -> tuple[Forgotten | None, str]:
    """Apply the text retention (`privacy.raw_text_days`) to the deployment's adapted model, as the database purge
    does to stored texts; for `stormwatch purge` and the service's hourly purge, which must both go on when the
    adapted model is broken: (what was forgotten, "") or (None, a warning that says how to drop the corrections).
    """
    directory = Path(state_dir) if state_dir else adapted_model_dir(settings.classifier.adapted_model,
                                                                     settings.database.url)
    try:
        return forget_expired_corrections(settings.classifier.model, directory,
                                          now - timedelta(days=settings.privacy.raw_text_days)), ""
    except (ModelError, OSError) as exc:
        return None, (f"expired corrections not removed from the adapted model ({exc}); "
                      "`stormwatch correct --reset` drops them")
