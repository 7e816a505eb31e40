"""Colours and Dutch legend texts shared by GeoTIFF colour tables, QGIS styles and HTML maps."""

from __future__ import annotations

__all__ = [
    "BIVARIATE_COLORS",
    "BIVARIATE_LABELS",
    "ZONE_COLORS",
    "class_colors",
    "class_labels",
]

# ColorBrewer YlOrRd, 3–9 classes (Cynthia Brewer, colorbrewer2.org, Apache-2.0).
_YLORRD = {
    3: ["#ffeda0", "#feb24c", "#f03b20"],
    4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
    5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
    7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    8: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
        "#b10026"],
    9: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
        "#bd0026", "#800026"],
}


def class_colors(k: int) -> dict[int, str]:
    """Colour per class 1..k (yellow = laag … dark red = hoog)."""
    k = max(2, min(int(k), 10))
    if k in _YLORRD:
        return dict(enumerate(_YLORRD[k], start=1))
    if k == 2:
        return {1: "#ffeda0", 2: "#f03b20"}
    base = _YLORRD[9]
    return {i: base[min(round((i - 1) * 8 / (k - 1)), 8)] for i in range(1, k + 1)}


def class_labels(k: int) -> dict[int, str]:
    """Dutch legend text per class 1..k."""
    return {i: f"{i}{' (laag)' if i == 1 else ' (hoog)' if i == k else ''}"
            for i in range(1, k + 1)}


# Bivariate 3 × 3 (J. Stevens' scheme): class = 3 × (risk − 1) + opportunity.
BIVARIATE_COLORS = {
    1: "#e8e8e8", 2: "#dfb0d6", 3: "#be64ac",
    4: "#ace4e4", 5: "#a5add3", 6: "#8c62aa",
    7: "#5ac8c8", 8: "#5698b9", 9: "#3b4994",
}
_LEVEL = {1: "laag", 2: "midden", 3: "hoog"}
BIVARIATE_LABELS = {3 * (r - 1) + o: f"gelegenheid {_LEVEL[o]}, risico {_LEVEL[r]}"
                    for r in (1, 2, 3) for o in (1, 2, 3)}

ZONE_COLORS = {1: "#d7191c", 2: "#fdae61", 3: "#2c7bb6"}
