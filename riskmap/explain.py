"""A plain-Dutch description of a project's model, in the shape of an Algoritmeregister entry.

:func:`describe` turns a validated :class:`~riskmap.config.Project` (and optionally a
back-test result) into Markdown with the sections of an entry of the Dutch Algoritmeregister
(https://algoritmes.overheid.nl): Naam, Korte omschrijving, Doel en impact, Wettelijke
grondslag, Werking, Gegevensbronnen, Doelgroepen, Menselijke tussenkomst, Risicobeheer,
Bekende beperkingen, Evaluatie, Contact en Versie. It is a starting point for the
partnership's DPIA (AVG art. 35) and IAMA (Impact Assessment Mensenrechten en Algoritmes),
not a substitute for them.

Everything taken from the project and layer files (names, labels, rationales, the legal
basis, file names) passes :func:`md_text`, so that a newline, ``#``, ``|``, ``[`` or
``<script>`` in a TOML string cannot add a heading, a table cell, a link or markup.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from riskmap import io
from riskmap.config import Project
from riskmap.errors import InputError

__all__ = ["describe", "md_text", "read_backtest", "write_description"]

#: Characters that Markdown reads as structure inside a line (escaped with a backslash).
_MD_SPECIAL = set("\\`*_[]#|~")

#: The planner's defaults (``riskmap plan``), described when the project does not set them.
_PLAN_DEFAULTS = {"exploration_share": 0.15, "cooldown_days": 180, "min_per_municipality": 1}

_MEASURES = {
    "distance": "afstand tot het dichtstbijzijnde object",
    "density": "aantal objecten binnen een straal",
    "coverage": "deel van de cel dat bedekt is",
    "count": "aantal objecten in de cel",
    "attribute": "waarde van het vlak waarin de cel ligt",
    "raster": "waarde uit een rasterbestand",
}


def md_text(value: object) -> str:
    """Text from a config file, safe inside one Markdown line or table cell.

    Line breaks and other whitespace become one space, control characters are dropped,
    ``< >`` become HTML entities (no markup reaches a renderer) and the characters that
    Markdown reads as structure inside a line (``\\ ` * _ [ ] # | ~``) get a backslash. Use
    it for running text, never inside a code span (where a backslash shows as itself).
    Only lines that riskmap starts itself hold such text, so ``-``, ``+``, ``>`` or a
    number at the start of a line cannot begin a list or a quote.

    Examples
    --------
    >>> md_text("a|b\\n# kop <script>")
    'a\\\\|b \\\\# kop &lt;script&gt;'
    """
    text = " ".join(str(value).split())
    text = "".join(c for c in text if c.isprintable())
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return "".join(f"\\{c}" if c in _MD_SPECIAL else c for c in text)


def _num(value: float) -> str:
    """A number in Dutch notation (decimal comma)."""
    return f"{value:g}".replace(".", ",")


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def _transform(t) -> str:
    if t.method == "minmax":
        return "geschaald van laagste (0) naar hoogste waarde (1)"
    if t.method == "rank":
        return "rangorde (percentiel) van de waarde"
    if t.method == "decay":
        shape = "lineair" if t.shape == "linear" else "exponentieel"
        return (f"afstandsverval: 1 bij het object, {shape} aflopend tot 0 op "
                f"{_num(t.influence_m)} m")
    return f"drempel: 1 voorbij de waarde {_num(t.value)}, anders 0"


def read_backtest(path: str | Path) -> dict:
    """A back-test result written by ``riskmap backtest --json`` (with its SHA-256)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--backtest {path}: file not found. Make it with riskmap backtest "
                         "… --json FILE.json.", code="E-INPUT-NOTFOUND")
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"--backtest {path}: not a JSON file ({exc}).",
                         code="E-INPUT-READ") from None
    if not isinstance(result, dict) or not isinstance(result.get("results"), dict):
        raise InputError(f"--backtest {path}: no 'results' table; is this the JSON of "
                         "riskmap backtest --json?", code="E-INPUT-READ")
    from riskmap.pipeline import _sha256

    result["_file"] = {"name": path.name, "sha256": _sha256(path)}
    return result


# ----------------------------------------------------------------------------- sections


def _intro(project: Project) -> list[str]:
    return [
        f"# Algoritmebeschrijving: {md_text(project.project.name)}",
        "",
        "> Deze beschrijving is door riskmap gemaakt uit het projectbestand "
        f"{md_text(project.path.name if project.path else 'project.toml')} en de "
        "indicatorbestanden. Ze volgt de opbouw van een registratie in het Algoritmeregister "
        "van de Nederlandse overheid en is een **startpunt** voor de DPIA "
        "(gegevensbeschermingseffectbeoordeling, art. 35 AVG) en de IAMA (Impact Assessment "
        "Mensenrechten en Algoritmes) van het samenwerkingsverband. Vul haar aan, laat haar "
        "toetsen door de functionaris gegevensbescherming en leg de afwegingen vast; ze "
        "vervangt die beoordelingen niet.",
        "",
    ]


def _name_and_summary(project: Project) -> list[str]:
    parts = []
    if project.opportunity is not None:
        parts.append("een gelegenheidskaart (waar de omgeving kansen biedt voor ondermijnende "
                     "criminaliteit)")
    if project.risk is not None:
        parts.append("een risicokaart uit politie-informatie")
    if project.opportunity is not None and project.risk is not None:
        parts.append("de combinatie van beide in zones")
    if project.scoring is not None:
        parts.append("een rangorde van panden met redenen en een inspectieplan")
    made = "; ".join(parts) or "nog geen kaarten (het projectbestand noemt alleen de regio)"
    return [
        "## Naam", "", md_text(project.project.name), "",
        "## Korte omschrijving", "",
        "riskmap maakt voor de gemeenten van de regio per cel van "
        f"{_num(project.region.cell_size)} m: {made}. De uitkomsten zijn hulpmiddelen om "
        "toezicht en controles te richten; ze zijn geen bewijs en geen oordeel over personen.",
        "",
    ]


def _purpose(project: Project) -> list[str]:
    lines = [
        "## Doel en impact", "",
        "Doel: de schaarse capaciteit voor toezicht, controle en preventie tegen ondermijning "
        "richten op plaatsen waar de gelegenheid groot is en waar signalen wijzen op misbruik "
        "(bestuurlijke aanpak van het RIEC-samenwerkingsverband).",
        "",
        "Impact: een plek of pand dat hoog op de kaart of de lijst staat, krijgt eerder een "
        "controle. Eigenaren en gebruikers van die panden merken dat; een onterecht hoge "
        "plaats leidt tot onnodige controles en mogelijk stigmatisering van een gebied. "
        "Een controle zelf volgt de gewone bevoegdheden en procedures van de partner die haar "
        "uitvoert.",
        "",
    ]
    return lines


def _legal(project: Project) -> list[str]:
    basis = project.project.legal_basis
    text = md_text(basis) if basis else (
        "**Niet opgegeven.** Vul `[project] legal_basis` in het projectbestand in (bijvoorbeeld "
        "de grondslag in het RIEC-convenant en de artikelen van Wpg en AVG waarop de "
        "verstrekking en verwerking rusten); zonder grondslag mag er niets verwerkt worden.")
    return ["## Wettelijke grondslag", "", text, ""]


def _workings(project: Project) -> list[str]:
    lines = ["## Werking", ""]
    opp = project.opportunity
    if opp is not None:
        norm = "per gemeente" if opp.normalise == "municipality" else "over de hele regio"
        classes = (f"vaste klassengrenzen {', '.join(_num(b) for b in opp.breaks)}"
                   if opp.breaks else f"{opp.classes} klassen (kwantielen per gemeente)")
        lines += [
            "### Gelegenheidskaart", "",
            "Elke indicator wordt per cel gemeten, omgezet naar een waarde tussen 0 en 1 "
            f"(1 = de meeste gelegenheid; schaal {norm}) en gewogen opgeteld per thema; de "
            f"score van een cel is de hoogste themascore. De score wordt ingedeeld in {classes}.",
            "",
        ]
        for ls in project.layer_sets:
            total = sum(i.weight for i in ls.indicator)
            title = f" — {md_text(ls.title)}" if ls.title else ""
            lines += [f"#### Thema `{ls.theme}`{title}", ""]
            if ls.description:
                lines += [md_text(ls.description), ""]
            for i in ls.indicator:
                direction = ("hoger = meer gelegenheid" if i.direction == "higher"
                             else "lager = meer gelegenheid")
                lines += [
                    f"- **{md_text(i.label)}** (`{i.name}`): gewicht {_num(i.weight)} "
                    f"({_pct(i.weight / total)} van het thema); maat: "
                    f"{_MEASURES[i.measure]}; richting: {direction}; transformatie: "
                    f"{_transform(i.transform)}; bron: {md_text(i.source.file)}.",
                    f"  Onderbouwing: {md_text(i.rationale)}",
                ]
            lines.append("")
    risk = project.risk
    if risk is not None:
        lines += ["### Risicokaart", ""]
        if risk.layer is not None:
            lines += [f"De politie levert een eigen risicolaag ({md_text(risk.layer.file)}); "
                      "riskmap schaalt die naar 0–1 en deelt in klassen in. Hoe die laag is "
                      "gemaakt, beschrijft de politie.", ""]
        else:
            auto = [name for name, v in (("bandbreedte", risk.bandwidth_m),
                                         ("halfwaardetijd", risk.half_life_days),
                                         ("tijdvenster", risk.window_days)) if v is None]
            given = []
            if risk.bandwidth_m is not None:
                given.append("counts per cel (geen kernel)" if risk.bandwidth_m == 0
                             else f"bandbreedte {_num(risk.bandwidth_m)} m")
            if risk.half_life_days is not None:
                given.append(f"halfwaardetijd {_num(risk.half_life_days)} dagen")
            if risk.window_days is not None:
                given.append(f"tijdvenster {_num(risk.window_days)} dagen")
            choice = ("Vastgelegd in het projectbestand: " + ", ".join(given) + ". "
                      if given else "")
            if auto:
                choice += (f"{', '.join(auto).capitalize()} kiest riskmap op de gegevens zelf: "
                           "op eerdere perioden wordt getoetst welke instelling de incidenten "
                           "van de periode erna het best voorspelt (PEI* op "
                           f"{_pct(risk.area_share)} van het gebied); bij gelijke kwaliteit "
                           "wint de eenvoudigste. De gekozen waarden staan in de herkomst van "
                           "elke risicokaart.")
            band = (f"{_num(risk.gi_radius_m)} m" if risk.gi_radius_m
                    else "gelijk aan de bandbreedte")
            lines += [
                "Politie-incidenten (plaats, datum, soort) worden geteld met een gewicht dat "
                "afneemt met de ouderdom (halfwaardetijd), uitgesmeerd met een "
                "kerneldichtheidsschatting (KDE, gaussische kernel) en getoetst op "
                f"hotspots met Getis-Ord Gi* (afstandsband {band}), met correctie voor "
                "meervoudig toetsen (false discovery rate, "
                f"Benjamini-Hochberg). De score wordt ingedeeld in {risk.classes} klassen per "
                "gemeente. De kaart wordt voor de hele regio met een rand van "
                f"{_num(project.region.halo_m)} m gemaakt, zodat gemeentegrenzen geen "
                "hotspots afsnijden.",
                "",
                choice,
                "",
            ]
    if opp is not None and risk is not None:
        lines += [
            "### Combinatie van gelegenheid en risico", "",
            "Gelegenheid en risico worden elk in drie klassen (tertielen) verdeeld en "
            "gecombineerd tot 3 × 3 klassen. Zones: **prioriteit** (beide hoog), **blinde "
            "vlek** (veel gelegenheid, weinig politie-informatie) en **risico** (hoog risico "
            "zonder duidelijke gelegenheid).", "",
        ]
    sc = project.scoring
    if sc is not None:
        total = sum(f.weight for f in sc.feature)
        method = "logistische regressie" if sc.model_method == "logistic" else \
            "gradient boosting"
        scorer = ("gewogen optelling met vaste, hier beschreven gewichten (elke bijdrage is "
                  "zichtbaar en de bijdragen tellen op tot de score)" if sc.scorer == "weighted"
                  else f"een model ({method}) dat leert van eerdere inspectie-uitkomsten, "
                  "gekalibreerd en "
                  "kruisgevalideerd; het traint "
                  + ("alleen op de verkenningsinspecties (willekeurig gekozen, dus zonder "
                     "selectie-effect)" if sc.model_training == "exploration" else
                     "op alle inspecties met inverse-propensity-gewichten (correctie voor de "
                     "kans dat een pand geïnspecteerd werd)")
                  + f"; minimaal {sc.min_labels} uitkomsten")
        scopes = " en ".join(sc.scopes)
        lines += [
            "### Score van panden", "",
            f"Kandidaten: panden uit {md_text(sc.premises)} op {scopes}. Score: {scorer}. "
            "Bij elke score staan de drie grootste bijdragen in woorden (de redenen).", "",
        ]
        for f in sc.feature:
            what = {"column": f"kenmerk {md_text(f.column or '')} van het pand",
                    "map": f"kaartwaarde {md_text(f.indicator or f.map or '')} op de plek",
                    "signals": f"politiesignalen op het adres in de laatste "
                               f"{_num(f.window_days)} dagen",
                    "history": f"inspectiegeschiedenis ({md_text(f.history or '')})"}[f.kind]
            lines.append(f"- **{md_text(f.label)}** (`{f.name}`): gewicht {_num(f.weight)} "
                         f"({_pct(f.weight / total)}); {what}; transformatie: "
                         f"{_transform(f.transform)}.")
        d = _PLAN_DEFAULTS
        lines += [
            "",
            "### Inspectieplan", "",
            "Het plan (`riskmap plan`) vult de capaciteit van een periode: eerst een deel "
            f"**verkenningsplaatsen** (standaard {_pct(d['exploration_share'])}), willekeurig "
            "gekozen met kans naar gelegenheid uit blinde vlekken en panden met weinig "
            "politie-informatie; dan minimaal "
            f"{d['min_per_municipality']} inspectie per gemeente; de rest volgt de "
            f"rangorde. Een pand dat in de laatste {d['cooldown_days']} dagen is "
            "geïnspecteerd, komt niet in aanmerking. De instellingen staan in het blad "
            "Herkomst van het plan.", "",
        ]
    if len(lines) == 2:
        lines += ["Het projectbestand configureert nog geen kaart.", ""]
    return lines


def _sources(project: Project) -> list[str]:
    from riskmap.pipeline import _sha256, input_files

    lines = ["## Gegevensbronnen", "",
             "| bestand | rol | SHA-256 | gewijzigd (UTC) | synthetisch |",
             "| --- | --- | --- | --- | --- |"]
    synthetic_any = False
    for path, role in sorted(input_files(project).items(), key=lambda kv: _name(kv[0])):
        if io.is_remote(path):  # --allow-network: nothing local to hash or date
            row = ("— (netwerkbron, niet gehasht)", "onbekend", "onbekend")
        elif path.is_file():
            modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(
                timespec="seconds")
            synthetic = io.is_synthetic(path)
            synthetic_any |= synthetic
            row = (f"`{_sha256(path)}`", modified,
                   "**ja, synthetisch**" if synthetic else "nee")
        else:
            row = ("—", "bestand niet gevonden", "onbekend")
        lines.append(f"| {md_text(_name(path))} | {md_text(role)} | " + " | ".join(row) + " |")
    lines.append("")
    if synthetic_any:
        lines += ["**Let op:** een of meer bronnen zijn synthetisch (gemaakt voor de demo). "
                  "Uitkomsten op deze gegevens zeggen niets over de werkelijkheid.", ""]
    lines += ["De hashes laten zien of een uitvoer uit precies deze bestanden is gemaakt: elke "
              "uitvoer van riskmap draagt dezelfde lijst in haar herkomst.", ""]
    return lines


def _audiences(project: Project) -> list[str]:
    k = project.risk.k if project.risk is not None else 5
    return [
        "## Doelgroepen en wat zij zien", "",
        "| doelgroep | ziet |", "| --- | --- |",
        "| politie (`police`) | alles: scores, dichtheden, aantallen incidenten, Gi*-toetsen, "
        "trends; blijft binnen de politieomgeving |",
        f"| partners (`partners`): gemeenten, toezichthouders, RIEC | alleen klassen; cellen "
        f"die op minder dan k = {k} incidenten rusten, tellen als laag risico (weinig "
        "informatie); geen incidentlocaties, aantallen of scores, ook niet in de broncode van "
        "de HTML-kaart; de ranglijst zegt 'recent politiesignaal op dit adres', nooit hoeveel |",
        f"| publiek (`public`) | als partners, maar nooit een ranglijst of inspectieplan (die "
        f"noemen panden); k = {k} |",
        "",
        "riskmap weigert een uitvoer voor partners of publiek die incidentdetails zou bevatten "
        "(`E-PRIVACY-LEAK`) en een k onder 3 (`E-PRIVACY-K`). Gelegenheidskaarten bevatten geen "
        "politie-informatie en zijn voor iedereen.", "",
    ]


def _human() -> list[str]:
    return [
        "## Menselijke tussenkomst", "",
        "riskmap neemt geen besluiten. Een analist stelt de kaarten en het plan op en "
        "controleert ze; het samenwerkingsverband kiest welke plaatsen en panden worden "
        "bezocht; de toezichthouder of inspecteur beslist ter plaatse, met de gewone "
        "bevoegdheden, of en welke maatregel volgt. Geen beslissing over een persoon of "
        "bedrijf rust alleen op de score (AVG art. 22). Elke score heeft leesbare redenen, "
        "zodat een mens kan nagaan waarom een pand op de lijst staat en het kan "
        "afwijzen. Uitkomsten van inspecties worden vastgelegd in het register, met wie, "
        "wanneer en waarom.", "",
    ]


def _risk_management(project: Project) -> list[str]:
    feedback = ("**staat aan** in dit project (`[risk] register_outcomes_as_incidents = true`): "
                "bevestigde inspecties tellen als incidenten, zodat geïnspecteerde plekken "
                "stijgen op de kaart. Heroverweeg dit."
                if project.risk is not None and project.risk.register_outcomes_as_incidents
                else "staat uit (standaard): inspectie-uitkomsten komen nooit in de risicokaart.")
    lines = [
        "## Risicobeheer", "",
        "- **Terugkoppellus.** Een rangorde die alleen eerdere politie-aandacht volgt, voedt "
        "zichzelf: wie alleen kijkt waar al gekeken is, vindt alleen daar iets. Maatregelen: "
        "(1) verkenningsplaatsen in elk plan (willekeurig, in blinde vlekken); (2) het model "
        "traint alleen op verkenningsinspecties of corrigeert met inverse-propensity-gewichten; "
        f"(3) terugvoer van uitkomsten naar de risicokaart {feedback}",
        "- **Eerlijkheid.** Beschermde kenmerken en afgeleide kenmerken (nationaliteit, "
        "etniciteit, geboorteland, land van het kenteken, religie, taal, namen …) worden "
        "geweigerd als kenmerk van de score (`E-CONFIG-FAIRNESS`). Een waarschuwing volgt "
        "als meer dan de helft van de top van de lijst in één sector of op één "
        "bedrijventerrein ligt.",
        "- **Privacy.** Zie Doelgroepen: k-anonimiteit, alleen klassen voor partners en "
        "publiek, escaping van alle tekst in HTML en Excel (geen formules).",
        "- **Herleidbaarheid.** Elke uitvoer draagt de versie van riskmap, de hash van de "
        "configuratie, de invoerbestanden met SHA-256 en datum, de doelgroep, k, de gewichten "
        "en de wettelijke grondslag.",
        "",
    ]
    return lines


def _limitations(project: Project) -> list[str]:
    lines = [
        "## Bekende beperkingen", "",
        "- De kaarten tonen **gelegenheid** en **geregistreerde** incidenten, niet "
        "criminaliteit zelf. Waar de politie weinig kijkt, is weinig geregistreerd "
        "(blinde vlekken).",
        "- **Gewichten** van de indicatoren zijn keuzes van mensen, onderbouwd met bronnen "
        "(zie Werking); de gevoeligheid van de kaart voor de gewichten is meetbaar en moet "
        "worden bekeken voor publicatie.",
        "- **Randeffecten**: bronnen buiten de regio worden tot de grootste invloedsafstand "
        "meegelezen; aan de rand van de data blijven afstanden en dichtheden onzeker. De "
        "celgrootte en de ligging van het rooster beïnvloeden trefkansen (modifiable areal "
        "unit problem).",
        "- **Verkenning** kost capaciteit en vindt per inspectie vaak minder; zonder haar "
        "leert de lijst niets over plekken waar niemand keek.",
        "- Het **model** (als het gebruikt wordt) corrigeert selectie alleen op de kenmerken "
        "die het kent; volgde eerdere aandacht iets anders, dan blijft een vertekening.",
    ]
    if any(io.is_synthetic(p) for p in _existing_inputs(project)):
        lines.append("- Dit project gebruikt **synthetische gegevens**: de uitkomsten zijn "
                     "een demonstratie.")
    return [*lines, ""]


def _name(path: Path | str) -> str:
    """A local input's file name, or a network input's URL."""
    return str(path) if io.is_remote(path) else Path(path).name


def _existing_inputs(project: Project) -> list[Path]:
    from riskmap.pipeline import input_files

    return [p for p in input_files(project) if not io.is_remote(p) and p.is_file()]


def _evaluation(backtest: dict | None) -> list[str]:
    lines = ["## Evaluatie", ""]
    if backtest is None:
        return [*lines, "Er is **geen back-test beschikbaar** voor deze beschrijving. Maak er "
                "een met `riskmap backtest … --json bt.json` op incidenten uit een eerdere "
                "periode en geef die mee met `riskmap explain … --backtest bt.json`.", ""]
    from riskmap.backtest import METHODS, SHARES

    f = backtest.get("_file", {})
    lines += [
        f"Back-test uit {md_text(f.get('name', ''))} (SHA-256 {md_text(f.get('sha256', ''))})"
        f" op {md_text(backtest.get('incidents', ''))}: training "
        f"{md_text(' – '.join(backtest.get('train_period', [])))} "
        f"({md_text(backtest.get('n_train', ''))} incidenten), toets "
        f"{md_text(' – '.join(backtest.get('test_period', [])))} "
        f"({md_text(backtest.get('n_test', ''))} incidenten), cellen van "
        f"{md_text(backtest.get('cell_size', ''))} m.", "",
        "Trefkans = deel van de toetsincidenten in de hoogst scorende cellen; PAI = trefkans / "
        "aandeel van het gebied; PEI* = deel van wat de best mogelijke kaart van die omvang "
        "zou vangen.", "",
        "| methode | aandeel gebied | trefkans | PAI | PEI* |", "| --- | --- | --- | --- | --- |",
    ]
    results = backtest["results"]
    for name in METHODS:
        r = results.get(name)
        if not isinstance(r, dict):
            continue
        for a in SHARES:
            v = r.get(f"{a:.2f}")
            if isinstance(v, dict):
                lines.append(f"| {md_text(name)} | {_pct(a)} | {_num(round(v['hit_rate'], 3))} "
                             f"| {_num(round(v['pai'], 2))} | {_num(round(v['pei'], 3))} |")
    lines.append("")
    aucs = [f"{md_text(n)} {_num(round(results[n]['auc'], 3))}" for n in METHODS
            if isinstance(results.get(n), dict) and "auc" in results[n]]
    if aucs:
        lines += [f"Oppervlakte onder de trefkanscurve (AUC): {', '.join(aucs)}.", ""]
    return lines


def _contact(project: Project) -> list[str]:
    org, contact = project.project.organisation, project.project.contact
    missing = "niet opgegeven (vul `[project] {}` in het projectbestand in)"
    return [
        "## Contact en verantwoordelijke", "",
        "- Verantwoordelijke organisatie: "
        + (md_text(org) if org else missing.format("organisation")),
        f"- Contact: {md_text(contact) if contact else missing.format('contact')}",
        "",
    ]


def _version(project: Project) -> list[str]:
    from riskmap import __version__

    return [
        "## Versie", "",
        f"- riskmap-versie: {md_text(__version__)}",
        f"- Configuratie (SHA-256 van het projectbestand en de indicatorbestanden): "
        f"`{project.digest}`",
        "",
    ]


def describe(project: Project, *, backtest: dict | None = None) -> str:
    """The Markdown description of ``project`` (Dutch, Algoritmeregister sections).

    Parameters
    ----------
    project : Project
        A project from :func:`riskmap.load_project`.
    backtest : dict, optional
        A back-test result (:func:`read_backtest`); its figures fill the section Evaluatie,
        which otherwise says that none is available.

    Returns
    -------
    str
        Markdown text, ending in a newline; the same project and input files give the same
        text (no time stamp).
    """
    parts = [_intro(project), _name_and_summary(project), _purpose(project), _legal(project),
             _workings(project), _sources(project), _audiences(project), _human(),
             _risk_management(project), _limitations(project), _evaluation(backtest),
             _contact(project), _version(project)]
    return "\n".join(line for part in parts for line in part).rstrip("\n") + "\n"


def write_description(project: Project, path: str | Path, *, backtest: dict | None = None,
                      overwrite: bool = False) -> Path:
    """Write :func:`describe` to ``path`` atomically; refuse an existing file without
    ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(f"{path} exists already. Use --overwrite to replace it.",
                         code="E-OUTPUT-EXISTS")
    text = describe(project, backtest=backtest)
    with io.atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
