"""Bundled real boundaries and a seeded generator of SYNTHETIC demo layers.

Two kinds of data live here:

* **Real** CBS boundaries bundled in the repository's ``data/`` folder
  (:func:`available`, :func:`get_path`): the 39 municipalities of Midden-Nederland in 2021
  and the buurten of 14 of them (EPSG:28992; see ``data/SOURCES.md`` for origin and licence).
* **Synthetic** indicator layers made by :func:`make_demo_data`. The real sources (BAG via
  PDOK, NWB wegen, IBIS bedrijventerreinen, TOP10NL, KvK-koppelingen, VIIRS night lights,
  police records of drug-waste dumpings) cannot be downloaded on the machines riskmap is
  developed and tested on, and some of them are not open at all. The generator therefore
  writes layers with the *file, layer and column names and the attribute values* of those
  sources, filled with made-up but plausible content inside the real municipality boundaries:
  towns of dwellings, farm yards with barns, industrial estates with premises, a motorway
  network that roughly follows the real one, forests, lakes and rivers. A user who has the
  real files points the layer configs at them instead; nothing else changes.

Every layer the generator writes says that it is synthetic: the GeoPackage layer metadata
(:data:`SYNTHETIC_METADATA`), the GeoTIFF tags and ``SOURCES.md`` beside the files. None of
it describes a real building, road, company or incident. The generator is deterministic:
the same ``seed``, ``scale`` and ``municipalities`` give the same data.

Examples
--------
>>> from riskmap import datasets
>>> datasets.available()
['buurten_2021', 'gemeenten_2021']
>>> paths = datasets.make_demo_data("out/demo", scale=0.01,
...                                 municipalities=["GM0339"])      # doctest: +SKIP
>>> sorted(paths)                                                  # doctest: +SKIP
['bag', 'dumpingen', 'ibis', 'nachtlicht', 'nwb', 'sources', 'top10nl']
"""

from __future__ import annotations

import textwrap
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.errors import InputError

__all__ = ["DATA_DIR", "SYNTHETIC_METADATA", "available", "get_path", "make_demo_data"]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
"""Folder with the bundled real data files."""

_DATASETS = {
    "buurten_2021": "buurten_2021.geojson",
    "gemeenten_2021": "gemeenten_2021.geojson",
}

RD = "EPSG:28992"

SYNTHETIC_METADATA = {
    "DESCRIPTION": "SYNTHETISCH — riskmap demo, geen echte gegevens",
    "RISKMAP_SYNTHETIC": "true",
}
"""Metadata written on every synthetic layer and raster.

GDAL splits metadata keys at ``:`` as well as ``=``, so a key such as
``riskmap:synthetic`` would come back as ``riskmap`` = ``synthetic=true``; hence the
underscore."""

_ATTRIBUTION = ("Bron: Centraal Bureau voor de Statistiek (CBS), CBS gebiedsindelingen 2021, "
                "via PDOK; vereenvoudigd door cartomap/nl.")
_ATTRIBUTION_BUURTEN = ("Bron: Centraal Bureau voor de Statistiek (CBS), Wijk- en Buurtkaart "
                        "2021 (buurt_gegeneraliseerd_2021), via PDOK; vereenvoudigd door "
                        "cartomap/nl.")


def available() -> list[str]:
    """Return the names of the bundled real data sets.

    Returns
    -------
    list of str
        Names accepted by :func:`get_path`, sorted.

    Examples
    --------
    >>> available()
    ['buurten_2021', 'gemeenten_2021']
    """
    return sorted(_DATASETS)


def get_path(name: str) -> Path:
    """Return the path of a bundled real data file.

    Parameters
    ----------
    name : str
        One of :func:`available`, e.g. ``"gemeenten_2021"`` (39 CBS municipalities of
        Midden-Nederland, 2021, EPSG:28992) or ``"buurten_2021"`` (352 buurten of 14 of them).

    Returns
    -------
    Path
        Absolute path of the GeoJSON file.

    Raises
    ------
    InputError
        ``E-DATA-UNKNOWN`` for a name that is not bundled (the message lists the names);
        ``E-DATA-MISSING`` when the file is missing from the installation.

    Examples
    --------
    >>> import geopandas as gpd
    >>> gm = gpd.read_file(get_path("gemeenten_2021"))
    >>> len(gm), gm.crs.to_epsg()
    (39, 28992)
    """
    if name not in _DATASETS:
        msg = (f"unknown data set {name!r}. Available: {', '.join(available())}. "
               "Use riskmap.datasets.available() to list them.")
        raise InputError(msg, code="E-DATA-UNKNOWN")
    path = DATA_DIR / _DATASETS[name]
    if not path.is_file():
        msg = (f"bundled data set {name!r} is missing: {path} does not exist. Reinstall "
               "riskmap or restore the repository's data/ folder.")
        raise InputError(msg, code="E-DATA-MISSING")
    return path


# ---------------------------------------------------------------------------------------------
# Fixed knowledge about the region: rounded inhabitants (CBS, 1 January 2021, used only as
# weights), the first year of building (the Flevoland polders were dry from 1942/1957/1968),
# a plausible postcode-4 range and up to four real place names (woonplaatsen). Town
# *positions* are synthetic; only the names are real.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Muni:
    inhabitants: int
    founded: int | None
    pc4: tuple[int, int]
    places: tuple[str, ...]


_MUNICIPALITIES: dict[str, _Muni] = {
    "GM0034": _Muni(215_000, 1976, (1311, 1363), ("Almere",)),
    "GM0050": _Muni(23_000, 1984, (3891, 3899), ("Zeewolde",)),
    "GM0171": _Muni(48_000, 1942, (8300, 8317), ("Emmeloord", "Marknesse", "Ens", "Luttelgeest")),
    "GM0184": _Muni(21_000, None, (8321, 8325), ("Urk",)),
    "GM0303": _Muni(42_000, 1960, (8250, 8256), ("Dronten", "Biddinghuizen", "Swifterbant")),
    "GM0307": _Muni(158_000, None, (3811, 3829), ("Amersfoort", "Hoogland")),
    "GM0308": _Muni(25_000, None, (3741, 3744), ("Baarn", "Lage Vuursche")),
    "GM0310": _Muni(43_000, None, (3721, 3739), ("Bilthoven", "De Bilt", "Maartensdijk",
                                                  "Westbroek")),
    "GM0312": _Muni(15_500, None, (3981, 3985), ("Bunnik", "Odijk", "Werkhoven")),
    "GM0313": _Muni(22_000, None, (3751, 3752), ("Bunschoten-Spakenburg", "Eemdijk")),
    "GM0317": _Muni(9_300, None, (3755, 3755), ("Eemnes",)),
    "GM0321": _Muni(50_000, None, (3991, 3998), ("Houten", "Schalkwijk", "'t Goy")),
    "GM0327": _Muni(30_000, None, (3831, 3835), ("Leusden", "Achterveld", "Stoutenburg")),
    "GM0331": _Muni(14_500, None, (3411, 3415), ("Lopik", "Lopikerkapel", "Polsbroek",
                                                  "Jaarsveld")),
    "GM0335": _Muni(14_000, None, (3417, 3419), ("Montfoort", "Linschoten")),
    "GM0339": _Muni(5_500, None, (3927, 3927), ("Renswoude",)),
    "GM0340": _Muni(20_000, None, (3911, 3912), ("Rhenen", "Elst", "Achterberg")),
    "GM0342": _Muni(47_000, None, (3761, 3769), ("Soest", "Soesterberg")),
    "GM0344": _Muni(359_000, None, (3511, 3585), ("Utrecht",)),
    "GM0345": _Muni(66_000, None, (3901, 3907), ("Veenendaal",)),
    "GM0351": _Muni(13_500, None, (3931, 3931), ("Woudenberg",)),
    "GM0352": _Muni(24_000, None, (3961, 3962), ("Wijk bij Duurstede", "Cothen", "Langbroek")),
    "GM0353": _Muni(34_500, None, (3401, 3404), ("IJsselstein",)),
    "GM0355": _Muni(65_000, None, (3701, 3712), ("Zeist", "Den Dolder", "Huis ter Heide",
                                                  "Austerlitz")),
    "GM0356": _Muni(64_000, None, (3431, 3439), ("Nieuwegein",)),
    "GM0376": _Muni(12_000, None, (1261, 1262), ("Blaricum",)),
    "GM0402": _Muni(91_000, None, (1211, 1223), ("Hilversum",)),
    "GM0406": _Muni(41_500, None, (1271, 1277), ("Huizen",)),
    "GM0417": _Muni(11_400, None, (1251, 1251), ("Laren",)),
    "GM0457": _Muni(19_800, None, (1381, 1384), ("Weesp",)),
    "GM0589": _Muni(10_300, None, (3421, 3421), ("Oudewater", "Hekendorp")),
    "GM0632": _Muni(52_500, None, (3441, 3449), ("Woerden", "Harmelen", "Kamerik", "Zegveld")),
    "GM0736": _Muni(45_000, None, (3641, 3648), ("Mijdrecht", "Vinkeveen", "Wilnis", "Abcoude")),
    "GM0995": _Muni(79_000, 1967, (8211, 8245), ("Lelystad",)),
    "GM1581": _Muni(50_000, None, (3941, 3958), ("Driebergen-Rijsenburg", "Doorn", "Leersum",
                                                  "Amerongen")),
    "GM1696": _Muni(24_500, None, (1231, 1244), ("Loosdrecht", "Kortenhoef",
                                                  "Nederhorst den Berg", "Ankeveen")),
    "GM1904": _Muni(65_000, None, (3601, 3633), ("Maarssen", "Breukelen", "Loenen aan de Vecht",
                                                  "Nigtevecht")),
    "GM1942": _Muni(58_000, None, (1401, 1411), ("Bussum", "Naarden", "Muiden")),
    "GM1961": _Muni(56_000, None, (4131, 4147), ("Vianen", "Leerdam", "Meerkerk", "Lexmond")),
}

# Addresses per inhabitant: the 39 municipalities give ~1.45 M town addresses at scale 1;
# estates and farms bring the region to ~1.5 M verblijfsobjecten.
_ADDRESSES_PER_INHABITANT = 1.45e6 / sum(m.inhabitants for m in _MUNICIPALITIES.values())
_TOWN_DENSITY = 1800.0          # addresses per km² in a town at scale 1 (sets the town size)
_FARMS_PER_KM2 = 2.0            # farm yards per km² of open countryside at scale 1
_DUMPINGS_PER_KM2 = 1 / 15      # drug-waste dumpings per km² of region (scale-independent)

# Approximate courses of the real motorways in RD metres (hand-read, a few hundred metres off
# is expected); smoothed before use.
_MOTORWAYS: dict[str, list[tuple[float, float]]] = {
    "A1": [(121000, 483500), (125000, 483000), (131000, 481800), (135500, 481000),
           (139500, 478800), (142500, 476000), (145000, 473200), (148500, 470200),
           (151500, 468300), (154500, 467000), (157500, 466200), (160500, 465500),
           (165000, 464500), (171000, 462500), (178000, 462500), (186000, 466000)],
    "A2": [(124500, 481500), (125800, 479000), (127000, 475500), (127800, 471000),
           (128500, 467500), (129800, 464000), (131000, 461000), (131500, 457000),
           (131500, 452500), (132600, 449000), (134300, 445800), (136500, 443300),
           (138600, 441200), (141500, 439000), (144500, 437200), (149000, 434000),
           (154000, 428000)],
    "A6": [(135500, 481000), (138500, 482500), (141500, 484500), (145000, 487500),
           (148000, 490500), (151500, 493500), (155500, 496800), (159500, 499500),
           (163500, 503500), (167500, 507800), (172000, 511500), (176000, 514500),
           (179000, 518500), (181000, 522500), (183500, 528000), (186000, 534000),
           (188500, 541000), (191000, 548000)],
    "A12": [(106000, 453500), (112000, 453300), (118000, 453000), (122000, 453700),
            (126000, 453800), (131500, 452500), (135500, 452200), (139000, 453000),
            (143000, 453200), (147000, 452000), (151000, 451000), (155000, 450300),
            (159500, 450000), (164000, 450500), (168000, 450800), (172000, 450500),
            (176000, 450300), (182000, 447000)],
    "A27": [(124000, 424000), (127000, 429000), (130000, 434000), (133500, 438500),
            (138600, 441200), (139500, 444500), (139800, 447500), (139300, 450500),
            (139000, 453000), (139000, 456500), (139300, 460000), (139800, 463000),
            (140500, 466500), (142500, 469500), (145000, 473200), (146000, 476500),
            (146200, 479500), (145800, 483000), (146000, 486500), (147500, 489500)],
    "A28": [(139000, 456500), (141500, 458300), (144500, 459800), (148000, 460800),
            (151500, 461000), (154500, 461500), (157500, 463300), (160500, 465500),
            (163500, 468500), (166500, 471500), (170000, 475000), (174000, 478500)],
    "A30": [(171000, 462500), (172500, 458000), (173500, 454000), (174000, 450300)],
}

