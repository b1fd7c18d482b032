"""Does the classifier mistake a topic for a sentiment, or a group of people for abuse?

A text that only mentions an everyday topic of an authority ("Bus 12", "#Glasfaser", "Neue Kita in der Weststadt")
must not count as negative, and one that only mentions a group of people or a party ("Migranten", "Die Grünen",
"Der Stadtrat tagt am Dienstag") must not count as toxic: both would move the shares the detectors watch (a storm
faked by the topic of the day) and would flag harmless comments about refugees or parties as hate. Two measurements:

1. **Template probe** (after Dixon et al. 2018, "Measuring and Mitigating Unintended Bias in Text Classification"):
   neutral carrier texts, each filled with each word of a list. Every probe text is neutral and harmless by
   construction, so every "negative" or "toxic" call is an error. The lists and templates below were fixed in
   session 12 after probing model 0.5.2 by hand and before any model was trained against the problem. The
   ``*_NAMED`` lists were given to the writers of corpus rounds 9 and 9b, and the named topics were picked among
   the words 0.5.2 got most wrong (so their before-numbers are a worst case); the ``*_UNNAMED`` ones were given to
   nobody, so they show whether a fix carries over (several occur in older corpus rows, and the writers of round 9
   used 12 of the 30 topic words anyway). New corpus rows equal to a probe text were dropped; a test keeps it so.
2. **Held-out texts** (``benchmarks/data/topic_heldout_de.tsv``: the corpus columns and a ``kind`` column,
   ``group`` for rows about groups of people, parties, councils or politicians, else ``topic``): 240 realistic
   comments and posts, 32 of them toxic (real abuse, slurs and threats), written in session 12 by a separate writer
   on its own brief who saw neither the corpus nor round 9; our own writing, CC BY 4.0. tests/test_classifier.py
   checks that no text is in the corpus.

Usage: PYTHONPATH=. python benchmarks/topic_bias.py [--model DIR ...]
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
from sklearn.metrics import f1_score

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.heldout import polarity_report, run, toxic_report  # noqa: E402
from detectors.classifier import POLARITY_LABELS, TextClassifier  # noqa: E402
from detectors.corpus import load_corpus  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "data" / "topic_heldout_de.tsv"

TOPICS_NAMED = (
    "Bus", "Stadt", "Rathaus", "Bürgermeister", "Baustelle", "Kita", "Digitalisierung", "Gebühren", "Wasser",
    "Schule", "Ampel", "Radweg", "Bürgerbüro", "Formular", "Kindergarten", "Spielplatz", "Friedhof", "Bibliothek",
    "Steuer", "Müll", "Gemeinderat", "Stadtrat", "Verwaltung", "Amt", "Jobcenter", "Ausländerbehörde", "Fahrplan",
    "Ticket", "Deutschlandticket", "Glasfaser", "Hitze", "Verspätung", "Umleitung", "Wahl", "Stadtwerke", "Termin",
    "Parkplatz", "Fahrrad", "Straße", "Heizung", "Fernwärme", "Solaranlage", "Klassenzimmer", "Warteschleife",
    "Rechnung", "Mülltonnen", "Bahnsteig", "Schalter", "Beamte", "Kommunikation")
TOPICS_UNNAMED = (
    "Zug", "Straßenbahn", "U-Bahn", "Haltestelle", "Bahnhof", "Rettungsdienst", "Krankenhaus", "Stadtbücherei",
    "Turnhalle", "Sporthalle", "Hallenbad", "Freibad", "Marktplatz", "Wochenmarkt", "Stadtfest", "Kläranlage",
    "Abwasser", "Stromzähler", "Zählerstand", "Personalausweis", "Reisepass", "Führerschein", "Zulassungsstelle",
    "Baugenehmigung", "Bebauungsplan", "Hundesteuer", "Parkgebühren", "Einwohnermeldeamt", "Standesamt", "Wohngeld")
GROUPS_NAMED = ("Migranten", "Geflüchtete", "Flüchtlinge", "Ausländer", "Muslime", "Grüne", "AfD", "SPD", "CDU",
                "Politiker")
GROUPS_UNNAMED = ("Juden", "Asylbewerber", "Türken", "Syrer", "Ukrainer", "Roma", "FDP", "Linke")

# Neutral carriers. A bare word and a hashtag are what short posts, headlines and tags look like; the sentences
# are the register of an authority's own announcements.
TOPIC_TEMPLATES = ("{w}", "#{w}", "Neue Informationen zum Thema {w}.", "Wir berichten morgen über {w}.",
                   "Thema heute: {w}", "Hier finden Sie alles zum Thema {w}: https://example.org/info")
GROUP_TEMPLATES = ("{w}", "#{w}", "Heute geht es um {w}.", "Eine Frage zum Thema {w}.",
                   "Infoabend zum Thema {w} am Donnerstag", "Wir berichten morgen über {w}.")


def probe_texts(words: tuple[str, ...], templates: tuple[str, ...]) -> list[str]:
    """Every template filled with every word (word-major order)."""
    return [template.format(w=word) for word in words for template in templates]


def probe_report(model: TextClassifier, words: tuple[str, ...], templates: tuple[str, ...]) -> dict:
    """How often neutral, harmless probe texts are called negative or toxic, and the words that fare worst."""
    texts = probe_texts(words, templates)
    scores = model.predict(texts)
    negative = np.array([label == "negative" for label in scores.sentiment()])
    toxic = scores.is_toxic()
    per_word = lambda values: np.asarray(values, dtype=float).reshape(len(words), len(templates)).mean(axis=1)  # noqa: E731
    worst = lambda values: [words[i] for i in np.argsort(-per_word(values), kind="stable")[:5]]  # noqa: E731
    return {"texts": len(texts),
            "called_negative": round(float(negative.mean()), 3),
            "mean_p_negative": round(float(scores.negative.mean()), 3),
            "called_negative_bare_word": round(float(negative[templates.index("{w}")::len(templates)].mean()), 3),
            "called_toxic": round(float(toxic.mean()), 3),
            "mean_p_toxic": round(float(scores.toxic.mean()), 3),
            "most_negative": worst(scores.negative), "most_toxic": worst(scores.toxic)}


def load_heldout(path: str | pathlib.Path) -> dict:
    """The held-out file: load_corpus's arrays plus ``group`` (True for rows of kind ``group``)."""
    data = load_corpus(path, extra_columns=("kind",))
    if set(data["kind"]) - {"group", "topic"}:
        raise ValueError(f"{path}: kind must be group or topic, not {sorted(set(data['kind']) - {'group', 'topic'})}")
    return {**data, "group": np.array([kind == "group" for kind in data["kind"]])}


