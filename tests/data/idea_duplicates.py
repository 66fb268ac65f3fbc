"""A small labelled set for duplicate hints, written by hand before the first run: existing items
of a federation (German, Swedish and English) and new titles, each with the items a reviewer
would call the same need. Used by tests/test_ideas_similarity.py and bench/ideas_bench.py."""

from __future__ import annotations

from typing import Any

ITEMS: list[tuple[str, str, str]] = [
    ("lonely", "Besuchsdienst gegen Einsamkeit im Alter",
     "Viele ältere Menschen in unseren Wohngebieten sind allein und bekommen kaum Besuch."),
    ("tablet", "Tablet-Kurse für Seniorinnen und Senioren",
     "Ältere Menschen wollen Videotelefonie mit ihren Enkeln lernen."),
    ("dienstplan", "Digitaler Dienstplan für die Pflege",
     "Die Dienstplanung auf Papier kostet jede Woche Stunden und führt zu Fehlern."),
    ("ehrenamt", "Ehrenamtliche besser koordinieren",
     "Freiwillige melden sich per Telefon, niemand weiß, wer wann Zeit hat."),
    ("kita_sprache", "Sprachförderung in der Kita mit Bilderbüchern",
     "Kinder mit anderer Familiensprache brauchen mehr Unterstützung beim Deutschlernen."),
    ("jugend_nacht", "Offener Jugendtreff am Wochenende abends",
     "Jugendliche haben am Freitag und Samstag abends keinen Ort, an dem sie sein können."),
    ("fahrdienst", "Fahrdienst zum Arzt für Menschen auf dem Land",
     "Ohne Bus kommen ältere Menschen nicht zur Arztpraxis in der Stadt."),
    ("dokumentation", "Pflegedokumentation per Spracheingabe",
     "Pflegekräfte verbringen zu viel Zeit mit der Dokumentation am Computer."),
    ("hitze", "Hitzeschutz für alte Menschen im Sommer",
     "In Hitzewellen trinken alte Menschen zu wenig; Hitzetelefon und Besuche fehlen."),
    ("schulden", "Online-Terminbuchung für die Schuldnerberatung",
     "Ratsuchende warten am Telefon; Termine sollten online buchbar sein."),
    ("ensam", "Mötesplats mot ensamhet för äldre",
     "Många äldre i kommunen är ensamma och saknar någon att prata med."),
    ("schema", "Digitalt schema för hemtjänsten",
     "Hemtjänstens scheman görs i Excel och ändras hela tiden."),
    ("volontar", "Samordna volontärer i en app",
     "Volontärer anmäler sig via sms och det blir dubbelbokningar."),
    ("sprak_forskola", "Språkstöd i förskolan",
     "Barn med annat modersmål behöver mer stöd i svenska."),
    ("ung_helg", "Fritidsgård öppen på helgkvällar",
     "Ungdomar har ingenstans att vara på fredagar och lördagar."),
    ("fardtjanst", "Skjuts till vårdcentralen på landsbygden",
     "Äldre på landet kan inte ta sig till vårdcentralen."),
    ("loneliness", "Phone buddies against loneliness",
     "Isolated older people would welcome a regular phone call from a volunteer."),
    ("rota", "Shared rota for the night shelter volunteers",
     "Volunteers for the night shelter sign up on paper lists."),
    ("benefits_help", "Help with filling in benefit application forms",
     "Clients struggle with long application forms and give up."),
    ("food", "Food bank opening hours after work",
     "People who work cannot reach the food bank during the day."),
    ("wlan", "WLAN in allen Pflegeheimen",
     "Bewohnerinnen und Bewohner können ohne WLAN keine Videoanrufe machen."),
    ("dolmetsch", "Dolmetscher per Video in der Beratung",
     "Für Beratungen auf Arabisch und Ukrainisch fehlen Dolmetscher."),
    ("urlaub", "Urlaubsplanung im Team transparent machen",
     "Urlaubsanträge per E-Mail gehen verloren."),
    ("demenz", "Schulung für Angehörige von Menschen mit Demenz",
     "Pflegende Angehörige fühlen sich allein gelassen und wissen wenig über Demenz."),
]

# new title (and short problem text) -> the items that are the same need
QUERIES: list[tuple[str, str, set[str]]] = [
    ("Einsame Senioren besuchen", "Ehrenamtliche sollen alte Menschen regelmäßig besuchen.", {"lonely"}),
    ("Vereinsamung älterer Menschen verhindern", "", {"lonely"}),
    ("Digitale Dienstplanung in der Altenpflege", "Schluss mit Papierplänen.", {"dienstplan"}),
    ("Dienstplan-App für Pflegekräfte", "", {"dienstplan"}),
    ("Freiwillige über eine App koordinieren", "", {"ehrenamt"}),
    ("Tabletkurs für ältere Menschen", "Videotelefonie lernen.", {"tablet"}),
    ("Jugendtreff auch am Samstagabend öffnen", "", {"jugend_nacht"}),
    ("Fahrdienst zu Arztterminen auf dem Land", "", {"fahrdienst"}),
    ("Spracherkennung für die Pflegedokumentation", "", {"dokumentation"}),
    ("Hitzetelefon für Senioren im Sommer", "", {"hitze"}),
    ("Termine der Schuldnerberatung online buchen", "", {"schulden"}),
    ("Träffpunkt för ensamma äldre", "", {"ensam"}),
    ("Schemaläggning i hemtjänsten digitalt", "", {"schema"}),
    ("App för att samordna volontärer", "", {"volontar"}),
    ("Språkstöd för barn i förskolan", "", {"sprak_forskola"}),
    ("Öppen fritidsgård på helgen", "", {"ung_helg"}),
    ("Lonely older people: a phone buddy scheme", "", {"loneliness"}),
    ("Volunteer rota for the night shelter", "", {"rota"}),
    ("Support with benefit forms", "", {"benefits_help"}),
    ("WLAN im Pflegeheim für Videoanrufe", "", {"wlan"}),
    ("Videodolmetschen für Beratungsgespräche", "", {"dolmetsch"}),
    ("Angehörige von Demenzkranken schulen", "", {"demenz"}),
    # new needs without a duplicate: hints should stay quiet
    ("Neue Waschmaschinen für die Kleiderkammer", "", set()),
    ("Solaranlage auf dem Dach der Geschäftsstelle", "", set()),
    ("Ny logotyp för föreningen", "", set()),
    ("Bike racks at the office", "", set()),
]


def evaluate(index: Any) -> dict[str, int]:
    """Hints for every new title: how many were shown, how many of those are true duplicates, and
    for how many titles with a duplicate it was among them."""
    counts = {"shown": 0, "relevant": 0, "found": 0, "with_duplicate": 0}
    for title, body, expected in QUERIES:
        ids = [hint.item_id for hint in index.hints(title, body)]
        counts["shown"] += len(ids)
        counts["relevant"] += sum(1 for item_id in ids if item_id in expected)
        if expected:
            counts["with_duplicate"] += 1
            counts["found"] += bool(set(ids) & expected)
    return counts
