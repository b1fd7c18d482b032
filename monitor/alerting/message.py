"""The alert message: what is happening, why, how bad, which playbook and who is on it – compact, German first."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from monitor.domain import AlertEvent, Sample

if TYPE_CHECKING:
    from monitor.playbooks import Playbook

SAMPLE_CHARS = 140
MAX_SAMPLES = 3
MAX_TERMS = 6

# Shitstorm-Skala (Graf & Schwede, 2012), short names as they fit a phone screen.
LEVEL_NAMES: dict[str, tuple[str, ...]] = {
    "de": (
        "ruhig",
        "vereinzelte Kritik",
        "wiederholte Kritik",
        "anhaltende Kritik / Ausweitung",
        "Protestgruppen / Echo auf allen Kanälen",
        "Sturm",
        "Orkan",
    ),
    "en": (
        "calm",
        "isolated criticism",
        "repeated criticism",
        "sustained criticism / spreading",
        "protest groups / echo on all channels",
        "storm",
        "hurricane",
    ),
}
KIND_NAMES: dict[str, dict[str, str]] = {
    "de": {"shitstorm": "Shitstorm", "question_surge": "Informationsbedarf (Großlage)", "candystorm": "Candystorm"},
    "en": {
        "shitstorm": "Shitstorm",
        "question_surge": "Information demand (major incident)",
        "candystorm": "Candystorm",
    },
}
EVENT_NAMES: dict[str, dict[str, str]] = {
    "de": {"opened": "Alarm", "escalated": "Verschärfung", "updated": "Update", "resolved": "Entwarnung"},
    "en": {"opened": "Alert", "escalated": "Escalation", "updated": "Update", "resolved": "All clear"},
}
EVENT_SENTENCES: dict[str, dict[str, str]] = {
    "de": {
        "opened": "Alarm geöffnet",
        "escalated": "Lage verschärft sich",
        "updated": "Lage entspannt sich etwas, Alarm bleibt offen",
        "resolved": "Lage beruhigt – Alarm beendet",
    },
    "en": {
        "opened": "Alert opened",
        "escalated": "Situation is escalating",
        "updated": "Situation easing, alert stays open",
        "resolved": "Situation calm – alert resolved",
    },
}
LABELS: dict[str, dict[str, str]] = {
    "de": {
        "scope": "Bereich",
        "level": "Stufe {level} von 6 auf der Shitstorm-Skala: {name}",
        "peak": "Höchststand bisher: Stufe {peak}",
        "why": "Warum",
        "assessment": "Einordnung",
        "terms": "Begriffe",
        "samples": "Stimmen",
        "playbook": "Playbook",
        "owners": "Zuständig",
        "ack": "Bestätigen und Verlauf",
        "at": "{date} um {time} Uhr",
        "posts": "{count} {noun}",
        "posts_in": "{count} {noun} in {minutes} Min.",
        "noun": ("Beitrag", "Beiträge"),
        "usual_count": "üblich: {expected}",
        "ratio": "{ratio}-fach",
        "negative": "{share} negativ",
        "usual": "üblich {share}",
        "toxic": "{share} beleidigend/bedrohlich",
        "threats": ("1 Beitrag mit möglicher Drohung – prüfen", "{n} Beiträge mit möglicher Drohung – prüfen"),
        "questions": "{share} Fragen",
        "positive": "{share} positiv",
        "new_authors": "{share} neue Absender",
        "platforms": "auf {n} Plattformen",
        "platform": "auf 1 Plattform",
        "no_playbook": "(Playbook {id} nicht gefunden)",
        "fired": "Auffällig",
    },
    "en": {
        "scope": "Scope",
        "level": "Level {level} of 6 on the Shitstorm scale: {name}",
        "peak": "Peak so far: level {peak}",
        "why": "Why",
        "assessment": "Assessment",
        "terms": "Terms",
        "samples": "Sample posts",
        "playbook": "Playbook",
        "owners": "Owners",
        "ack": "Acknowledge and timeline",
        "at": "{date} at {time}",
        "posts": "{count} {noun}",
        "posts_in": "{count} {noun} in {minutes} min",
        "noun": ("post", "posts"),
        "usual_count": "usual: {expected}",
        "ratio": "{ratio}x",
        "negative": "{share} negative",
        "usual": "usual {share}",
        "toxic": "{share} insulting/threatening",
        "threats": ("1 post with a possible threat – check it", "{n} posts with a possible threat – check them"),
        "questions": "{share} questions",
        "positive": "{share} positive",
        "new_authors": "{share} new authors",
        "platforms": "on {n} platforms",
        "platform": "on 1 platform",
        "no_playbook": "(playbook {id} not found)",
        "fired": "Notable",
    },
}


# One fired signal in plain words: {value} and {baseline} are already formatted (shares in %, counts as numbers).
SIGNAL_WORDS: dict[str, dict[str, str]] = {
    "de": {
        "volume": "deutlich mehr Beiträge als üblich ({value} statt {baseline})",
        "negative": "ungewöhnlich viel Kritik ({value} negativ, üblich {baseline})",
        "toxic": "beleidigender oder bedrohlicher Ton ({value}, üblich {baseline})",
        "questions": "viele Fragen ({value}, üblich {baseline})",
        "positive": "viel Zuspruch ({value} positiv, üblich {baseline})",
        "new_author": "viele neue Absender ({value}, üblich {baseline})",
        "copy_paste": "gleichlautende Texte, Copy-Paste-Kampagne ({value}, üblich {baseline})",
        "spread": "greift auf eine weitere Plattform über ({value} Beiträge statt {baseline})",
    },
    "en": {
        "volume": "far more posts than usual ({value} instead of {baseline})",
        "negative": "an unusual amount of criticism ({value} negative, usually {baseline})",
        "toxic": "insulting or threatening tone ({value}, usually {baseline})",
        "questions": "many questions ({value}, usually {baseline})",
        "positive": "a lot of praise ({value} positive, usually {baseline})",
        "new_author": "many new authors ({value}, usually {baseline})",
        "copy_paste": "identical texts, copy-paste campaign ({value}, usually {baseline})",
        "spread": "spreading to another platform ({value} posts instead of {baseline})",
    },
}
_COUNT_SIGNALS = frozenset({"volume", "spread"})

# The detectors and the decider word their reasons in German (detectors.storm.storm_level, ScopeStormScorer,
# alerting.decide); an English message translates them phrase by phrase, longest first, so that a phrase that
# contains another ("seit ... wieder ruhig" and "ruhig") is taken whole. tests/test_detection_consistency.py
# renders every reason the code can produce and checks that no German is left.
REASON_PHRASES_EN: tuple[tuple[str, str], ...] = (
    (r"feindselige Welle: deutlich mehr Beiträge als üblich und deutlich negativer",
     "hostile wave: far more posts than usual and far more negative"),
    (r"mehr Beiträge als üblich, Stimmung nicht auffällig: kein Shitstorm",
     "more posts than usual, mood not unusual: no Shitstorm"),
    (r"Welle von Fragen: Informationsbedarf, keine feindselige Stimmung",
     "wave of questions: people need information, no hostile mood"),
    (r"Welle von Zuspruch \(Candystorm\)", "wave of support (Candystorm)"),
    (r"Kritik gehäuft, Menge unter der Sturmschwelle", "criticism piling up, volume below the storm threshold"),
    (r"Menge seit der letzten Meldung mehr als verdoppelt", "volume more than doubled since the last report"),
    (r"neue Welle nach einer Pause", "new wave after a pause"),
    (r"Lage wird feindselig", "situation turning hostile"),
    (r"seit (\d+) Minuten wieder ruhig \(Stufe (\d+)\)", r"calm again for \1 minutes (level \2)"),
    (r"geplantes Ereignis: ([^ ]+)-faches Volumen erwartet", r"planned event: \1x the usual volume expected"),
    (r"Stufe erhöht: ", "level raised: "),
    (r"Stufe begrenzt: ", "level capped: "),
    (r"Copy-Paste-Kampagne", "copy-paste campaign"),
    (r"viele neue Absender", "many new authors"),
    (r"Ausbreitung auf weitere Plattformen", "spreading to further platforms"),
    (r"nur auf einer Plattform", "on one platform only"),
    (r"Kritiker nicht in der Mehrheit", "critics not in the majority"),
    (r"Ton nicht überwiegend aggressiv", "tone not mostly aggressive"),
    (r"Einlernphase", "learning phase"),
    (r"ruhig", "calm"),
)
_REASON_PATTERNS = tuple((re.compile(german), english) for german, english in REASON_PHRASES_EN)


def translate_reason(reason: str, language: str = "de") -> str:
    """The reason in the message's language; a phrase the table does not know stays German.

    >>> translate_reason("Lage wird feindselig – Welle von Zuspruch (Candystorm) (Stufe erhöht: Copy-Paste-Kampagne)",
    ...                  "en")
    'situation turning hostile – wave of support (Candystorm) (level raised: copy-paste campaign)'
    """
    if _language(language) != "en":
        return reason
    for pattern, english in _REASON_PATTERNS:
        reason = pattern.sub(english, reason)
    return reason


def explain_fired(explanation: Any, language: str = "de") -> str:
    """The signals that fired, in plain words with value and baseline; "" without an explanation.

    Takes an Explanation or its JSON (as stored with the alert event), so the web page can use it too.
    """
    lang = _language(language)
    if explanation is None:
        return ""
    signals = explanation.get("signals", []) if isinstance(explanation, Mapping) else explanation.signals
    words = SIGNAL_WORDS[lang]
    parts = []
    for signal in signals:
        get = signal.get if isinstance(signal, Mapping) else lambda key, s=signal: getattr(s, key)
        name = get("name")
        if not get("fired") or name not in words:
            continue
        if name in _COUNT_SIGNALS:
            value, baseline = format_number(get("value"), lang, 0), format_number(get("baseline"), lang)
        else:
            value, baseline = format_share(get("value"), lang), format_share(get("baseline"), lang)
        parts.append(words[name].format(value=value, baseline=baseline))
    return "; ".join(parts)


def alert_url(base_url: str, alert_id: str) -> str:
    """The alert page, where the team acknowledges and follows the timeline."""
    return f"{base_url.rstrip('/')}/alerts/{alert_id}"


def base_url_of(playbook_url: str) -> str:
    """The web base from a playbook link (…/playbooks/<id>), the only address an AlertEvent carries."""
    head, sep, _ = playbook_url.rstrip("/").rpartition("/playbooks/")
    return head if sep else playbook_url.rstrip("/")


def _language(language: str) -> str:
    return "en" if language == "en" else "de"


def level_name(level: int, language: str = "de") -> str:
    names = LEVEL_NAMES[_language(language)]
    return names[max(0, min(level, len(names) - 1))]


def kind_name(kind: str, language: str = "de") -> str:
    return KIND_NAMES[_language(language)].get(kind, kind)


def format_number(value: float, language: str, digits: int = 1) -> str:
    """A decimal as people write it: 20,3 in German, 20.3 in English; whole numbers without decimals."""
    text = f"{value:.0f}" if float(value).is_integer() or digits == 0 else f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "de" else text


def format_share(value: float, language: str) -> str:
    # German typography puts a (narrow) space before the percent sign; a plain space survives every channel
    return f"{round(value * 100)} %" if language == "de" else f"{round(value * 100)}%"


def format_time(moment: datetime, zone: ZoneInfo, language: str) -> str:
    local = moment.astimezone(zone)
    if language == "de":
        return LABELS["de"]["at"].format(date=local.strftime("%d.%m.%Y"), time=local.strftime("%H:%M"))
    return LABELS["en"]["at"].format(date=local.strftime("%Y-%m-%d"), time=local.strftime("%H:%M %Z"))


def explain_signals(signals: Mapping[str, float], language: str = "de") -> str:
    """The numbers behind the level against the usual level; only the signals that are present."""
    lang = _language(language)
    t = LABELS[lang]
    parts: list[str] = []
    if "count" in signals:
        count = format_number(signals["count"], lang, 0)
        minutes = signals.get("window_minutes")
        noun = t["noun"][0 if round(signals["count"]) == 1 else 1]
        if minutes:
            volume = t["posts_in"].format(count=count, noun=noun, minutes=format_number(minutes, lang, 0))
        else:
            volume = t["posts"].format(count=count, noun=noun)
        if "expected" in signals:
            volume += f" ({t['usual_count'].format(expected=format_number(signals['expected'], lang, 0))})"
        if "volume_ratio" in signals:
            volume += f" – {t['ratio'].format(ratio=format_number(signals['volume_ratio'], lang))}"
        parts.append(volume)
    elif "volume_ratio" in signals:
        parts.append(t["ratio"].format(ratio=format_number(signals["volume_ratio"], lang)))
    if "negative_share" in signals:
        negative = t["negative"].format(share=format_share(signals["negative_share"], lang))
        if "usual_negative_share" in signals:
            negative += f" ({t['usual'].format(share=format_share(signals['usual_negative_share'], lang))})"
        parts.append(negative)
    for key, label in (("toxic_share", "toxic"), ("question_share", "questions"), ("positive_share", "positive"),
                       ("new_author_share", "new_authors")):
        if key in signals:
            parts.append(t[label].format(share=format_share(signals[key], lang)))
        if key == "toxic_share" and signals.get("threats"):
            n = int(signals["threats"])
            parts.append(t["threats"][0] if n == 1 else t["threats"][1].format(n=n))
    if "platforms" in signals:
        n = int(signals["platforms"])
        parts.append(t["platform"] if n == 1 else t["platforms"].format(n=n))
    return "; ".join(parts)


def shorten(text: str, limit: int = SAMPLE_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word boundary where possible."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _sample_line(sample: Sample, language: str) -> str:
    quoted = f"„{shorten(sample.text)}“" if language == "de" else f"\"{shorten(sample.text)}\""
    flag = (" – mögliche Drohung" if language == "de" else " – possible threat") if sample.possible_threat else ""
    return f"– {quoted} ({sample.platform}){flag}"


def render_title(event: AlertEvent, language: str = "de") -> str:
    lang = _language(language)
    what = EVENT_NAMES[lang].get(event.event, event.event)
    level = "Stufe" if lang == "de" else "level"
    where = "bei" if lang == "de" else "at"
    return f"{what}: {kind_name(event.kind, lang)} {where} {event.scope} – {level} {event.level}"


def render_message(
    event: AlertEvent,
    playbook: Playbook | None,
    *,
    language: str = "de",
    zone: ZoneInfo = ZoneInfo("Europe/Berlin"),
) -> tuple[str, str]:
    """(title, body) of the notification for one alert event, in German unless language is "en"."""
    lang = _language(language)
    t = LABELS[lang]
    lines = [
        f"{kind_name(event.kind, lang)} – {t['scope']} „{event.scope}“" if lang == "de"
        else f"{kind_name(event.kind, lang)} – {t['scope']} \"{event.scope}\"",
        f"{EVENT_SENTENCES[lang].get(event.event, event.event)}: {format_time(event.at, zone, lang)}",
        t["level"].format(level=event.level, name=level_name(event.level, lang)),
    ]
    if event.peak_level > event.level:
        lines.append(t["peak"].format(peak=event.peak_level))
    fired = explain_fired(event.explanation, lang) if event.event != "resolved" else ""
    if fired:
        lines.append(f"{t['fired']}: {fired}")
    why = explain_signals(event.signals, lang)
    if why:
        lines.append(f"{t['why']}: {why}")
    if event.reason:
        lines.append(f"{t['assessment']}: {translate_reason(event.reason, lang)}")
    if event.top_terms:
        lines.append(f"{t['terms']}: {', '.join(event.top_terms[:MAX_TERMS])}")
    if event.samples and event.event != "resolved":
        lines.append(f"{t['samples']}:")
        lines.extend(_sample_line(s, lang) for s in event.samples[:MAX_SAMPLES])
    title_of_playbook = playbook.text("title", lang) if playbook else t["no_playbook"].format(id=event.playbook)
    lines.append(f"{t['playbook']}: {title_of_playbook}")
    lines.append(event.playbook_url)
    if event.owners:
        lines.append(f"{t['owners']}: {'; '.join(event.owners)}")
    lines.append(f"{t['ack']}: {alert_url(base_url_of(event.playbook_url), event.alert_id)}")
    return render_title(event, lang), "\n".join(lines)