def heldout_report(model: TextClassifier, data: dict) -> dict:
    texts = data["texts"]
    scores = model.predict(texts)
    predicted = np.array([POLARITY_LABELS.index(label) for label in scores.sentiment()])
    group = data["group"]
    short = np.array([len(t.split()) <= 5 for t in texts])
    is_toxic = scores.is_toxic()
    part = lambda mask: polarity_report(data["polarity"][mask], predicted[mask])  # noqa: E731
    toxic_part = lambda mask: toxic_report(data["toxic"][mask], is_toxic[mask], scores.toxic[mask])  # noqa: E731
    everything = np.ones(len(texts), dtype=bool)
    return {"polarity": part(everything), "polarity_short": part(short), "polarity_topic": part(~group),
            "polarity_group": part(group), "toxic": toxic_part(everything), "toxic_group": toxic_part(group),
            "toxic_topic": toxic_part(~group),
            "question_f1": round(float(f1_score(data["question"], scores.question >= 0.5)), 3)}


def report_for(model: TextClassifier, heldout: dict) -> dict:
    return {"version": model.info.get("version"),
              "probe_topics_named": probe_report(model, TOPICS_NAMED, TOPIC_TEMPLATES),
              "probe_topics_unnamed": probe_report(model, TOPICS_UNNAMED, TOPIC_TEMPLATES),
              "probe_groups_named": probe_report(model, GROUPS_NAMED, GROUP_TEMPLATES),
              "probe_groups_unnamed": probe_report(model, GROUPS_UNNAMED, GROUP_TEMPLATES),
              "heldout": heldout_report(model, heldout)}


def main(argv: list[str] | None = None) -> int:
    return run(argv, __doc__, HELDOUT, load_heldout, report_for)

if __name__ == "__main__":
    sys.exit(main())