# Rivers, canals and lakes: (typewater, half width in m, course in RD metres).
_WATERS: list[tuple[str, float, list[tuple[float, float]]]] = [
    # Lek / Nederrijn along the southern edge
    ("waterloop", 90, [(108000, 442000), (114000, 443300), (118000, 443000), (122000, 443800),
                       (126000, 441500), (131000, 442500), (134000, 445300), (138000, 445800),
                       (141000, 444000), (144500, 442200), (148000, 441700), (152000, 442000),
                       (157000, 443000), (161000, 443500), (165000, 441500), (170000, 440000),
                       (176000, 441000)]),
    # Amsterdam-Rijnkanaal
    ("waterloop", 50, [(124000, 483000), (126500, 478000), (128500, 472000), (130000, 467000),
                       (131300, 462000), (132300, 457000), (133500, 452500), (135500, 449500),
                       (139000, 448000), (143000, 446500), (147000, 444500), (150500, 443000)]),
    # Vecht
    ("waterloop", 20, [(136800, 458000), (134500, 460800), (131500, 462500), (129500, 465500),
                       (128800, 470000), (129200, 474500), (130500, 478500), (131500, 481500)]),
    # Eem
    ("waterloop", 25, [(155000, 463500), (153000, 466500), (151500, 469500), (150500, 473000),
                       (150500, 475500)]),
    # Hollandse IJssel
    ("waterloop", 20, [(132500, 448500), (129000, 449000), (125000, 448500), (121000, 447200),
                       (117000, 446500), (112000, 446000)]),
    # Oude Rijn
    ("waterloop", 15, [(134500, 456200), (129000, 455800), (124000, 455500), (119000, 455200),
                       (114000, 455500), (108000, 455000)]),
    # Kromme Rijn
    ("waterloop", 8, [(138000, 455000), (142000, 453000), (146000, 450500), (149000, 447000),
                      (150500, 443500)]),
    # Hoge Vaart (Flevoland)
    ("waterloop", 25, [(141000, 489500), (148000, 493500), (156000, 495000), (163000, 497000),
                       (170000, 501000), (176000, 505000), (180000, 509000)]),
    # Gooimeer / Eemmeer
    ("meer, plas", 700, [(131000, 483000), (135000, 482000), (139000, 481200), (143000, 480000),
                         (146500, 479000), (149500, 477000), (152500, 475300), (155000, 474200)]),
    # Nijkerkernauw / Wolderwijd
    ("meer, plas", 500, [(155000, 474200), (158000, 473600), (161500, 474600), (164500, 476500),
                         (167500, 479000), (169500, 482500)]),
    # Veluwemeer
    ("meer, plas", 450, [(169500, 482500), (171000, 486500), (174000, 489500), (178000, 491300),
                         (182500, 494000), (185500, 497500)]),
    # Drontermeer
    ("meer, plas", 300, [(185500, 497500), (187500, 502000), (188000, 507000), (186500, 511500)]),
    # Ketelmeer
    ("meer, plas", 900, [(182000, 513800), (186000, 514300), (190000, 515500), (194000, 517000)]),
    # Markermeer along the Flevoland coast
    ("meer, plas", 1800, [(133000, 490000), (139000, 497000), (145000, 502500), (151000, 507000),
                          (154000, 510000)]),
    # IJsselmeer west of Urk and the Noordoostpolder
    ("meer, plas", 1500, [(167000, 512500), (167500, 520000), (168500, 527000), (170500, 533000)]),
    # Loosdrechtse Plassen
    ("meer, plas", 700, [(129500, 467000), (132000, 467800), (135000, 468500)]),
    # Vinkeveense Plassen
    ("meer, plas", 500, [(123000, 472000), (124500, 470500), (126000, 469000)]),
    # Maarsseveense Plassen
    ("meer, plas", 300, [(131200, 460000), (132200, 459400)]),
]

_FOREST_TYPES = ("loofbos", "naaldbos", "gemengd bos", "heide")

# Forest and heath zones: course, spread across it (m), number of patches, patch radius range
# (m), and the shares of loofbos, naaldbos, gemengd bos and heide.
_FOREST_ZONES: list[tuple[list[tuple[float, float]], float, int, tuple[float, float],
                          tuple[float, float, float, float]]] = [
    # Utrechtse Heuvelrug
    ([(145000, 463500), (147500, 459000), (151500, 455500), (156000, 452000), (161000, 448000),
      (165500, 444500), (168000, 443000)], 3000, 120, (400, 1600), (0.15, 0.35, 0.30, 0.20)),
    # Het Gooi
    ([(137500, 466000), (139500, 470500), (142000, 474500)], 1800, 35, (300, 1200),
     (0.15, 0.30, 0.30, 0.25)),
    # Lage Vuursche, Baarnse bossen
    ([(143500, 466000), (147000, 467500), (150000, 466000)], 1800, 30, (300, 1200),
     (0.20, 0.35, 0.35, 0.10)),
    # Leusderheide, Den Treek
    ([(152000, 457500), (157000, 458500), (162000, 459500)], 1800, 30, (300, 1200),
     (0.15, 0.30, 0.25, 0.30)),
    # Horsterwold
    ([(155000, 478500), (160000, 478800), (165000, 479500)], 1500, 40, (300, 1400),
     (0.60, 0.10, 0.30, 0.0)),
    # Almeerderhout
    ([(143500, 483500), (147500, 483000)], 800, 8, (250, 900), (0.70, 0.0, 0.30, 0.0)),
    # Hollandse Hout, Lelystad
    ([(157000, 498000), (160500, 500000)], 800, 8, (250, 900), (0.70, 0.0, 0.30, 0.0)),
    # Roggebotzand, Dronten
    ([(180000, 507500), (184500, 511000)], 1000, 10, (250, 900), (0.60, 0.10, 0.30, 0.0)),
    # Kuinderbos
    ([(186500, 530000), (190500, 533500)], 1500, 25, (300, 1200), (0.30, 0.40, 0.30, 0.0)),
    # Voorsterbos
    ([(184000, 521500), (186000, 523000)], 700, 5, (250, 700), (0.70, 0.0, 0.30, 0.0)),
    # Amelisweerd
    ([(139500, 454500), (141500, 453800)], 400, 4, (200, 500), (0.80, 0.0, 0.20, 0.0)),
    # Grebbeberg
    ([(165000, 443500), (169500, 445000)], 800, 8, (250, 800), (0.40, 0.20, 0.40, 0.0)),
]

# Real BAG values.
_PAND_STATUS = ("Pand in gebruik", "Pand buiten gebruik", "Pand in gebruik (niet ingemeten)",
                "Sloopvergunning verleend", "Verbouwing pand")
_VBO_STATUS = ("Verblijfsobject in gebruik", "Verblijfsobject buiten gebruik",
               "Verblijfsobject in gebruik (niet ingemeten)", "Verbouwing verblijfsobject")
# vbo status for each pand status (a pand with a demolition permit stands empty)
_VBO_FOR_PAND = np.array([0, 1, 2, 1, 3])
_DOELEN = ("woonfunctie", "industriefunctie", "kantoorfunctie", "winkelfunctie",
           "bijeenkomstfunctie", "logiesfunctie", "overige gebruiksfunctie")
_WOON, _INDUSTRIE, _KANTOOR, _WINKEL, _BIJEENKOMST, _LOGIES, _OVERIG = range(7)
_SOORTEN = ("vaten", "jerrycans", "afvalzakken", "bestelbus")

_STREET_PREFIXES = (
    "Eiken", "Beuken", "Linden", "Berken", "Esdoorn", "Kastanje", "Wilgen", "Populieren",
    "Iepen", "Vlier", "Hazelaar", "Meidoorn", "Rozen", "Tulpen", "Narcissen", "Lelie",
    "Merel", "Lijster", "Spreeuwen", "Mezen", "Vinken", "Zwaluw", "Reiger", "Kievit",
    "Kerk", "Molen", "School", "Dorps", "Markt", "Haven", "Sluis", "Brug", "Poort",
    "Rembrandt", "Vermeer", "Bach", "Mozart", "Vondel", "Erasmus", "Oranje", "Nassau",
    "Prinses Irene", "Juliana", "Beatrix", "Wilhelmina", "Rijn", "Maas", "Waal", "IJssel",
    "Dommel", "Ganzen", "Zwanen", "Boomgaard", "Akker", "Weide", "Esdoorn", "Gentiaan",
)
_STREET_SUFFIXES = ("straat", "laan", "weg", "hof", "plein", "singel", "dreef", "kade")
_RURAL_ROADS = (
    "Hoofdweg", "Middenweg", "Polderweg", "Zeeweg", "Dijkweg", "Kavelweg", "Tochtweg",
    "Vaartweg", "Veenweg", "Broekweg", "Achterweg", "Bosweg", "Heideweg", "Slaperdijk",
    "Knardijk", "Ganzenweg", "Lange Dreef", "Oude Kerkweg", "Hoge Dijk", "Lage Dijk",
    "Wetering-Oost", "Wetering-West", "Molenweg", "Graafweg", "Ringweg", "Noorderweg",
    "Zuiderweg", "Oosterweg", "Westerweg", "Koeweg", "Schapendijk", "Kampweg",
)
_ESTATE_STREETS = (
    "Industrieweg", "Ambachtsweg", "Nijverheidsweg", "Handelsweg", "Edisonweg",
    "Marconistraat", "Newtonweg", "Wattstraat", "Voltaweg", "Fokkerstraat", "Ampèrestraat",
    "Transportweg", "Energieweg", "Kelvinstraat", "Celsiusweg", "Ohmweg", "Bessemerstraat",
    "Diamantweg", "Zilverweg", "Koperweg", "Platinaweg", "IJzerweg", "Tinweg", "Nikkelweg",
    "Loodsweg", "Expeditieweg", "Vrachtweg", "Containerweg",
)
_ESTATE_NAMES = (
    "De Wetering", "Het Klooster", "De Liede", "Lage Weide", "Papendorp", "De Brand",
    "Het Schoter", "De Vaart", "De Kronkels", "Larserpoort", "De Meent", "De Hoef",
    "Het Ambacht", "De Stadsweide", "Het Wegdam", "De Ooster", "De Horst", "De Kamp",
    "Het Hoogveld", "De Gaarde", "De Schaft", "De Veldhoek", "De Driehoek", "Het Broek",
    "De Beemd", "Het Veer", "De Mark", "De Ploeg", "De Kade", "Het Riet", "De Zeven Morgen",
    "De Grift", "Het Spijk", "De Molenwaard", "De Koppeling", "De Vlasakker", "Het Zwanenveld",
    "De Eng", "Het Esch", "De Schans", "Het Eiland", "De Haven", "Haven-Oost", "Haven-West",
    "De Werf", "Het Laar", "De Nijverheid", "De Tolhoek", "Het Molenveld", "De Voorde",
    "De Weerd", "De Doornhoek", "Het Rijnveld", "De Strook", "De Poort", "Het Kwadrant",
    "De Vlinder", "Oudeland", "Nieuwland", "De Corridor",
)
# Postcode letters: never F, I, O, Q, U, Y; never SA, SD, SS.
_PC_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"
_PC_PAIRS = np.array([a + b for a in _PC_LETTERS for b in _PC_LETTERS
                      if a + b not in ("SA", "SD", "SS")], dtype=object)
_URBAN_STREETS = np.array([p + s for p in dict.fromkeys(_STREET_PREFIXES)
                           for s in _STREET_SUFFIXES], dtype=object)

# Town lattice: 250 m blocks, oriented per 750 m neighbourhood, divided into plots of 12 × 22 m.
_BLOCK = 250.0
_CU, _CV = 12.0, 22.0
_CELL_R = 0.5 * float(np.hypot(_CU, _CV))
_LAT_I, _LAT_J = (a.ravel() for a in np.meshgrid(np.arange(-15, 15), np.arange(-9, 9)))
_URBAN_MIN = 400.0      # addresses per km² (scale 1) that make a 250 m block part of a town
_YEAR_NOW = 2021


# ---------------------------------------------------------------------------------------------
# small vectorised helpers
# ---------------------------------------------------------------------------------------------

_U64 = np.uint64


