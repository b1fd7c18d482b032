"""Which demo texts the threat head flags (P(threat) >= 0.5, the alert's count), per pool of the demo generator.

Usage: PYTHONPATH=. python benchmarks/threat_flags.py [--model DIR] [--list]

The demo pools (monitor/demo/texts_de.yaml) are our own writing. The calm pools and the outrage pool hold no
threats by construction, so every flag there is a false alarm. The toxic pool mixes insults and threats; which of
its texts threaten was decided by hand (THREATS_IN_TOXIC_POOL, session 8, by the definition in
detectors/toxic_kinds.py) before any model saw them. This is a development check, not an evaluation: the second
round of look-alike texts in detectors/data/threats_de.tsv was written for the kinds of false alarm this script
showed (the texts themselves were not copied). benchmarks/threat_heldout.py measures on texts no round was
trained on.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.classifier import TextClassifier  # noqa: E402
from monitor.detect import THREAT_PROBABILITY  # noqa: E402

# Threatening, announcing, calling for or approving violence or serious harm (veiled ones included); the rest of
# the pool insults, curses or demands resignations, prison or expulsion.
THREATS_IN_TOXIC_POOL = frozenset({
    "Wir wissen, wo ihr wohnt.",
    "Diese Ratten im Rathaus gehören ausgeräuchert",
    "Hoffentlich fällt euch selbst mal was auf den Kopf",
    "Wenn die Säge kommt, kommen wir auch. Und dann gnade euch Gott.",
    "Man sollte euch an den Platanen festbinden, dann überlegt ihr es euch anders",
    "Euch sollte man das Handwerk legen. Notfalls selbst.",
    "Ihr werdet euch noch wundern. Wir vergessen nichts. Und wir finden euch.",
    "Kessler, pass auf wenn du das nächste Mal über den Marktplatz gehst",
    "Die Adresse vom Kessler kennt hier doch eh jeder. Nur mal so.",
    "Man müsste euch allen mal die Meinung geigen, aber richtig. Von Angesicht zu Angesicht.",
    "Jeder einzelne, der dafür gestimmt hat, sollte sich nicht mehr auf die Straße trauen",
    "Wir kriegen euch. Nicht heute, nicht morgen, aber wir kriegen euch.",
    "Wer die Bäume anfasst, dem passiert was. Das ist keine Drohung, das ist ein Versprechen.",
    "Hat der Kessler schon einen Bodyguard? Sollte er vielleicht mal drüber nachdenken",
    "Ihr Betonfetischisten gehört selbst einbetoniert",
    "Macht nur weiter so. Irgendwann knallt es. Und dann will es keiner gewesen sein.",
    "Diese Witzfiguren sollte man aus dem Amt prügeln",
    "Ich hoffe euer Parkhaus stürzt ein. Am besten wenn ihr drin seid.",
    "Wir stehen bald vor eurer Haustür. Jeder einzelne von euch.",
    "Irgendwann wird sich das rächen. Für euch persönlich.",
    "Verreckt doch an euren Abgasen",
    "Das Rathaus brennt noch nicht, aber die Wut schon",
    "Man sollte euch mal zeigen, wie es ist, wenn einem was weggenommen wird",
})
NO_THREATS_BY_CONSTRUCTION = ("calm_neutral", "calm_positive", "calm_question", "calm_critical", "stadtfest",
                              "storm_outrage", "storm_campaign", "storm_neutral", "incident_question",
                              "incident_info", "other_language")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    parser.add_argument("--list", action="store_true", help="print every flagged text outside the toxic pool")
    args = parser.parse_args(argv)
    pools = yaml.safe_load((ROOT / "monitor" / "demo" / "texts_de.yaml").read_text(encoding="utf-8"))
    model = TextClassifier.load(args.model)
    result: dict = {"model": model.info.get("version"), "threshold": THREAT_PROBABILITY, "pools": {}}
    false_alarms = calm = 0
    for name in NO_THREATS_BY_CONSTRUCTION:
        texts = [str(t) for t in pools[name]]
        flagged = [t for t, p in zip(texts, model.predict(texts).kinds["threat"]) if p >= THREAT_PROBABILITY]
        result["pools"][name] = {"texts": len(texts), "flagged": len(flagged)}
        false_alarms += len(flagged)
        calm += len(texts)
        if args.list:
            for text in flagged:
                print(f"  {name}: {text}", file=sys.stderr)
    result["false_alarms"] = {"flagged": false_alarms, "texts": calm, "rate": round(false_alarms / calm, 4)}
    toxic = [str(t) for t in pools["storm_toxic"]]
    missing = THREATS_IN_TOXIC_POOL - set(toxic)
    if missing:
        raise SystemExit(f"labelled texts no longer in the toxic pool: {sorted(missing)}")
    flagged = {t for t, p in zip(toxic, model.predict(toxic).kinds["threat"]) if p >= THREAT_PROBABILITY}
    hits = len(flagged & THREATS_IN_TOXIC_POOL)
    result["toxic_pool"] = {"texts": len(toxic), "threats": len(THREATS_IN_TOXIC_POOL), "flagged": len(flagged),
                            "precision": round(hits / len(flagged), 3) if flagged else None,
                            "recall": round(hits / len(THREATS_IN_TOXIC_POOL), 3)}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
