"""Storage against real databases: every test runs on a SQLite file and on a throwaway PostgreSQL server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from detectors.storm import SignalExplanation
from monitor.config import PrivacySettings
from monitor.domain import (
    AlertEvent, Bucket, Explanation, Mention, NotificationRecord, RejectedInput, Sample, StormAssessment,
)
from monitor.storage import StorageError, Store
from monitor.storage import engine as db
from monitor.storage.schema import metadata

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=timezone.utc)
APP_TABLES = {t.name for t in metadata.sorted_tables}


def mention(i: int, *, scope: str = "stadt", at: datetime = T0, text: str | None = None, platform: str = "fb") -> Mention:
    return Mention(
        platform=platform,
        external_id=f"id-{i}",
        created_at=at,
        text=text if text is not None else f"Kommentar {i}",
        scope=scope,
        author=f"p-{i % 7}",
        metrics={"likes": i},
        negative=0.7,
        neutral=0.2,
        positive=0.1,
        toxic=0.05,
        question=0.3,
    )


def alert_event(event: str, at: datetime, level: int, alert_id: str = "a-1") -> AlertEvent:
    return AlertEvent(
        event=event, alert_id=alert_id, at=at, scope="stadt", kind="shitstorm", level=level, peak_level=max(level, 4),
        playbook="empoerungswelle", playbook_url="http://localhost:8080/playbooks/empoerungswelle",
        owners=["Pressestelle: A. Muster"], reason=f"{event} at level {level}", signals={"volume_ratio": 6.5},
        opened_at=T0,
    )


# -- schema and migrations ------------------------------------------------------------------------


def schema_diff(store: Store) -> list:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_migrations_produce_exactly_the_orm_schema(store: Store) -> None:
    assert schema_diff(store) == []
    tables = set(inspect(store.engine).get_table_names())
    assert tables == APP_TABLES | {"alembic_version"}


def test_schema_diff_detects_a_difference(store: Store) -> None:
    # the no-diff assertion above is only worth something if a real difference shows up
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_buckets_start")
    assert any(d[0] == "add_index" for d in schema_diff(store))


def test_downgrade_to_base_and_upgrade_again(store: Store) -> None:
    db.downgrade(store.engine, "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(store.engine)
    assert schema_diff(store) == []


def test_open_twice_is_a_no_op_migration(database_url: str) -> None:
    Store.open(database_url).close()
    with Store.open(database_url) as again:
        assert again.count_mentions() == 0


# -- mentions ---------------------------------------------------------------------------------------


def test_insert_is_idempotent(store: Store) -> None:
    batch = [mention(i) for i in range(50)]
    assert store.insert_mentions(batch) == {("fb", f"id-{i}") for i in range(50)}
    assert store.insert_mentions(batch) == set()
    assert store.count_mentions() == 50


def test_overlapping_batches_return_only_new_keys(store: Store) -> None:
    store.insert_mentions([mention(i) for i in range(0, 30)])
    new = store.insert_mentions([mention(i) for i in range(20, 40)])
    assert new == {("fb", f"id-{i}") for i in range(30, 40)}
    assert store.count_mentions() == 40


def test_same_id_on_another_platform_is_another_mention(store: Store) -> None:
    store.insert_mentions([mention(1, platform="fb")])
    assert store.insert_mentions([mention(1, platform="mastodon")]) == {("mastodon", "id-1")}


def test_duplicate_inside_one_batch_is_stored_once(store: Store) -> None:
    new = store.insert_mentions([mention(1, text="erste"), mention(1, text="zweite"), mention(2)])
    assert new == {("fb", "id-1"), ("fb", "id-2")}
    assert store.count_mentions() == 2
    texts = [r["text"] for r in store.mention_texts("stadt", T0, T0 + timedelta(seconds=1))]
    assert "erste" in texts and "zweite" not in texts


def test_large_batch(store: Store) -> None:
    batch = [mention(i, at=T0 + timedelta(milliseconds=i)) for i in range(5000)]
    assert len(store.insert_mentions(batch)) == 5000
    assert len(store.insert_mentions(batch[2500:] + [mention(9999)])) == 1
    assert store.count_mentions("stadt") == 5001


def test_text_round_trip_unicode_emoji_and_huge(store: Store) -> None:
    texts = {
        1: "Grüße aus Köln – „Bürgeramt“ ß ÄÖÜ 😡🔥👎🏽 👨‍👩‍👧 עברית 中文",
        2: "x" * 1_000_000 + "ende",
        3: "Zeile 1\nZeile 2\t\"quoted\" 'single' \\ backslash; DROP TABLE mentions;--",
    }
    store.insert_mentions([mention(i, text=t, at=T0 + timedelta(seconds=i)) for i, t in texts.items()])
    rows = store.mention_texts("stadt", T0, T0 + timedelta(minutes=1))
    assert {r["external_id"]: r["text"] for r in rows} == {f"id-{i}": t for i, t in texts.items()}


def test_text_that_postgres_would_refuse_is_cleaned_not_fatal(store: Store) -> None:
    new = store.insert_mentions([mention(1, text="nul\x00byte"), mention(2, text="lone \ud800 surrogate"), mention(3)])
    assert len(new) == 3
    texts = sorted(r["text"] for r in store.mention_texts("stadt", T0, T0 + timedelta(seconds=1)))
    assert texts == ["Kommentar 3", "lone ? surrogate", "nul\ufffdbyte"]


def test_mention_fields_and_times_come_back_in_utc(store: Store) -> None:
    berlin = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 14, 9, 30, tzinfo=berlin)
    store.insert_mentions([mention(1, at=local)])
    rows = store.mention_texts("stadt", T0, T0 + timedelta(hours=1))
    assert len(rows) == 1
    row = rows[0]
    assert row["created_at"] == datetime(2026, 3, 14, 8, 30, tzinfo=timezone.utc)
    assert row["created_at"].utcoffset() == timedelta(0)
    assert row["sentiment"] == "negative" and row["negative"] == pytest.approx(0.7)
    assert "author" not in row


def test_mention_texts_filters_scope_and_window(store: Store) -> None:
    store.insert_mentions([
        mention(1, at=T0 - timedelta(seconds=1)),
        mention(2, at=T0),
        mention(3, at=T0 + timedelta(minutes=5)),
        mention(4, at=T0 + timedelta(minutes=1), scope="andere"),
        mention(5, at=T0 + timedelta(minutes=2)),
    ])
    rows = store.mention_texts("stadt", T0, T0 + timedelta(minutes=5))
    assert [r["external_id"] for r in rows] == ["id-2", "id-5"]
    assert store.count_mentions("andere") == 1


# -- buckets ----------------------------------------------------------------------------------------


def bucket(count: int, *, start: datetime = T0, scope: str = "stadt") -> Bucket:
    return Bucket(scope=scope, start=start, end=start + timedelta(minutes=5), count=count, negative=count * 0.6,
                  positive=1.5, toxic=0.5, questions=2.0, unique_authors=count - 1, new_authors=3, duplicates=1,
                  reach=10_000_000_000, platforms={"fb": count})


def test_bucket_upsert_overwrites(store: Store) -> None:
    store.save_buckets([bucket(10)])
    assessment = StormAssessment(scope="stadt", at=T0, level=4, kind="shitstorm", signals={"ratio": 7.5}, reason="x")
    store.save_buckets([bucket(12), bucket(3, start=T0 + timedelta(minutes=5))], [assessment, None])
    rows = store.buckets("stadt", T0, T0 + timedelta(hours=1))
    assert [(r["count"], r["level"], r["kind"]) for r in rows] == [(12, 4, "shitstorm"), (3, 0, None)]
    first = rows[0]
    assert first["width_seconds"] == 300 and first["start"] == T0
    assert first["signals"] == {"ratio": 7.5} and first["platforms"] == {"fb": 12}
    assert first["negative"] == pytest.approx(7.2) and first["reach"] == 10_000_000_000


def test_bucket_key_repeated_in_one_call_keeps_the_last(store: Store) -> None:
    store.save_buckets([bucket(1), bucket(2)])
    assert [r["count"] for r in store.buckets("stadt", T0, T0 + timedelta(hours=1))] == [2]


def test_buckets_and_assessments_must_align(store: Store) -> None:
    with pytest.raises(ValueError):
        store.save_buckets([bucket(1)], [])


# -- alerts -----------------------------------------------------------------------------------------


def test_alert_events_upsert_status_and_keep_timeline(store: Store) -> None:
    ids = [store.record_alert_event(alert_event("opened", T0, 3))]
    assert [a["id"] for a in store.open_alerts()] == ["a-1"]
    ids.append(store.record_alert_event(alert_event("escalated", T0 + timedelta(minutes=5), 5)))
    ids.append(store.record_alert_event(alert_event("resolved", T0 + timedelta(minutes=40), 1)))
    assert ids == sorted(ids) and len(set(ids)) == 3

    alert = store.get_alert("a-1")
    assert alert is not None
    assert alert["status"] == "resolved" and alert["level"] == 1
    assert alert["opened_at"] == T0 and alert["resolved_at"] == T0 + timedelta(minutes=40)
    assert alert["owners"] == ["Pressestelle: A. Muster"] and alert["acknowledged_at"] is None
    assert store.open_alerts() == []

    timeline = store.alert_events("a-1")
    assert [e["event"] for e in timeline] == ["opened", "escalated", "resolved"]
    assert [e["id"] for e in timeline] == ids
    assert timeline[1]["payload"]["level"] == 5 and timeline[1]["payload"]["at"] == "2026-03-14T08:05:00Z"
    assert timeline[1]["signals"] == {"volume_ratio": 6.5}


def test_recent_alerts_newest_first_and_unknown_alert(store: Store) -> None:
    store.record_alert_event(alert_event("opened", T0, 3, alert_id="old"))
    store.record_alert_event(alert_event("opened", T0 + timedelta(hours=1), 4, alert_id="new"))
    assert [a["id"] for a in store.recent_alerts()] == ["new", "old"]
    assert [a["id"] for a in store.recent_alerts(limit=1)] == ["new"]
    assert store.get_alert("missing") is None and store.alert_events("missing") == []


# -- notification log, checkpoints, rejected input --------------------------------------------------


def test_notification_log(store: Store) -> None:
    store.record_alert_event(alert_event("opened", T0, 3))
    ok = NotificationRecord("a-1", "opened", "teams", "msteams://***@host", T0, True, 1, "level 3 >= route min 3")
    failed = NotificationRecord("a-1", "opened", "mail", "mailto://***@x", T0 + timedelta(seconds=2), False, 3,
                                "route", error="timeout")
    store.log_notification(ok)
    store.log_notification(failed)
    store.log_notification(NotificationRecord("b-2", "opened", "teams", "t", T0, True, 1, "r"))
    rows = store.notification_log("a-1")
    assert [(r["target_id"], r["success"], r["attempts"], r["error"]) for r in rows] == [
        ("teams", True, 1, None), ("mail", False, 3, "timeout")]
    assert len(store.notification_log()) == 3


def test_checkpoints(store: Store) -> None:
    assert store.get_checkpoint("replay") is None
    store.set_checkpoint("replay", "line:10", now=T0)
    store.set_checkpoint("replay", "line:20", now=T0 + timedelta(minutes=1))
    store.set_checkpoint("other", "cursor-ä😀")
    assert store.get_checkpoint("replay") == "line:20"
    assert store.get_checkpoint("other") == "cursor-ä😀"


def test_rejected_inputs_are_kept_and_truncated(store: Store) -> None:
    store.record_rejected(RejectedInput("file.jsonl", 3, "created_at: missing", '{"id": 1}'), now=T0)
    store.record_rejected(RejectedInput("webhook", None, "not JSON", "ä" * 80_000 + "\x00"), now=T0)
    rows = store.rejected_inputs()
    assert [r["source"] for r in rows] == ["webhook", "file.jsonl"]
    assert rows[1]["line"] == 3 and rows[1]["raw"] == '{"id": 1}' and rows[1]["at"] == T0
    assert len(rows[0]["raw"].encode("utf-8")) == 100_000 and rows[0]["raw"] == "ä" * 50_000


# -- retention ---------------------------------------------------------------------------------------


def test_purge_expired_erases_and_deletes_by_age(store: Store) -> None:
    now = T0 + timedelta(days=400)
    privacy = PrivacySettings(raw_text_days=30, mention_days=365, bucket_days=390)
    store.insert_mentions([
        mention(1, at=now - timedelta(days=2)),  # recent: untouched
        mention(2, at=now - timedelta(days=31)),  # text erased
        mention(3, at=now - timedelta(days=366)),  # deleted
    ])
    store.save_buckets([bucket(5, start=now - timedelta(days=391)), bucket(6, start=now - timedelta(days=389))])
    store.record_rejected(RejectedInput("f", 1, "bad", "Max Mustermann schrieb"), now=now - timedelta(days=31))
    store.record_rejected(RejectedInput("f", 2, "bad", "neu"), now=now - timedelta(days=1))
    old_alert = alert_event("opened", now - timedelta(days=31), 4, alert_id="old")
    old_alert.samples = [Sample("facebook", "Ihr seid alle Versager", None, 0.9, 0.8),
                         Sample("facebook", "Wir finden euch", None, 0.9, 0.7, possible_threat=True)]
    old_alert.explanation = Explanation([SignalExplanation("negative", 0.8, 0.3, 6.0, True)])
    new_alert = alert_event("opened", now - timedelta(days=1), 4, alert_id="new")
    new_alert.samples = [Sample("facebook", "Frische Kritik", None, 0.9, 0.1)]
    store.record_alert_event(old_alert)
    store.record_alert_event(new_alert)
    from monitor.storage import corrections

    corrections.add_correction(store.engine, platform="fb", external_id="id-2", text="Max schrieb: Mist",
                               polarity="negative", at=now - timedelta(days=31))

    counts = store.purge_expired(now, privacy)

    assert counts == {"mentions_deleted": 1, "texts_erased": 1, "buckets_deleted": 1, "rejected_deleted": 1,
                      "alert_samples_erased": 1, "correction_texts_erased": 1}
    assert store.alert_events("old")[0]["payload"]["samples"] == []
    assert store.alert_events("old")[0]["payload"]["threat_samples"] == []
    assert "Versager" not in json.dumps(store.alert_events("old")[0]["payload"], ensure_ascii=False)  # no copy left
    assert store.alert_events("old")[0]["payload"]["explanation"]["fired"] == ["negative"]
    assert store.alert_events("new")[0]["payload"]["samples"] == ["Frische Kritik"]
    assert store.alert_events("new")[0]["payload"]["threat_samples"] == []
    assert store.count_mentions() == 2
    window = store.mention_texts("stadt", now - timedelta(days=100), now)
    assert [r["external_id"] for r in window] == ["id-1"]  # id-2 is still there, but without text
    with store.engine.connect() as conn:
        erased = conn.exec_driver_sql("SELECT text, text_erased FROM mentions WHERE external_id = 'id-2'").one()
    assert erased[0] is None and bool(erased[1]) is True
    assert [b["count"] for b in store.buckets("stadt", T0, now)] == [6]
    assert [r["raw"] for r in store.rejected_inputs()] == ["neu"]
    assert store.purge_expired(now, privacy) == dict.fromkeys(counts, 0)


# -- opening ------------------------------------------------------------------------------------------


def test_in_memory_sqlite_works() -> None:
    with Store.open("sqlite://") as memory:
        assert memory.insert_mentions([mention(1), mention(2)]) == {("fb", "id-1"), ("fb", "id-2")}
        assert memory.insert_mentions([mention(2)]) == set()
        assert memory.count_mentions() == 2
        assert schema_diff(memory) == []


def test_sqlite_file_uses_wal_and_foreign_keys(tmp_path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'sw.db'}") as opened:
        with opened.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "deep" / "dir" / "sw.db").exists()


def test_bad_postgres_url_names_database_without_password() -> None:
    url = "postgresql://stormwatch:s3cr3t-pw@127.0.0.1:1/stormwatch"
    with pytest.raises(StorageError) as caught:
        Store.open(url)
    message = str(caught.value)
    assert "s3cr3t-pw" not in message
    assert "stormwatch:***@127.0.0.1:1/stormwatch" in message


def test_wrong_password_is_not_echoed(postgres_server) -> None:
    # trust auth accepts any password, so ask for a database that does not exist instead
    url = postgres_server.url("no_such_db").replace("postgres@", "postgres:hunter2@")
    with pytest.raises(StorageError) as caught:
        Store.open(url)
    assert "hunter2" not in str(caught.value) and "no_such_db" in str(caught.value)


@pytest.mark.parametrize("url", ["not a url", "nosuchdialect://x/y"])
def test_malformed_url_gives_storage_error(url: str) -> None:
    with pytest.raises(StorageError, match="cannot open"):
        Store.open(url)


def test_unwritable_sqlite_path_gives_storage_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError) as caught:
        Store.open(f"sqlite:///{blocker / 'sub' / 'x.db'}")
    assert str(blocker) in str(caught.value)