def _mix(x: np.ndarray) -> np.ndarray:
    """Splitmix64 finaliser on a uint64 array (wraps silently, as intended)."""
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _hash(seed: int, *keys) -> np.ndarray:
    """Deterministic 64-bit hash of integer key arrays (broadcast), mixed with the seed."""
    arrays = np.broadcast_arrays(*[np.atleast_1d(np.asarray(k, dtype=np.int64)) for k in keys])
    h = np.full(arrays[0].shape, seed & 0x7FFFFFFFFFFFFFFF, dtype=np.int64).astype(_U64)
    h = _mix(h)
    for k in arrays:
        h = _mix(h ^ k.astype(_U64))
    return h


def _hash_uniform(seed: int, *keys) -> np.ndarray:
    """Uniform floats in [0, 1) from :func:`_hash`."""
    return (_hash(seed, *keys) >> _U64(11)).astype(np.float64) * 2.0**-53


def _rng(seed: int, stream: str, *keys: int) -> np.random.Generator:
    """Return an independent random stream per purpose (and municipality, town, ...)."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), *keys])


def _rectangles(cx, cy, lu, lv, angle) -> np.ndarray:
    """Rotated rectangles (centre, side along ``angle``, side across) as polygons."""
    du = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    dv = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    u, v = lu[:, None] * du, lv[:, None] * dv
    x = np.round(cx[:, None] + c * u - s * v, 3)
    y = np.round(cy[:, None] + s * u + c * v, 3)
    return shapely.polygons(np.stack([x, y], axis=-1))


def _chaikin(xy: np.ndarray, n: int = 2) -> np.ndarray:
    """Smooth a polyline by corner cutting, keeping its end points."""
    for _ in range(n):
        p, q = xy[:-1], xy[1:]
        cut = np.empty((2 * len(p), 2))
        cut[0::2] = 0.75 * p + 0.25 * q
        cut[1::2] = 0.25 * p + 0.75 * q
        xy = np.vstack([xy[:1], cut, xy[-1:]])
    return xy


class _Polyline:
    """A polyline as arrays, with vectorised position and direction along it."""

    def __init__(self, xy) -> None:
        self.xy = np.asarray(xy, dtype=float)
        seg = np.diff(self.xy, axis=0)
        self.seglen = np.hypot(seg[:, 0], seg[:, 1])
        self.cum = np.concatenate([[0.0], np.cumsum(self.seglen)])
        self.length = float(self.cum[-1])
        self.unit = seg / self.seglen[:, None]

    def at(self, d) -> tuple[np.ndarray, np.ndarray]:
        """Points and unit tangents at distances ``d`` along the line."""
        d = np.clip(np.asarray(d, dtype=float), 0.0, self.length)
        i = np.clip(np.searchsorted(self.cum, d, side="right") - 1, 0, len(self.seglen) - 1)
        t = (d - self.cum[i])[:, None]
        return self.xy[i] + t * self.unit[i], self.unit[i]

    def pieces(self, breaks) -> list[np.ndarray]:
        """Coordinates of the pieces between consecutive break distances."""
        breaks = np.unique(np.clip(np.concatenate([[0.0], breaks, [self.length]]), 0,
                                   self.length))
        pts, _ = self.at(breaks)
        out = []
        for k in range(len(breaks) - 1):
            a, b = breaks[k], breaks[k + 1]
            inner = self.xy[1:-1][(self.cum[1:-1] > a) & (self.cum[1:-1] < b)]
            out.append(np.vstack([pts[k:k + 1], inner, pts[k + 1:k + 2]]))
        return out


def _split_lengths(rng: np.random.Generator, length: float, lo: float, hi: float) -> np.ndarray:
    """Break distances that cut ``length`` into pieces of ``lo``–``hi`` metres."""
    steps = rng.uniform(lo, hi, int(length // lo) + 2)
    cuts = np.cumsum(steps)
    return cuts[cuts < length - lo / 2]


def _lines(geoms) -> np.ndarray:
    """Keep the LineString parts (longer than 1 m) of geometries."""
    geoms = shapely.get_parts(np.atleast_1d(np.asarray(geoms, dtype=object)))
    keep = (shapely.get_type_id(geoms) == 1) & (shapely.length(geoms) > 1.0)
    return geoms[keep]


def _polys(geoms, min_area: float = 0.0) -> np.ndarray:
    """Keep the Polygon parts (larger than ``min_area``) of geometries."""
    parts = shapely.get_parts(np.atleast_1d(np.asarray(geoms, dtype=object)))
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > min_area)
    return parts[keep]


def _group_rank(keys: np.ndarray, order_keys: tuple) -> np.ndarray:
    """Rank (0, 1, ...) of each row within its ``keys`` group, ordered by ``order_keys``."""
    order = np.lexsort((*order_keys[::-1], keys))
    sk = keys[order]
    start = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(sk)]))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - first
    return rank


def _group_extent(keys: np.ndarray, values: np.ndarray):
    """Per group of ``keys`` (sorted): index of its first row, min and max of ``values``."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    v = values[order]
    return order[start], np.minimum.reduceat(v, start), np.maximum.reduceat(v, start)


def _choice_str(values, idx) -> np.ndarray:
    """Object array of strings picked by index."""
    return np.asarray(values, dtype=object)[np.asarray(idx, dtype=np.int64)]


# ---------------------------------------------------------------------------------------------
# the generator
# ---------------------------------------------------------------------------------------------


@dataclass
class _Objects:
    """Panden (one row each) and their verblijfsobjecten, as plain arrays."""

    # pand
    poly: list = field(default_factory=list)
    muni: list = field(default_factory=list)
    bouwjaar: list = field(default_factory=list)
    status: list = field(default_factory=list)
    # verblijfsobject
    vx: list = field(default_factory=list)
    vy: list = field(default_factory=list)
    vpand: list = field(default_factory=list)     # index into this part's panden
    doel: list = field(default_factory=list)
    opp: list = field(default_factory=list)
    street: list = field(default_factory=list)
    nummer: list = field(default_factory=list)
    pc_key: list = field(default_factory=list)    # int64 key that selects the postcode
    town: list = field(default_factory=list)
    kvk: list = field(default_factory=list)
    agrarisch: list = field(default_factory=list)

    def add(self, *, pand: dict, vbo: dict) -> None:
        """Append one part; ``vbo['vpand']`` indexes into ``pand`` arrays."""
        offset = sum(len(p) for p in self.poly)
        for name, arr in pand.items():
            getattr(self, name).append(np.asarray(arr))
        for name, arr in vbo.items():
            arr = np.asarray(arr)
            getattr(self, name).append(arr + offset if name == "vpand" else arr)

    def cat(self, name: str) -> np.ndarray:
        """All parts of one attribute, concatenated."""
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.array([])


