"""Compare the outputs of two runs file by file: data equal, time stamps and element ids aside."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
from openpyxl import load_workbook

_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)?")
_IDS = re.compile(r"[0-9a-f]{32}")


def _text(path) -> str:
    """Text of an output without what may differ between two runs: time stamps, element ids."""
    return _IDS.sub("ID", _STAMP.sub("T", path.read_text(encoding="utf-8-sig")))


def assert_same_outputs(a, b, files=None):
    """Every file of run ``a`` equals the same file of run ``b`` (data, not time stamps).

    ``files``: compare only these (relative paths); by default both runs must hold the same
    files and all are compared.
    """
    if files is None:
        files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        assert files_a == files_b
    else:
        files_a = [Path(f) for f in files]
    for rel in files_a:
        pa, pb = a / rel, b / rel
        suffix = pa.suffix
        if suffix == ".tif":
            with rasterio.open(pa) as x, rasterio.open(pb) as y:
                np.testing.assert_array_equal(x.read(), y.read(), err_msg=str(rel))
                assert x.transform == y.transform and x.crs == y.crs
                tx, ty = x.tags(), y.tags()
                tx.pop("RISKMAP_CREATED", None)
                ty.pop("RISKMAP_CREATED", None)
                assert tx == ty, rel
        elif suffix == ".gpkg":
            layers = [name for name, _ in pyogrio.list_layers(pa)]
            assert layers == [name for name, _ in pyogrio.list_layers(pb)]
            for layer in layers:
                if layer == "layer_styles":
                    continue
                pd.testing.assert_frame_equal(gpd.read_file(pa, layer=layer),
                                              gpd.read_file(pb, layer=layer), obj=f"{rel}:{layer}")
        elif suffix == ".xlsx":
            wa, wb = load_workbook(pa), load_workbook(pb)
            assert wa.sheetnames == wb.sheetnames
            for name in wa.sheetnames:
                va = [[_STAMP.sub("T", str(c)) for c in r] for r in wa[name].iter_rows(
                    values_only=True)]
                vb = [[_STAMP.sub("T", str(c)) for c in r] for r in wb[name].iter_rows(
                    values_only=True)]
                assert va == vb, f"{rel}:{name}"
        elif suffix in (".html", ".csv", ".json", ".md", ".txt"):
            if rel.name == "MANIFEST.json":
                ma, mb = json.loads(pa.read_text()), json.loads(pb.read_text())
                assert set(ma["files"]) == set(mb["files"])
                continue
            assert _text(pa) == _text(pb), rel
        elif suffix == ".png":  # pixels and text chunks (provenance) apart from the time
            from PIL import Image

            with Image.open(pa) as x, Image.open(pb) as y:
                assert np.array_equal(np.asarray(x), np.asarray(y)), rel
                assert ({k: _text_of(v) for k, v in x.text.items()}
                        == {k: _text_of(v) for k, v in y.text.items()}), rel
        else:
            assert pa.read_bytes() == pb.read_bytes(), rel


def _text_of(value: str) -> str:
    return _IDS.sub("ID", _STAMP.sub("T", value))
