"""`stormwatch demo`: the bundled German sample stream through the whole chain, alerts printed as they fire."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from monitor.config import Settings
from monitor.domain import AlertEvent
from monitor.playbooks import load_playbooks
from monitor.replay import RejectedReport, print_event, replay


def _fresh_sqlite(url: str) -> None:
    """The demo starts from an empty database each time; otherwise idempotent inserts would hide the replay."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def run_demo(settings: Settings, stream_path: Path, *, progress: bool = True, out: IO[str] | None = None) -> int:
    stream = out or sys.stdout
    playbooks = load_playbooks(settings.playbooks_dir)
    _fresh_sqlite(settings.database.url)
    stream.write(
        "stormwatch demo – Birkenfelde, 9.–13. März 2026 (fiktiv)\n"
        f"Stream: {stream_path}\nDatenbank: {settings.database.url}\n"
    )
    stream.flush()
    fired: list[AlertEvent] = []

    def show(event: AlertEvent) -> None:
        fired.append(event)
        print_event(event, settings, playbooks, stream)

    rejected = RejectedReport(None)  # the demo database keeps them in its rejected_inputs table
    result = replay(settings, stream_path, database_url=settings.database.url, on_event=show, progress=progress,
                    progress_label="Demo", on_rejected=rejected)
    rejected.close()
    stats = result.stats
    opened = [e for e in fired if e.event == "opened"]
    seconds = f"{result.seconds:.1f}".replace(".", ",")
    rate = f"{result.mentions_per_second:,.0f}".replace(",", ".")  # German digit grouping
    stream.write(
        f"\nFertig: {stats.records} Beiträge in {seconds} s ({rate}/s), {stats.rejected} verworfen, "
        f"{len(opened)} Alarme geöffnet, {len(fired)} Alarm-Ereignisse.\n"
    )
    for event in opened:
        history = [e for e in fired if e.alert_id == event.alert_id]
        peak = max(e.peak_level for e in history)
        # an alert can change its kind (a question surge that turns hostile) and its playbook (an escalation that
        # turns to hate speech): show each in the order it had them
        kind, playbook = (" → ".join(_changes(getattr(e, field) for e in history)) for field in ("kind", "playbook"))
        stream.write(f"  - {event.scope}: {kind}, Playbook {playbook}, Höchststufe {peak}\n")
    stream.write(
        "Weiter: `stormwatch run --config config/demo.yaml` zeigt Alarme und Playbooks unter "
        f"{settings.web.base_url}\n"
    )
    return 0


def _changes(values) -> list[str]:
    """The values without consecutive repeats: a → b → a stays as it happened."""
    out: list[str] = []
    for value in values:
        if not out or out[-1] != value:
            out.append(value)
    return out