class _Generator:
    """Builds every synthetic layer for a set of municipalities."""

    def __init__(self, gm: gpd.GeoDataFrame, *, seed: int, scale: float,
                 info: list[_Muni] | None = None,
                 motorways: dict[str, list[tuple[float, float]]] | None = None,
                 waters: list | None = None, forest_zones: list | None = None) -> None:
        """``info``, ``motorways``, ``waters`` and ``forest_zones`` default to the region's
        fixed knowledge; other areas (``benchmarks/country.py``) pass their own."""
        self.seed, self.scale = seed, scale
        self.motorway_courses = _MOTORWAYS if motorways is None else motorways
        self.water_courses = _WATERS if waters is None else waters
        self.forest_zones = _FOREST_ZONES if forest_zones is None else forest_zones
        self.gm = gm.reset_index(drop=True)
        self.codes = self.gm["statcode"].to_numpy(dtype=object)
        self.names = self.gm["statnaam"].to_numpy(dtype=object)
        self.code_int = np.array([int(c[2:]) for c in self.codes])
        self.polys = np.asarray(self.gm.geometry.values, dtype=object)
        self.flevoland = (self.gm["provincie"] == "Flevoland").to_numpy() \
            if "provincie" in self.gm else np.zeros(len(self.gm), bool)
        self.info = list(info) if info is not None else [
            _MUNICIPALITIES.get(c) or self._fallback_info(m) for m, c in enumerate(self.codes)]
        self.region = shapely.union_all(self.polys)
        self.halo2 = self.region.buffer(2000)
        shapely.prepare(self.region)
        shapely.prepare(self.halo2)
        self.streets: list[pd.DataFrame] = []     # NWB rows, in the order they are made
        self.obj = _Objects()

    def make_all(self) -> _Generator:
        """Every feature in dependency order (towns first, farms last); returns self."""
        self.make_towns()
        self.make_water()
        self.make_motorways()
        self.make_estates()
        self.make_estate_premises()
        self.make_dwellings()
        self.make_forest()
        self.make_roads()
        self.make_farms()
        return self

    def _fallback_info(self, m: int) -> _Muni:
        area = shapely.area(self.polys[m]) / 1e6
        lo = 1000 + int(_hash(self.seed, self.code_int[m])[0] % _U64(8000))
        return _Muni(int(area * 300), None, (lo, lo + 5), (str(self.names[m]),))

    def rng(self, stream: str, *keys: int) -> np.random.Generator:
        return _rng(self.seed, stream, *keys)

    # -- towns --------------------------------------------------------------------------------

    def make_towns(self) -> None:
        """1–4 towns per municipality: centre, size, name, base building year."""
        rows = []
        for m, poly in enumerate(self.polys):
            info = self.info[m]
            rng = self.rng("towns", self.code_int[m])
            k = min(len(info.places), 4)
            share = np.array([1.0, 0.35, 0.2, 0.12])[:k] * rng.uniform(0.75, 1.25, k)
            n_full = info.inhabitants * _ADDRESSES_PER_INHABITANT * share / share.sum()
            radius = np.maximum(1000 * np.sqrt(n_full / (np.pi * _TOWN_DENSITY)), 200.0)
            main = shapely.point_on_surface(poly)
            xy = [(main.x, main.y)]
            for t in range(1, k):
                inner = poly.buffer(-min(radius[t], 800.0))
                cand = _sample_in(inner if not inner.is_empty else poly, 300, rng)
                placed = np.array(xy)
                d = np.hypot(cand[:, None, 0] - placed[None, :, 0],
                             cand[:, None, 1] - placed[None, :, 1])
                score = (d / (radius[t] + radius[:t][None, :] + 500.0)).min(axis=1)
                good = np.flatnonzero(score >= 1.5)
                xy.append(tuple(cand[good[0]] if len(good) else cand[np.argmax(score)]))
            for t in range(k):
                n_sub = int(rng.integers(2, 6))
                ang = rng.uniform(0, 2 * np.pi, n_sub)
                dist = rng.uniform(0.25, 0.9, n_sub) * radius[t]
                rows.append({
                    "muni": m, "name": info.places[t], "x": float(xy[t][0]), "y": float(xy[t][1]),
                    "R": float(radius[t]), "n_full": float(n_full[t]),
                    "n": int(round(n_full[t] * self.scale)),
                    "year0": float(info.founded or (1900 if t == 0 else 1910)),
                    "sub_x": xy[t][0] + dist * np.cos(ang), "sub_y": xy[t][1] + dist * np.sin(ang),
                    "sub_s": rng.uniform(0.15, 0.3, n_sub) * radius[t],
                })
        self.towns = pd.DataFrame(rows)
        self.tx = self.towns["x"].to_numpy()
        self.ty = self.towns["y"].to_numpy()
        self.tR = self.towns["R"].to_numpy()
        self.tmuni = self.towns["muni"].to_numpy()

    # -- water --------------------------------------------------------------------------------

    def make_water(self) -> None:
        """Rivers, canals and lakes as buffered courses, clipped to the region + 2 km."""
        lines = np.array([shapely.LineString(c) for _, _, c in self.water_courses], dtype=object)
        kinds = np.array([k for k, _, _ in self.water_courses])
        widths = np.array([w for _, w, _ in self.water_courses], float)
        near = shapely.intersects(lines, self.halo2.buffer(2000))
        polys = shapely.buffer(lines[near], widths[near], quad_segs=4)
        kinds = kinds[near]
        lakes = shapely.union_all(polys[kinds == "meer, plas"])
        rivers = shapely.difference(shapely.union_all(polys[kinds == "waterloop"]), lakes)
        out_geom, out_kind = [], []
        for kind, geom in (("meer, plas", lakes), ("waterloop", rivers)):
            parts = _polys(shapely.intersection(geom, self.halo2), min_area=100.0)
            out_geom.append(parts)
            out_kind.append(np.full(len(parts), kind, dtype=object))
        self.water = gpd.GeoDataFrame(
            {"typewater": np.concatenate(out_kind)},
            geometry=np.concatenate(out_geom), crs=RD)
        self.water_union = shapely.union_all(self.water.geometry.values)
        shapely.prepare(self.water_union)

    # -- motorways ----------------------------------------------------------------------------

    def make_motorways(self) -> None:
        """Motorway wegvakken (HR), parallel roads near Utrecht (PST), exits (AFR/OPR)."""
        rows: list[dict] = []
        self.exits = []            # (x, y, tx, ty) of every exit inside the halo
        self.motorways = []        # full smoothed polylines (for estates along them)
        lines = []
        for name, course in self.motorway_courses.items():
            rng = self.rng("motorway", zlib.crc32(name.encode()))
            line = _Polyline(_chaikin(np.array(course, float), 3))
            if not shapely.intersects(shapely.linestrings(line.xy), self.halo2.buffer(3000)):
                continue
            self.motorways.append((name, line))
            lines.append(shapely.linestrings(line.xy))
            meta = {"WEGNUMMER": name, "WEGBEHSRT": "R", "STT_NAAM": f"Rijksweg {name}"}
            for piece in line.pieces(_split_lengths(rng, line.length, 1000, 2000)):
                rows.append(dict(geometry=shapely.linestrings(piece), BST_CODE="HR", **meta))
                mid = piece[len(piece) // 2]
                if np.hypot(mid[0] - 136_900, mid[1] - 455_900) < 6000 and name != "A28":
                    for side in (-30.0, 30.0):
                        rows.append(dict(geometry=shapely.offset_curve(
                            shapely.linestrings(piece), side), BST_CODE="PST", **meta))
            exits = rng.uniform(1000, 4000) + np.cumsum(
                np.r_[0.0, rng.uniform(4000, 8000, int(line.length // 4000) + 1)])
            exits = exits[exits < line.length - 1000]
            for s in exits:
                lr = rng.uniform(300, 550)
                frac = np.array([0.0, 0.4, 0.75, 1.0])
                off = np.array([0.0, 8.0, 30.0, 60.0])
                p, t = line.at([s])
                p, t = p[0], t[0]
                right = np.array([t[1], -t[0]])
                if not self.halo2.contains(shapely.Point(p)):
                    continue
                self.exits.append((p[0], p[1], t[0], t[1]))
                for direction, side in ((1.0, right), (-1.0, -right)):
                    q, _ = line.at(s - direction * lr * (1 - frac))        # before the exit
                    afr = q + off[:, None] * side
                    q, _ = line.at(s + direction * lr * (1 - frac[::-1]))  # after the exit
                    opr = q + off[::-1, None] * side
                    rows.append(dict(geometry=shapely.linestrings(afr), BST_CODE="AFR", **meta))
                    rows.append(dict(geometry=shapely.linestrings(opr), BST_CODE="OPR", **meta))
                # the road that crosses the motorway at the exit
                lc = rng.uniform(600, 1500)
                cross = np.array([p - lc * right, p, p + lc * right])
                rows.append({"geometry": shapely.linestrings(cross), "BST_CODE": "",
                             "WEGNUMMER": "", "WEGBEHSRT": "G",
                             "STT_NAAM": _RURAL_ROADS[int(rng.integers(len(_RURAL_ROADS)))]})
        self.motorway_lines = shapely.MultiLineString(lines)
        self._add_roads(rows)

    def _add_roads(self, rows: list[dict]) -> None:
        """Clip road rows to the region + 2 km and keep them for the NWB layer."""
        if not rows:
            return
        df = pd.DataFrame(rows)
        geoms = shapely.intersection(df["geometry"].to_numpy(), self.halo2)
        parts, idx = shapely.get_parts(geoms, return_index=True)
        keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 1.0)
        out = df.iloc[idx[keep]].reset_index(drop=True)
        out["geometry"] = parts[keep]
        self.streets.append(out)

    # -- industrial estates -------------------------------------------------------------------

    def make_estates(self) -> None:
        """1–4 estates per municipality at town edges or along a motorway."""
        rows = []
        taken = shapely.Polygon()
        keep_out = self.water_union.buffer(30)
        keep_out = shapely.union(keep_out, self.motorway_lines.buffer(40))
        for m, poly in enumerate(self.polys):
            info = self.info[m]
            rng = self.rng("estates", self.code_int[m])
            towns = np.flatnonzero(self.tmuni == m)
            pop = info.inhabitants
            area_km2 = shapely.area(poly) / 1e6
            n_est = int(np.clip(1 + round(pop / 45_000 + area_km2 / 250), 1, 4))
            inner = poly.buffer(-60)
            shapely.prepare(inner)
            mw_parts = _lines(shapely.intersection(self.motorway_lines, poly.buffer(-400)))
            founded = info.founded or 1945
            for k in range(n_est):
                kind = "stadsrand" if k == 0 or len(mw_parts) == 0 or rng.random() < 0.55 \
                    else "snelweg"
                ha = float(np.clip(rng.lognormal(np.log(18 * np.sqrt(1 + pop / 60_000)), 0.6),
                                   5, 150))
                for _attempt in range(40):
                    aspect = rng.uniform(1.0, 2.2)
                    w = np.sqrt(ha * 1e4 * aspect)
                    h = ha * 1e4 / w
                    if kind == "snelweg":
                        lengths = shapely.length(mw_parts)
                        part = mw_parts[rng.choice(len(mw_parts), p=lengths / lengths.sum())]
                        pl = _Polyline(shapely.get_coordinates(part))
                        p, t = pl.at([rng.uniform(0, pl.length)])
                        p, t = p[0], t[0]
                        side = rng.choice([-1.0, 1.0])
                        normal = np.array([-t[1], t[0]]) * side
                        centre = p + normal * (h / 2 + rng.uniform(120, 400))
                        angle = np.arctan2(t[1], t[0])
                    else:
                        t_i = towns[0] if k == 0 or rng.random() < 0.5 else rng.choice(towns)
                        ang = rng.uniform(0, 2 * np.pi)
                        dist = self.tR[t_i] * rng.uniform(0.75, 1.05) + 0.5 * max(w, h)
                        centre = np.array([self.tx[t_i] + dist * np.cos(ang),
                                           self.ty[t_i] + dist * np.sin(ang)])
                        angle = rng.uniform(0, np.pi)
                    cw, ch = rng.uniform(0, 0.35) * w, rng.uniform(0, 0.35) * h
                    local = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2 - ch),
                                      (w / 2 - cw, h / 2), (-w / 2, h / 2)])
                    c, s = np.cos(angle), np.sin(angle)
                    xy = centre + local @ np.array([[c, s], [-s, c]])
                    cand = shapely.intersection(shapely.Polygon(xy), inner)
                    cand = shapely.difference(cand, keep_out)
                    parts = _polys([cand])
                    if len(parts) == 0:
                        continue
                    cand = parts[np.argmax(shapely.area(parts))]
                    d_town = np.hypot(self.tx - centre[0], self.ty - centre[1]) / self.tR
                    if (shapely.area(cand) >= max(0.7 * ha, 5.2) * 1e4
                            and not shapely.intersects(cand, taken)
                            and (kind == "stadsrand" or d_town.min() > 1.0)
                            and not shapely.contains_xy(cand, self.tx, self.ty).any()):
                        break
                else:
                    continue
                cand = shapely.set_precision(cand, 0.01)
                taken = shapely.union(taken, cand.buffer(150))
                near = towns[np.argmin(np.hypot(self.tx[towns] - centre[0],
                                                self.ty[towns] - centre[1]))]
                lo = max(1950, founded + 3)
                year = int(rng.integers(lo if kind == "stadsrand" else max(lo, 1975), 2016))
                rows.append({"geometry": cand, "angle": angle, "muni": m, "town": near,
                             "kind": kind, "JAAR_UITGIFTE": year,
                             "stadsrand": int(kind == "stadsrand")})
        est = pd.DataFrame(rows)
        names = self.rng("estate-names").permutation(len(_ESTATE_NAMES))
        serial = np.arange(len(est))
        est["PLAN_NAAM"] = [_ESTATE_NAMES[names[i % len(names)]]
                            + ("" if i < len(names) else " II") for i in serial]
        est["rank"] = est.groupby("muni").cumcount()
        self.estates = est
        self.estates_union = shapely.union_all(est["geometry"].to_numpy()) if len(est) \
            else shapely.Polygon()

    def estates_frame(self) -> gpd.GeoDataFrame:
        """Return the IBIS-shaped bedrijventerreinen layer."""
        est = self.estates
        m = est["muni"].to_numpy()
        area = shapely.area(est["geometry"].to_numpy())
        return gpd.GeoDataFrame({
            "RIN_NUMMER": [f"{self.code_int[i]:04d}{r + 1:02d}"
                           for i, r in zip(m, est["rank"], strict=True)],
            "PLAN_NAAM": est["PLAN_NAAM"].astype(object).to_numpy(),
            "GEM_NAAM": self.names[m],
            "GEMEENTECODE": self.codes[m],
            "BRUTO_OPP_HA": np.round(area / 1e4, 2),
            "JAAR_UITGIFTE": est["JAAR_UITGIFTE"].to_numpy(np.int32),
            "stadsrand": est["stadsrand"].to_numpy(np.int32),
        }, geometry=est["geometry"].to_numpy(), crs=RD)

    def make_estate_premises(self) -> None:
        """Premises on a plot lattice aligned with each estate; streets between the rows."""
        road_rows = []
        for e, row in self.estates.iterrows():
            rng = self.rng("premises", self.code_int[row["muni"]], int(row["rank"]))
            geom = row["geometry"]
            cu, cv = rng.uniform(45, 80), rng.uniform(50, 90)
            half = 0.5 * np.hypot(cu, cv) + 2
            inner = geom.buffer(-half)
            if inner.is_empty:
                cu, cv = 45.0, 50.0
                half = 0.5 * np.hypot(cu, cv) + 2
                inner = geom.buffer(-half)
            angle = row["angle"]
            c, s = np.cos(angle), np.sin(angle)
            origin = np.array(shapely.get_coordinates(shapely.centroid(geom))[0])
            rel = shapely.get_coordinates(geom) - origin
            u, v = rel @ np.array([c, s]), rel @ np.array([-s, c])
            ii, jj = np.meshgrid(np.arange(np.floor(u.min() / cu), np.ceil(u.max() / cu)),
                                 np.arange(np.floor(v.min() / cv), np.ceil(v.max() / cv)))
            ii, jj = ii.ravel(), jj.ravel()
            uc, vc = (ii + 0.5) * cu, (jj + 0.5) * cv
            cx, cy = origin[0] + c * uc - s * vc, origin[1] + s * uc + c * vc
            ok = shapely.contains_xy(inner, cx, cy) if not inner.is_empty \
                else np.zeros(len(cx), bool)
            if not ok.any():
                p = shapely.get_coordinates(shapely.point_on_surface(geom))[0]
                cx, cy, ii, jj = np.array([p[0]]), np.array([p[1]]), np.zeros(1), np.zeros(1)
                cu, cv, ok = 30.0, 30.0, np.ones(1, bool)
            cells = np.flatnonzero(ok)
            ii, jj = ii.astype(np.int64), jj.astype(np.int64)
            # the estate's streets: one between every two rows of plots (whatever the scale)
            street = jj // 2
            first, lo, hi = _group_extent(street[cells], ii[cells])
            names_all = _choice_str(_ESTATE_STREETS, (int(_hash(self.seed, 8, e)[0] % _U64(100))
                                                      + street) % len(_ESTATE_STREETS))
            u0, u1 = lo * cu, (hi + 1) * cu
            vv = (2 * street[cells][first] + 1) * cv
            xy = origin + np.stack([np.stack([c * u0 - s * vv, s * u0 + c * vv], -1),
                                    np.stack([c * u1 - s * vv, s * u1 + c * vv], -1)], 1)
            road_rows.append(pd.DataFrame({
                "geometry": shapely.linestrings(np.round(xy, 2)), "BST_CODE": "",
                "WEGNUMMER": "", "WEGBEHSRT": "G", "STT_NAAM": names_all[cells][first]}))
            # the premises: a share of the plots (scale), at least three per estate
            n = max(min(3, len(cells)), int(rng.binomial(len(cells), min(0.9 * self.scale, 1))))
            pick = np.sort(rng.choice(cells, n, replace=False))
            cx, cy, ii, jj = cx[pick], cy[pick], ii[pick], jj[pick]
            # footprint 200–5000 m², aligned with the lattice and inside the plot
            area = np.exp(rng.uniform(np.log(200), np.log(5000), n))
            aspect = rng.uniform(1.0, 2.5, n)
            lu, lv = np.sqrt(area * aspect), np.sqrt(area / aspect)
            f = np.minimum(1.0, np.minimum(0.9 * cu / lu, 0.9 * cv / lv))
            lu, lv = lu * f, lv * f
            su = rng.uniform(-0.5, 0.5, n) * (0.9 * cu - lu)
            sv = rng.uniform(-0.5, 0.5, n) * (0.9 * cv - lv)
            px, py = cx + c * su - s * sv, cy + s * su + c * sv
            ang = np.full(n, angle)
            year0 = int(row["JAAR_UITGIFTE"])
            bouwjaar = np.minimum(year0 + rng.exponential(8, n).astype(int), _YEAR_NOW)
            renew = rng.random(n) < 0.1
            bouwjaar[renew] = rng.integers(year0, _YEAR_NOW + 1, renew.sum())
            p_vacant = 0.06 + 0.08 * (2015 - year0) / 65
            vacant = rng.random(n) < p_vacant
            status = rng.choice([0, 2, 4, 3], n, p=[0.96, 0.01, 0.02, 0.01])
            status[vacant] = 1
            doel = rng.choice([_INDUSTRIE, _KANTOOR, _WINKEL], n, p=[0.6, 0.27, 0.13])
            kvk = 1 + rng.negative_binomial(1, 0.55, n)
            letterbox = rng.random(n) < 0.02
            kvk[letterbox] = rng.integers(10, 41, letterbox.sum())
            kvk[vacant] = np.where(rng.random(vacant.sum()) < 0.15,
                                   rng.integers(1, 3, vacant.sum()), 0)
            opp = np.clip(np.round(lu * lv * rng.uniform(0.85, 1.3, n)), 200, 5000)
            a, b = rng.uniform(-0.3, 0.3, n) * lu, rng.uniform(-0.3, 0.3, n) * lv
            self.obj.add(
                pand={"poly": _rectangles(px, py, lu, lv, ang), "muni": np.full(n, row["muni"]),
                      "bouwjaar": bouwjaar, "status": status},
                vbo={"vx": px + c * a - s * b, "vy": py + s * a + c * b, "vpand": np.arange(n),
                     "doel": doel, "opp": opp, "street": names_all[pick],
                     "nummer": _group_rank(jj // 2, (ii, jj)) + 1,
                     "pc_key": _hash(self.seed, 7, e, jj // 2).view(np.int64),
                     "town": np.full(n, row["town"]), "kvk": kvk,
                     "agrarisch": np.zeros(n, bool)})
        self._estate_streets = pd.concat(road_rows, ignore_index=True) if road_rows else []

    # -- dwellings ----------------------------------------------------------------------------

    def _block_angle(self, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
        """Street orientation of a 250 m block: shared by its 750 m neighbourhood, ±5°."""
        base = _hash_uniform(self.seed, 1, bx // 3, by // 3) * np.pi
        return base + np.radians(10) * (_hash_uniform(self.seed, 9, bx, by) - 0.5)

    def _lattice_key(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Key of the plot (block, column, row) that each point falls in."""
        bx, by = np.floor(x / _BLOCK).astype(np.int64), np.floor(y / _BLOCK).astype(np.int64)
        theta = self._block_angle(bx, by)
        c, s = np.cos(theta), np.sin(theta)
        dx, dy = x - (bx + 0.5) * _BLOCK, y - (by + 0.5) * _BLOCK
        i = np.floor((c * dx + s * dy) / _CU).astype(np.int64)
        j = np.floor((-s * dx + c * dy) / _CV).astype(np.int64)
        return ((bx * 4096 + by) * 64 + (i + 32)) * 64 + (j + 32)

    def make_dwellings(self) -> None:
        """Town addresses: clustered samples on the towns' plots; a plot with several is a block.

        Each town owns the lattice plots of its urban blocks (expected density at scale 1 of
        at least ``_URBAN_MIN`` addresses per km²), which also fixes its streets; ``scale``
        only thins the addresses, not the town.
        """
        block = shapely.union_all([self.estates_union.buffer(30), self.water_union.buffer(12),
                                   self.motorway_lines.buffer(45)])
        parts, streets = [], []
        for m, poly in enumerate(self.polys):
            towns = np.flatnonzero(self.tmuni == m)
            allowed = shapely.difference(poly.buffer(-16), block)
            shapely.prepare(allowed)
            for t in towns:
                plots = self._plots(t, towns, allowed)
                if len(plots["key"]) == 0:
                    continue
                streets.append(self._town_streets(plots))
                part = self._sample_town(t, plots)
                if part is not None:
                    parts.append(part)
        cols = ["town", "key", "cx", "cy", "theta", "bx", "by", "i", "j", "r"]
        d = {c: np.concatenate([p[c] for p in parts]) for c in cols} if parts \
            else {c: np.array([], float) for c in cols}
        self._urban_streets = pd.concat(streets, ignore_index=True) if streets else []
        blocks = np.unique(np.c_[d["bx"], d["by"]].astype(np.int64), axis=0) if parts \
            else np.empty((0, 2), np.int64)
        self.urban = shapely.union_all(shapely.box(
            blocks[:, 0] * _BLOCK, blocks[:, 1] * _BLOCK, (blocks[:, 0] + 1) * _BLOCK,
            (blocks[:, 1] + 1) * _BLOCK))
        shapely.prepare(self.urban)
        self._place_dwellings(d)

    def _components(self, t: int):
        """Centres, spreads and weights of town ``t``'s Gaussian mixture."""
        row = self.towns.iloc[t]
        cx = np.r_[row["x"], row["sub_x"]]
        cy = np.r_[row["y"], row["sub_y"]]
        sd = np.r_[row["R"] / 1.7, row["sub_s"]]
        w = np.r_[0.5, np.full(len(row["sub_x"]), 0.5 / len(row["sub_x"]))]
        return cx, cy, sd, w

    def _intensity(self, t: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Addresses per km² of town ``t`` at scale 1."""
        cx, cy, sd, w = self._components(t)
        d2 = (x[:, None] - cx) ** 2 + (y[:, None] - cy) ** 2
        dens = (w * np.exp(-d2 / (2 * sd**2)) / (2 * np.pi * sd**2)).sum(axis=1)
        return float(self.towns["n_full"].iat[t]) * dens * 1e6

    def _plots(self, t: int, towns: np.ndarray, allowed) -> dict:
        """Plot inventory of town ``t``: lattice cells of its urban blocks it may build on."""
        x, y, radius = self.tx[t], self.ty[t], self.tR[t]
        bxs = np.arange(np.floor((x - 2 * radius) / _BLOCK), np.floor((x + 2 * radius) / _BLOCK)
                        + 1).astype(np.int64)
        bys = np.arange(np.floor((y - 2 * radius) / _BLOCK), np.floor((y + 2 * radius) / _BLOCK)
                        + 1).astype(np.int64)
        bx, by = (a.ravel() for a in np.meshgrid(bxs, bys))
        bcx, bcy = (bx + 0.5) * _BLOCK, (by + 0.5) * _BLOCK
        home = (bx == np.floor(x / _BLOCK)) & (by == np.floor(y / _BLOCK))
        urban = (self._intensity(t, bcx, bcy) >= _URBAN_MIN) | home
        urban &= np.hypot(bcx - x, bcy - y) < 2 * radius + _BLOCK
        bx, by, bcx, bcy = bx[urban], by[urban], bcx[urban], bcy[urban]
        theta = self._block_angle(bx, by)
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
        uc, vc = (_LAT_I + 0.5) * _CU, (_LAT_J + 0.5) * _CV
        cx, cy = bcx[:, None] + c * uc - s * vc, bcy[:, None] + s * uc + c * vc
        lim = _BLOCK / 2 - _CELL_R
        ok = (np.abs(cx - bcx[:, None]) <= lim) & (np.abs(cy - bcy[:, None]) <= lim)
        blk, cell = np.nonzero(ok)
        cx, cy = cx[blk, cell], cy[blk, cell]
        rel = np.hypot(cx[:, None] - self.tx[towns], cy[:, None] - self.ty[towns]) \
            / self.tR[towns]
        r = rel[:, np.flatnonzero(towns == t)[0]]
        ok = (towns[np.argmin(rel, axis=1)] == t) & (r < 2.0)
        ok[ok] = shapely.contains_xy(allowed, cx[ok], cy[ok])
        blk, cell = blk[ok], cell[ok]
        bx, by, i, j = bx[blk], by[blk], _LAT_I[cell], _LAT_J[cell]
        key = ((bx * 4096 + by) * 64 + (i + 32)) * 64 + (j + 32)
        order = np.argsort(key, kind="stable")
        return {"key": key[order], "cx": cx[ok][order], "cy": cy[ok][order],
                    "theta": theta[blk][order], "bx": bx[order], "by": by[order], "i": i[order],
                    "j": j[order], "r": r[ok][order]}

    def _town_streets(self, plots: dict) -> pd.DataFrame:
        """Make a street between every two rows of plots, and one across each block."""
        bx, by, i, j, theta = (plots[k] for k in ("bx", "by", "i", "j", "theta"))
        block = bx * 4096 + by
        row = block * 64 + (j // 2 + 32)
        r_first, r_lo, r_hi = _group_extent(row, i)
        b_first, b_lo, b_hi = _group_extent(block, j)
        names = _URBAN_STREETS[_hash(self.seed, 3, row[r_first]) % _U64(len(_URBAN_STREETS))]
        cross = _URBAN_STREETS[_hash(self.seed, 6, bx[b_first], by[b_first])
                               % _U64(len(_URBAN_STREETS))]
        first = np.r_[r_first, b_first]
        zero = np.zeros(len(b_first))
        u0, u1 = np.r_[r_lo * _CU, zero], np.r_[(r_hi + 1) * _CU, zero]
        v_row = (2 * (j[r_first] // 2) + 1) * _CV
        v0, v1 = np.r_[v_row, b_lo * _CV], np.r_[v_row, (b_hi + 1) * _CV]
        bcx, bcy = (bx[first] + 0.5) * _BLOCK, (by[first] + 0.5) * _BLOCK
        c, s = np.cos(theta[first]), np.sin(theta[first])
        xy = np.stack([np.stack([bcx + c * u0 - s * v0, bcy + s * u0 + c * v0], -1),
                       np.stack([bcx + c * u1 - s * v1, bcy + s * u1 + c * v1], -1)], 1)
        return pd.DataFrame({"geometry": shapely.linestrings(np.round(xy, 2)), "BST_CODE": "",
                             "WEGNUMMER": "", "WEGBEHSRT": "G",
                             "STT_NAAM": np.r_[names, cross]})

    def _sample_town(self, t: int, plots: dict) -> dict | None:
        """Draw the town's addresses from its mixture; keep those that land on its plots."""
        n = int(self.towns["n"].iat[t])
        if n <= 0:
            return None
        rng = self.rng("dwellings", self.code_int[self.tmuni[t]], int(t))
        cx, cy, sd, w = self._components(t)
        got, acc, out = 0, 0.5, []
        for _ in range(40):
            need = n - got
            if need <= 0 or acc < 1e-4:
                break
            m = int(min(need / max(acc, 0.01) * 1.2 + 100, 4_000_000))
            comp = rng.choice(len(w), m, p=w)
            key = self._lattice_key(cx[comp] + sd[comp] * rng.standard_normal(m),
                                    cy[comp] + sd[comp] * rng.standard_normal(m))
            pos = np.minimum(np.searchsorted(plots["key"], key), len(plots["key"]) - 1)
            hit = np.flatnonzero(plots["key"][pos] == key)
            acc = len(hit) / m
            take = pos[hit[:need]]
            got += len(take)
            out.append(take)
        take = np.concatenate(out)
        part = {k: v[take] for k, v in plots.items()}
        part["town"] = np.full(len(take), t)
        return part

    def _place_dwellings(self, d: dict) -> None:
        rng = self.rng("dwelling-attributes")
        nv = len(d["key"])
        if nv == 0:
            return
        keys, first, inv, counts = np.unique(d["key"], return_index=True, return_inverse=True,
                                             return_counts=True)
        npand = len(keys)
        town = d["town"][first].astype(np.int64)
        muni = self.tmuni[town]
        r = d["r"][first]
        k = counts
        multi = k > 1
        lu = np.where(multi, rng.uniform(9, 10, npand), rng.uniform(5.5, 9.5, npand))
        lv = np.where(multi, rng.uniform(14, 19, npand), rng.uniform(8, 13, npand))
        ang = d["theta"][first] + np.radians(rng.uniform(-2, 2, npand))
        px, py = d["cx"][first], d["cy"][first]
        # building year: old centre, newer rings; neighbourhoods (blocks) built together
        year0 = self.towns["year0"].to_numpy()[town]
        block_noise = 8 * (_hash_uniform(self.seed, 2, d["bx"][first], d["by"][first]) - 0.5)
        frac = np.clip(r / 1.3, 0, 1) ** 0.7
        year = year0 + (_YEAR_NOW - year0) * frac + block_noise + rng.normal(0, 3, npand)
        old = (r < 0.3) & (rng.random(npand) < 0.08) & (year0 <= 1900)
        year[old] = rng.uniform(1600, 1870, old.sum())
        founded = np.array([self.info[mm].founded or 1000 for mm in range(len(self.polys))])
        bouwjaar = np.clip(np.round(year), np.maximum(founded[muni], 1600), _YEAR_NOW)
        status = rng.choice(5, npand, p=[0.975, 0.006, 0.008, 0.004, 0.007])
        # verblijfsobjecten: grouped by pand, numbered along their street (block row)
        order = np.argsort(inv, kind="stable")
        vp = inv[order]
        vr = d["r"][order]
        a = rng.uniform(-0.35, 0.35, nv) * lu[vp]
        b = rng.uniform(-0.35, 0.35, nv) * lv[vp]
        c, s = np.cos(ang[vp]), np.sin(ang[vp])
        vx, vy = px[vp] + c * a - s * b, py[vp] + s * a + c * b
        p_nonres = 0.04 + 0.12 * np.exp(-(vr**2) / 0.1)
        nonres = rng.random(nv) < p_nonres
        doel = np.where(nonres, rng.choice([_WINKEL, _KANTOOR, _BIJEENKOMST, _LOGIES, _OVERIG,
                                            _INDUSTRIE], nv,
                                           p=[0.4, 0.3, 0.12, 0.05, 0.08, 0.05]), _WOON)
        opp = np.where(multi[vp], rng.lognormal(np.log(70), 0.3, nv),
                       rng.lognormal(np.log(110), 0.35, nv))
        opp = np.where(nonres, rng.lognormal(np.log(150), 0.8, nv), opp)
        opp = np.clip(np.round(opp), 15, 5000)
        kvk = np.where(nonres, 1 + rng.poisson(0.6, nv),
                       rng.choice(3, nv, p=[0.85, 0.12, 0.03]))
        kvk[status[vp] == 1] = 0
        street_key = ((d["bx"] * 4096 + d["by"]) * 64 + (d["j"] // 2 + 32))[order]
        names = _URBAN_STREETS[_hash(self.seed, 3, street_key) % _U64(len(_URBAN_STREETS))]
        side = d["j"][order] % 2                 # odd numbers on one side, even on the other
        nummer = 2 * _group_rank(street_key * 2 + side, (d["i"][order], np.arange(nv))) + 1 + side
        self.obj.add(
            pand={"poly": _rectangles(px, py, lu, lv, ang), "muni": muni, "bouwjaar": bouwjaar,
                  "status": status},
            vbo={"vx": vx, "vy": vy, "vpand": vp, "doel": doel, "opp": opp, "street": names,
                 "nummer": nummer, "pc_key": street_key * 64 + (nummer - 1) // 50,
                 "town": town[vp], "kvk": kvk, "agrarisch": np.zeros(nv, bool)})

    # -- forest and heath ---------------------------------------------------------------------

    def make_forest(self) -> None:
        """Forest and heath patches in the real forest areas, minus water, towns and estates."""
        rng = self.rng("forest")
        geoms, kinds = [], []
        for course, spread, n, (r0, r1), probs in self.forest_zones:
            line = _Polyline(_chaikin(np.array(course, float), 2))
            p, t = line.at(rng.uniform(0, line.length, n))
            off = rng.normal(0, spread / 2, n)
            cx, cy = p[:, 0] - t[:, 1] * off, p[:, 1] + t[:, 0] * off
            radius = rng.uniform(r0, r1, n)
            k = 40
            th = np.linspace(0, 2 * np.pi, k, endpoint=False)
            wobble = np.ones((n, k))
            for h, amp in ((1, 0.25), (2, 0.2), (3, 0.15), (5, 0.08)):
                wobble += amp * rng.uniform(0.3, 1, (n, 1)) * np.cos(
                    h * th[None, :] + rng.uniform(0, 2 * np.pi, (n, 1)))
            rr = radius[:, None] * np.maximum(wobble, 0.3)
            xs = cx[:, None] + rr * np.cos(th)
            ys = cy[:, None] + rr * np.sin(th)
            ring = np.stack([np.c_[xs, xs[:, :1]], np.c_[ys, ys[:, :1]]], axis=-1)
            geoms.append(shapely.polygons(np.round(ring, 1)))
            kinds.append(rng.choice(4, n, p=np.array(probs) / sum(probs)))
        geoms, kinds = np.concatenate(geoms), np.concatenate(kinds)
        cut = shapely.union_all([self.water_union, self.urban, self.estates_union.buffer(20)])
        done = shapely.Polygon()
        out_g, out_k = [], []
        for kind in (3, 1, 2, 0):                     # heide, naaldbos, gemengd bos, loofbos
            u = shapely.union_all(geoms[kinds == kind])
            u = shapely.difference(shapely.intersection(u, self.halo2),
                                   shapely.union(done, cut))
            parts = _polys([u], min_area=2e4)
            done = shapely.union(done, u)
            out_g.append(parts)
            out_k.append(np.full(len(parts), _FOREST_TYPES[kind], dtype=object))
        self.forest = (np.concatenate(out_g), np.concatenate(out_k))
        self.forest_union = shapely.union_all(self.forest[0])
        shapely.prepare(self.forest_union)

    def terrain_frame(self) -> gpd.GeoDataFrame:
        """TOP10NL-shaped terrein: forest/heath plus grass or arable land per municipality."""
        geoms, kinds = [self.forest[0]], [self.forest[1]]
        cut = shapely.union_all([self.forest_union, self.water_union, self.estates_union,
                                 self.urban])
        for m, poly in enumerate(self.polys):
            parts = _polys([shapely.difference(poly, cut)], min_area=2e4)
            geoms.append(parts)
            kinds.append(np.full(len(parts), "akkerland" if self.flevoland[m] else "grasland",
                                 dtype=object))
        geoms = shapely.make_valid(np.concatenate(geoms))
        return gpd.GeoDataFrame({"typelandgebruik": np.concatenate(kinds)}, geometry=geoms,
                                crs=RD)

    # -- roads --------------------------------------------------------------------------------

    def make_roads(self) -> None:
        """Provincial roads between the towns and to the exits; a rural road grid."""
        from scipy.sparse.csgraph import minimum_spanning_tree

        rng = self.rng("n-roads")
        rows = []
        xy = np.c_[self.tx, self.ty]
        edges = []
        if len(xy) > 1:
            dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
            mst = minimum_spanning_tree(dist).tocoo()
            edges += [(xy[a], xy[b]) for a, b in sorted(zip(mst.row, mst.col, strict=True))]
        if self.exits:
            ex = np.array([(e[0], e[1]) for e in self.exits])
            for t in range(len(xy)):
                d = np.hypot(ex[:, 0] - xy[t, 0], ex[:, 1] - xy[t, 1])
                if self.tR[t] > 400 and d.min() < 12_000:
                    edges.append((xy[t], ex[np.argmin(d)]))
        numbers = rng.permutation(np.arange(200, 800))
        for e, (a, b) in enumerate(edges):
            length = float(np.hypot(*(b - a)))
            if length < 300:
                continue
            normal = np.array([-(b - a)[1], (b - a)[0]]) / length
            mids = np.array([0.33, 0.67])
            pts = a + mids[:, None] * (b - a) + rng.normal(0, 0.06 * length, 2)[:, None] * normal
            line = _Polyline(_chaikin(np.vstack([a, pts, b]), 2))
            name = _RURAL_ROADS[int(rng.integers(len(_RURAL_ROADS)))]
            for piece in line.pieces(_split_lengths(rng, line.length, 800, 2000)):
                rows.append({"geometry": shapely.linestrings(piece), "BST_CODE": "",
                                 "WEGNUMMER": f"N{numbers[e % len(numbers)]}", "WEGBEHSRT": "P",
                                 "STT_NAAM": name})
        self._add_roads(rows)
        # rural grid per municipality (polder roads), without the water
        rural = []
        for m, poly in enumerate(self.polys):
            rng = self.rng("rural-roads", self.code_int[m])
            theta = rng.uniform(0, np.pi / 2)
            (x0, y0, x1, y1) = shapely.bounds(poly)
            centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
            reach = 0.5 * np.hypot(x1 - x0, y1 - y0) + 100
            lines = []
            for direction in (theta, theta + np.pi / 2):
                spacing = rng.uniform(1100, 1900)
                e1 = np.array([np.cos(direction), np.sin(direction)])
                e2 = np.array([-e1[1], e1[0]])
                offs = rng.uniform(0, spacing) + spacing * np.arange(
                    -int(reach // spacing) - 1, int(reach // spacing) + 2)
                ends = np.stack([centre + o * e2 + np.array([-reach, reach])[:, None] * e1
                                 for o in offs])
                lines.append(shapely.linestrings(ends))
            lines = shapely.intersection(np.concatenate(lines), poly)
            lines = _lines(shapely.difference(_lines(lines), self.water_union))
            lines = lines[shapely.length(lines) >= 300]
            names = _choice_str(_RURAL_ROADS, rng.integers(len(_RURAL_ROADS), size=len(lines)))
            rural.append(pd.DataFrame({"geometry": lines, "muni": m, "STT_NAAM": names}))
        self.rural = pd.concat(rural, ignore_index=True) if rural else pd.DataFrame()
        # NWB cuts roads into wegvakken; cut the straight polder roads into pieces ≤ 1.5 km
        a, b = _ends(self.rural["geometry"].to_numpy())
        k = np.maximum(np.ceil(np.hypot(*(b - a).T) / 1500), 1).astype(int)
        line = np.repeat(np.arange(len(k)), k)
        q = (np.arange(len(line)) - np.repeat(np.cumsum(k) - k, k))[:, None]
        p0 = a[line] + (b - a)[line] * q / k[line, None]
        p1 = a[line] + (b - a)[line] * (q + 1) / k[line, None]
        self._add_roads([{"geometry": g, "BST_CODE": "", "WEGNUMMER": "", "WEGBEHSRT": "G",
                          "STT_NAAM": n}
                         for g, n in zip(shapely.linestrings(np.stack([p0, p1], 1)),
                                         self.rural["STT_NAAM"].to_numpy()[line], strict=True)])

    # -- farms --------------------------------------------------------------------------------

    def make_farms(self) -> None:
        """Farm yards along the rural roads: farmhouse plus 1–4 barns, outside towns."""
        roads = shapely.multilinestrings(np.concatenate(
            [s["geometry"].to_numpy() for s in self.streets]))
        shapely.prepare(roads)
        block = shapely.union_all([self.water_union.buffer(20), self.estates_union.buffer(100),
                                   self.forest_union, self.urban.buffer(60)])
        founded = [self.info[m].founded for m in range(len(self.polys))]
        for m, poly in enumerate(self.polys):
            rng = self.rng("farms", self.code_int[m])
            allowed = shapely.difference(poly.buffer(-5), block)
            shapely.prepare(allowed)
            lines = self.rural.loc[self.rural["muni"] == m, "geometry"].to_numpy()
            if len(lines) == 0 or allowed.is_empty:
                continue
            # candidate stations every 400 m on both sides of every rural road
            a, b = _ends(lines)
            length = np.hypot(*(b - a).T)
            tang = (b - a) / length[:, None]
            n_st = np.maximum((length - 200) // 400, 0).astype(int) * 2
            road = np.repeat(np.arange(len(lines)), n_st)
            if len(road) == 0:
                continue
            k = np.arange(len(road)) - np.repeat(np.cumsum(n_st) - n_st, n_st)
            side = np.where(k % 2 == 0, 1.0, -1.0)
            dist = 100 + 400 * (k // 2) + np.where(side > 0, 0, 200) + rng.uniform(-40, 40,
                                                                                   len(road))
            dist = np.minimum(dist, length[road] - 100)
            anchor = a[road] + dist[:, None] * tang[road]
            t = tang[road]
            normal = np.c_[-t[:, 1], t[:, 0]] * side[:, None]
            nf = len(road)
            nb = rng.choice([1, 2, 3, 4], nf, p=[0.3, 0.35, 0.2, 0.15])
            farm = np.repeat(np.arange(nf), 1 + nb)
            start = np.repeat(np.cumsum(1 + nb) - (1 + nb), 1 + nb)
            pos = np.arange(len(farm)) - start
            house = pos == 0
            nbld = len(farm)
            barn_area = np.exp(rng.uniform(np.log(250), np.log(4000), nbld))
            asp = rng.uniform(1.5, 3.5, nbld)
            width = np.where(house, rng.uniform(10, 14, nbld), np.sqrt(barn_area / asp))
            depth = np.where(house, rng.uniform(11, 15, nbld), np.sqrt(barn_area * asp))
            setback = np.where(house, 20.0, rng.uniform(25, 40, nbld))
            step = width + rng.uniform(6, 15, nbld)
            cum = np.cumsum(step)
            before = cum - step - (cum - step)[start]
            total = np.bincount(farm, weights=step)
            along = before + width / 2 - total[farm] / 2
            perp = setback + depth / 2
            bx = anchor[farm, 0] + along * t[farm, 0] + perp * normal[farm, 0]
            by = anchor[farm, 1] + along * t[farm, 1] + perp * normal[farm, 1]
            reach = np.zeros(nf)
            np.maximum.at(reach, farm, setback + depth)
            # the yard's envelope: along the road ±(half its length + 5 m), across from 10 m
            # off the road to 5 m behind its deepest building; it must fit the open land
            env_u = np.array([-1, 1, 1, -1, -1]) * (total / 2 + 5)[:, None]
            env_v = np.where(np.array([1, 1, 0, 0, 1], bool), 10.0, reach[:, None] + 5)
            ex = anchor[:, :1] + env_u * t[:, :1] + env_v * normal[:, :1]
            ey = anchor[:, 1:] + env_u * t[:, 1:] + env_v * normal[:, 1:]
            env = shapely.polygons(np.stack([ex, ey], -1))
            ok = shapely.contains(allowed, env) & ~shapely.intersects(roads, env)
            # in random order, drop every yard that touches one earlier in that order
            cand = np.flatnonzero(ok)
            cand = cand[rng.permutation(len(cand))]
            if len(cand) > 1:
                tree = shapely.STRtree(env[cand])
                i_, j_ = tree.query(env[cand], predicate="intersects")
                clash = np.zeros(len(cand), bool)
                clash[i_[j_ < i_]] = True
                cand = cand[~clash]
            target = int(round(_FARMS_PER_KM2 * self.scale * shapely.area(allowed) / 1e6))
            chosen = np.sort(cand[:target])
            if len(chosen) == 0:
                continue
            sel = np.isin(farm, chosen)
            f_idx = farm[sel]
            fmap = np.full(nf, -1)
            fmap[chosen] = np.arange(len(chosen))
            fi = fmap[f_idx]
            nsel = int(sel.sum())
            is_house = house[sel]
            w_, d_ = width[sel], depth[sel]
            ang = np.arctan2(t[f_idx, 1], t[f_idx, 0])
            # attributes
            lo = max(1600, (founded[m] or 1850) + 2)
            house_year = rng.integers(lo, 1991, len(chosen)) if lo < 1991 \
                else np.full(len(chosen), lo)
            barn_lo = max(1950, lo)
            year = np.where(is_house, house_year[fi],
                            rng.integers(barn_lo, _YEAR_NOW + 1, nsel))
            stopped = rng.random(len(chosen)) < 0.05
            vacant = ~is_house & ((rng.random(nsel) < 0.03) | stopped[fi])
            status = rng.choice([0, 2, 3], nsel, p=[0.96, 0.03, 0.01])
            status[vacant] = 1
            status[is_house & (status == 3)] = 0
            doel = np.where(is_house, _WOON,
                            np.where(rng.random(nsel) < 0.7, _OVERIG, _INDUSTRIE))
            opp = np.where(is_house, rng.uniform(110, 260, nsel),
                           np.clip(w_ * d_ * rng.uniform(0.95, 1.0, nsel), 250, 4000))
            kvk = np.where(is_house, rng.choice([0, 1, 2], nsel, p=[0.15, 0.8, 0.05]),
                           np.where(rng.random(nsel) < 0.04, rng.integers(1, 4, nsel), 0))
            kvk[vacant] = 0
            # address: the road's name; odd numbers on one side, even on the other
            f_road = road[chosen]
            f_rank = _group_rank(f_road * 2 + (side[chosen] > 0), (dist[chosen],))
            number = 2 * f_rank + np.where(side[chosen] > 0, 1, 2)
            towns = np.flatnonzero(self.tmuni == m)
            fx, fy = anchor[chosen, 0], anchor[chosen, 1]
            near = towns[np.argmin(np.hypot(fx[:, None] - self.tx[towns],
                                            fy[:, None] - self.ty[towns]), axis=1)]
            a_ = rng.uniform(-0.3, 0.3, nsel) * w_
            b_ = rng.uniform(-0.3, 0.3, nsel) * d_
            c, s = np.cos(ang), np.sin(ang)
            px, py = bx[sel], by[sel]
            road_key = _hash(self.seed, 4, self.code_int[m], f_road).view(np.int64)
            self.obj.add(
                pand={"poly": _rectangles(px, py, w_, d_, ang), "muni": np.full(nsel, m),
                      "bouwjaar": year, "status": status},
                vbo={"vx": px + c * a_ - s * b_, "vy": py + s * a_ + c * b_,
                     "vpand": np.arange(nsel), "doel": doel, "opp": np.round(opp),
                     "street": self.rural.loc[self.rural["muni"] == m, "STT_NAAM"]
                     .to_numpy(dtype=object)[f_road[fi]],
                     "nummer": number[fi], "pc_key": road_key[fi] + number[fi] // 30,
                     "town": near[fi], "kvk": kvk, "agrarisch": np.ones(nsel, bool)})

    # -- BAG ----------------------------------------------------------------------------------

    def bag_frames(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """Assemble the pand and verblijfsobject layers with BAG identifiers and addresses."""
        o = self.obj
        muni = o.cat("muni").astype(np.int64)
        rng = self.rng("ids")
        offsets = rng.integers(10_000, 900_000, (len(self.polys), 2))
        pand_num = offsets[muni, 0] + _group_rank(muni, (np.arange(len(muni)),))
        pand_id = _ids(self.code_int[muni], 10, pand_num)
        vpand = o.cat("vpand").astype(np.int64)
        vmuni = muni[vpand]
        vbo_num = offsets[vmuni, 1] + _group_rank(vmuni, (np.arange(len(vmuni)),))
        status = o.cat("status").astype(np.int64)
        pand = gpd.GeoDataFrame({
            "identificatie": pand_id,
            "bouwjaar": o.cat("bouwjaar").astype(np.int32),
            "status": _choice_str(_PAND_STATUS, status),
        }, geometry=np.concatenate(o.poly), crs=RD)
        town = o.cat("town").astype(np.int64)
        pc_lo = np.array([self.info[m].pc4[0] for m in range(len(self.polys))])
        pc_n = np.array([self.info[m].pc4[1] - self.info[m].pc4[0] + 1
                         for m in range(len(self.polys))])
        key = o.cat("pc_key").astype(np.int64)
        h = _hash(self.seed, 5, key)
        pc4 = pc_lo[vmuni] + (h % pc_n[vmuni].astype(_U64)).astype(np.int64)
        letters = _PC_PAIRS[(h >> _U64(20)) % _U64(len(_PC_PAIRS))]
        postcode = np.strings.add(pc4.astype("U4"), letters.astype("U2"))
        vbo = gpd.GeoDataFrame({
            "identificatie": _ids(self.code_int[vmuni], 1, vbo_num),
            "pand_identificatie": pand_id[vpand],
            "gebruiksdoel": _choice_str(_DOELEN, o.cat("doel")),
            "oppervlakte": o.cat("opp").astype(np.int32),
            "status": _choice_str(_VBO_STATUS, _VBO_FOR_PAND[status[vpand]]),
            "openbare_ruimte": o.cat("street").astype(object),
            "huisnummer": o.cat("nummer").astype(np.int32),
            "postcode": postcode.astype(object),
            "woonplaats": self.towns["name"].to_numpy(dtype=object)[town],
            "gemeentecode": self.codes[vmuni],
            "kvk_inschrijvingen": o.cat("kvk").astype(np.int32),
            "agrarisch": o.cat("agrarisch").astype(bool),
        }, geometry=shapely.points(np.round(o.cat("vx"), 3), np.round(o.cat("vy"), 3)), crs=RD)
        return pand, vbo

    def roads_frame(self) -> gpd.GeoDataFrame:
        """Return the NWB-shaped wegvakken layer."""
        parts = [*self.streets]
        for extra in (self._estate_streets, self._urban_streets):
            if len(extra):
                parts.append(pd.DataFrame(extra))
        df = pd.concat(parts, ignore_index=True)
        geoms = shapely.set_precision(df["geometry"].to_numpy(), 0.01)
        cols = ["WEGNUMMER", "WEGBEHSRT", "BST_CODE", "STT_NAAM"]
        out = gpd.GeoDataFrame({
            "WVK_ID": np.arange(600_000_001, 600_000_001 + len(df), dtype=np.int64),
            **{c: df[c].astype(object).to_numpy() for c in cols},
        }, geometry=geoms, crs=RD)
        keep = (shapely.get_type_id(geoms) == 1) & ~shapely.is_empty(geoms)
        return out[keep].reset_index(drop=True)

    # -- dumpings -----------------------------------------------------------------------------

    def dumpings_frame(self) -> gpd.GeoDataFrame:
        """Drug-waste dumpings: mostly rural, near forest edges and minor roads."""
        rng = self.rng("dumpings")
        n = int(round(shapely.area(self.region) / 1e6 * _DUMPINGS_PER_KM2))
        edges = shapely.boundary(self.forest[0])
        minor = self.rural["geometry"].to_numpy()
        avoid = shapely.union_all([self.water_union, self.estates_union,
                                   self.urban.buffer(200)])
        shapely.prepare(avoid)
        xs, ys = [], []
        got = 0
        for _ in range(30):
            if got >= n:
                break
            m = 3 * (n - got) + 30
            kind = rng.choice(3, m, p=[0.5, 0.35, 0.15])
            x = rng.uniform(*self.region.bounds[0::2], m)
            y = rng.uniform(*self.region.bounds[1::2], m)
            for k, lines, jitter in ((0, edges, 60.0), (1, minor, 20.0)):
                sel = np.flatnonzero(kind == k)
                if len(lines) == 0 or len(sel) == 0:
                    continue
                length = shapely.length(lines)
                pick = rng.choice(len(lines), len(sel), p=length / length.sum())
                pts = shapely.line_interpolate_point(lines[pick],
                                                     rng.uniform(0, 1, len(sel)), normalized=True)
                xy = shapely.get_coordinates(pts)
                x[sel] = xy[:, 0] + rng.normal(0, jitter, len(sel))
                y[sel] = xy[:, 1] + rng.normal(0, jitter, len(sel))
            ok = shapely.contains_xy(self.region, x, y) & ~shapely.contains_xy(avoid, x, y)
            take = np.flatnonzero(ok)[: n - got]
            xs.append(x[take])
            ys.append(y[take])
            got += len(take)
        x, y = np.concatenate(xs), np.concatenate(ys)
        muni = np.full(len(x), -1)
        for m, poly in enumerate(self.polys):
            muni[(muni < 0) & shapely.contains_xy(poly, x, y)] = m
        keep = muni >= 0
        x, y, muni = x[keep], y[keep], muni[keep]
        days = rng.integers(0, (np.datetime64("2022-01-01") - np.datetime64("2017-01-01"))
                            .astype(int), len(x))
        datum = (np.datetime64("2017-01-01") + days).astype(str).astype(object)
        soort = _choice_str(_SOORTEN, rng.choice(4, len(x), p=[0.35, 0.35, 0.2, 0.1]))
        order = np.argsort(datum, kind="stable")
        return gpd.GeoDataFrame({"datum": datum[order], "soort": soort[order],
                                 "gemeentecode": self.codes[muni][order]},
                                geometry=shapely.points(np.round(x[order], 1),
                                                        np.round(y[order], 1)), crs=RD)

    # -- night lights -------------------------------------------------------------------------

    def night_lights(self, vbo: gpd.GeoDataFrame):
        """Radiance-like raster in EPSG:4326 from the address density, plus small noise."""
        from affine import Affine
        from pyproj import Transformer
        from scipy.ndimage import gaussian_filter

        rng = self.rng("night-lights")
        res = 0.004
        to_ll = Transformer.from_crs(RD, "EPSG:4326", always_xy=True)
        halo3 = self.region.buffer(3000)
        lon0, lat0, lon1, lat1 = shapely.bounds(shapely.transform(
            shapely.segmentize(halo3, 500),
            lambda c: np.column_stack(to_ll.transform(c[:, 0], c[:, 1]))))
        lon0, lat0 = np.floor(lon0 / res) * res, np.floor(lat0 / res) * res
        lon1, lat1 = np.ceil(lon1 / res) * res, np.ceil(lat1 / res) * res
        width, height = int(round((lon1 - lon0) / res)), int(round((lat1 - lat0) / res))
        xy = shapely.get_coordinates(vbo.geometry.values)
        doel = vbo["gebruiksdoel"].to_numpy(dtype=object)
        weight = np.where(doel == "woonfunctie", 1.0,
                          vbo["oppervlakte"].to_numpy() / 150.0) / self.scale
        weight = np.where(vbo["agrarisch"].to_numpy(), 0.3 / self.scale, weight)
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        counts, _, _ = np.histogram2d(lat, lon, bins=[height, width],
                                      range=[[lat0, lat1], [lon0, lon1]], weights=weight)
        counts = counts[::-1]                                       # north up
        lat_c = lat1 - (np.arange(height) + 0.5) * res
        km2 = (res * 111.32) ** 2 * np.cos(np.radians(lat_c))[:, None]
        density = gaussian_filter(counts / km2, sigma=1.2, mode="constant")
        rad = 0.2 + 60.0 * (1 - np.exp(-density / 3000.0))
        rad *= np.exp(rng.normal(0, 0.05, rad.shape))
        rad = np.minimum(rad + np.abs(rng.normal(0, 0.05, rad.shape)), 63.0)
        lon_c = lon0 + (np.arange(width) + 0.5) * res
        glon, glat = np.meshgrid(lon_c, lat_c)
        to_rd = Transformer.from_crs("EPSG:4326", RD, always_xy=True)
        gx, gy = to_rd.transform(glon, glat)
        shapely.prepare(halo3)
        rad[~shapely.contains_xy(halo3, gx, gy)] = -9999.0
        return rad.astype(np.float32), Affine(res, 0.0, lon0, 0.0, -res, lat1)


def _ids(gemeente: np.ndarray, kind: int, number: np.ndarray) -> np.ndarray:
    """BAG identifiers: 4-digit gemeentecode, 2-digit object type, 10-digit number."""
    value = gemeente.astype(np.int64) * 10**12 + kind * 10**10 + number.astype(np.int64)
    return np.strings.zfill(value.astype("U16"), 16).astype(object)


def _ends(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last coordinates of each line."""
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    first = np.r_[0, np.flatnonzero(np.diff(idx)) + 1]
    last = np.r_[first[1:] - 1, len(idx) - 1]
    return coords[first], coords[last]


def _sample_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside a polygon (rejection from its bounding box)."""
    x0, y0, x1, y1 = poly.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        x, y = rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)
        ok = shapely.contains_xy(poly, x, y)
        out = np.vstack([out, np.c_[x[ok], y[ok]]])
    return out[:n]


def _select(gm: gpd.GeoDataFrame, municipalities) -> gpd.GeoDataFrame:
    """Rows of ``gm`` for codes or names (case-insensitive); all rows for ``None``."""
    gm = gm.sort_values("statcode", kind="stable").reset_index(drop=True)
    if municipalities is None:
        return gm
    wanted = [municipalities] if isinstance(municipalities, str) else list(municipalities)
    codes = gm["statcode"].str.lower()
    names = gm["statnaam"].str.lower()
    found = np.zeros(len(gm), bool)
    unknown = []
    for w in wanted:
        hit = (codes == str(w).lower()) | (names == str(w).lower())
        if not hit.any():
            unknown.append(str(w))
        found |= hit.to_numpy()
    if unknown or not wanted:
        what = f"unknown municipalities {', '.join(map(repr, unknown))}" if unknown \
            else "an empty list of municipalities"
        msg = (f"make_demo_data got {what}. Use statcodes or names of the bundled "
               f"gemeenten_2021, e.g. GM0050 or Zeewolde; available: "
               f"{', '.join(gm['statcode'])}. Pass municipalities=None for all.")
        raise InputError(msg, code="E-DATA-MUNICIPALITY")
    return gm[found].reset_index(drop=True)


def _write_layers(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    from riskmap import io  # atomic, and dated by the run's clock: same seed, same bytes

    io.write_gpkg(path, layers, metadata=SYNTHETIC_METADATA, use_arrow=True)


def _sources_md(*, seed: int, scale: float, codes: list[str], counts: dict[str, int]) -> str:
    rows = "\n".join(f"| {k} | {v:,} |" for k, v in counts.items())
    return f"""\
# SYNTHETISCH — riskmap demo data, geen echte gegevens

**Every layer in this folder is SYNTHETIC.** It was made by
`riskmap.datasets.make_demo_data(seed={seed}, scale={scale}, municipalities=...)` for
{len(codes)} municipalities:
{textwrap.fill(', '.join(codes), 95)}.

No building, address, company, road,
estate, forest, lake or dumping in these files is real: the positions, numbers, names and
attributes are drawn at random (seeded) inside the real municipality boundaries. Street and
estate names are Dutch-looking inventions; place names (woonplaats) are real names used at
made-up positions. Do not use these files for any decision.

The files copy the *file, layer and column names and attribute values* of the real sources, so
that the layer configs work unchanged when they are pointed at the real data. Every
GeoPackage layer carries the metadata `DESCRIPTION = SYNTHETISCH — riskmap demo, geen echte
gegevens` and `RISKMAP_SYNTHETIC = true`; the GeoTIFF carries the same tags.

What each file mimics:

- `bag.gpkg` (layers `pand`, `verblijfsobject`): BAG, Basisregistratie Adressen en Gebouwen
  (Kadaster, via PDOK). Two columns are not BAG: `kvk_inschrijvingen` mimics a join of the KvK
  Handelsregister on the address (registrations per address); `agrarisch` mimics a farm-yard
  flag derived from the BRP (Basisregistratie Gewaspercelen), BRK parcels or farm records.
- `nwb_wegen.gpkg` (layer `wegvakken`): NWB Wegen, Nationaal Wegenbestand (Rijkswaterstaat,
  via PDOK).
- `ibis_bedrijventerreinen.gpkg` (layer `bedrijventerreinen`): IBIS bedrijventerreinen
  (provinces, Ministerie van EZK).
- `top10nl.gpkg` (layers `terrein`, `waterdeel`): TOP10NL, BRT (Kadaster, via PDOK).
- `drugsafval_dumpingen.gpkg` (layer `dumpingen`): police and municipal registrations of
  drug-waste dumpings (not open data).
- `nachtlicht.tif` (EPSG:4326): VIIRS Day/Night Band night-time lights (NOAA / Earth
  Observation Group).

Rows written:

| layer | rows |
| --- | --- |
{rows}

## Real data used

Only the municipality boundaries are real (the shapes that contain the synthetic data):

- {_ATTRIBUTION}
- Buurten bundled with riskmap (not used by the generator): {_ATTRIBUTION_BUURTEN}

CBS/PDOK gebiedsindelingen and the Wijk- en Buurtkaart are open data under CC BY 4.0.
The approximate courses of motorways, rivers, lakes and forests were drawn by hand from
general knowledge of the region; they are approximate by design.
"""


def make_demo_data(
    out_dir: str | Path,
    *,
    seed: int = 2021,
    scale: float = 0.1,
    municipalities: Iterable[str] | str | None = None,
) -> dict[str, Path]:
    """Write SYNTHETIC demo layers in the schemas of BAG, NWB, IBIS and TOP10NL.

    Inside the real 2021 municipality boundaries (:func:`get_path` ``"gemeenten_2021"``) the
    generator places towns of dwellings, farm yards with barns, industrial estates with
    premises, motorways with exits, provincial and local roads, forest, heath, water,
    drug-waste dumpings and a night-light raster. The content is made up (see the module
    docstring); the file, layer and column names and the attribute values are those of the
    real sources, so the layer configs run unchanged on the real files.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into; created if needed. Existing files of the same names are
        replaced.
    seed : int, default=2021
        Seed of every random draw. Same seed, scale and municipalities → same data.
    scale : float, default=0.1
        Share of the real number of objects: 1.0 gives about 1.5 million verblijfsobjecten
        for the whole 39-municipality region, 0.1 about 150 000. Towns, estates, roads,
        forest and water keep their real size; only buildings and addresses are thinned.
        Must be in (0, 2].
    municipalities : iterable of str, optional
        Statcodes (``"GM0050"``) or names (``"Zeewolde"``) to generate; default all 39.

    Returns
    -------
    dict of str to Path
        ``"bag"`` (layers ``pand``, ``verblijfsobject``), ``"nwb"`` (``wegvakken``),
        ``"ibis"`` (``bedrijventerreinen``), ``"top10nl"`` (``terrein``, ``waterdeel``),
        ``"dumpingen"`` (``dumpingen``), ``"nachtlicht"`` (GeoTIFF, EPSG:4326) and
        ``"sources"`` (``SOURCES.md``).

    Raises
    ------
    InputError
        ``E-DATA-MUNICIPALITY`` for unknown municipalities, ``E-DATA-ARGUMENT`` for a bad
        ``seed`` or ``scale``.

    Notes
    -----
    What the layer configs can select (exact values):

    * dwellings: ``gebruiksdoel = 'woonfunctie'`` (towns, and the farmhouses);
    * farm objects: ``agrarisch = 1`` (farmhouse ``woonfunctie``; barns
      ``overige gebruiksfunctie`` or ``industriefunctie``, 250–4000 m²); vacant barns:
      ``agrarisch = 1 AND gebruiksdoel <> 'woonfunctie' AND status = 'Verblijfsobject buiten
      gebruik'`` (about 8 %; the pand has ``status = 'Pand buiten gebruik'``);
    * estate premises: as in the real BAG no attribute marks them; they are the
      ``industriefunctie``, ``kantoorfunctie`` and ``winkelfunctie`` objects (200–5000 m²,
      ``agrarisch = 0``) inside the ``bedrijventerreinen`` polygons. Outside the estates
      those functions are town-centre shops and offices (mostly smaller) and farm barns.
      Vacant premises have ``status = 'Verblijfsobject buiten gebruik'`` (about 10 %, more
      on older estates); letterbox addresses ``kvk_inschrijvingen >= 10`` (about 2 %, only
      on estates);
    * motorway exits: ``BST_CODE IN ('AFR', 'OPR')`` (4 ramps of 300–550 m per exit, every
      4–8 km); motorways ``WEGBEHSRT = 'R'``; provincial roads ``WEGBEHSRT = 'P'``.

    In the real sources ``kvk_inschrijvingen`` is a join of the KvK Handelsregister on the
    address, and ``agrarisch`` a flag derived from the Basisregistratie Gewaspercelen, the
    BRK (agricultural parcels) or farm registrations; here both are drawn at random.

    Examples
    --------
    >>> paths = make_demo_data("out/demo", scale=0.01, municipalities=["GM0339"])  # doctest: +SKIP
    >>> import geopandas as gpd
    >>> vbo = gpd.read_file(paths["bag"], layer="verblijfsobject")  # doctest: +SKIP
    >>> vbo.crs.to_epsg()  # doctest: +SKIP
    28992
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}.",
                         code="E-DATA-ARGUMENT")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 2:
        raise InputError(f"scale must be a number in (0, 2], got {scale!r}; 1.0 is the real "
                         "number of buildings, 0.1 a tenth.", code="E-DATA-ARGUMENT")
    import rasterio

    gm = _select(gpd.read_file(get_path("gemeenten_2021")), municipalities)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    g = _Generator(gm, seed=int(seed), scale=float(scale)).make_all()
    pand, vbo = g.bag_frames()
    layers = {
        ("bag", "pand"): pand,
        ("bag", "verblijfsobject"): vbo,
        ("nwb", "wegvakken"): g.roads_frame(),
        ("ibis", "bedrijventerreinen"): g.estates_frame(),
        ("top10nl", "terrein"): g.terrain_frame(),
        ("top10nl", "waterdeel"): g.water.reset_index(drop=True),
        ("dumpingen", "dumpingen"): g.dumpings_frame(),
    }
    files = {"bag": "bag.gpkg", "nwb": "nwb_wegen.gpkg", "ibis": "ibis_bedrijventerreinen.gpkg",
             "top10nl": "top10nl.gpkg", "dumpingen": "drugsafval_dumpingen.gpkg"}
    paths = {key: out / name for key, name in files.items()}
    for key, path in paths.items():
        _write_layers(path, {layer: frame for (k, layer), frame in layers.items() if k == key})
    rad, transform = g.night_lights(vbo)
    paths["nachtlicht"] = out / "nachtlicht.tif"
    profile = {"driver": "GTiff", "width": rad.shape[1], "height": rad.shape[0], "count": 1,
               "dtype": "float32", "crs": "EPSG:4326", "transform": transform,
               "nodata": -9999.0, "compress": "deflate", "tiled": True, "blockxsize": 256,
               "blockysize": 256}
    from riskmap import io

    with io.atomic_path(paths["nachtlicht"]) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(rad, 1)
        dst.update_tags(**SYNTHETIC_METADATA, UNITS="nW/cm2/sr (synthetic)",
                        MIMICS="VIIRS DNB night-time lights")
        dst.set_band_description(1, "synthetic night-time radiance")
    counts = {f"{files[key]}:{layer}": len(frame) for (key, layer), frame in layers.items()}
    counts["nachtlicht.tif (pixels)"] = int(rad.size)
    paths["sources"] = out / "SOURCES.md"
    with io.atomic_path(paths["sources"]) as tmp:
        tmp.write_text(_sources_md(seed=int(seed), scale=float(scale),
                                   codes=list(gm["statcode"]), counts=counts), encoding="utf-8")
    return paths
