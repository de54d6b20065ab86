"""Turn numpy arrays into the Arrow-backed columns the workspace stores.

Money is computed in integer cents and handed over as ``cents / 100`` (the
workspace's cast to ``DECIMAL(18, 2)`` rounds it back exactly); instants are
integer seconds since the epoch, UTC; labels are dictionary-encoded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["flags", "frame", "ids", "instants", "labels", "money", "numbers", "strings", "texts"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def ids(
    prefix: str,
    numbers: npt.NDArray[np.integer[Any]],
    width: int,
    null: BoolArray | None = None,
) -> Any:
    """Return ``prefix`` + zero-padded ``numbers`` as Arrow strings, null where ``null``."""
    values = pa.array(np.asarray(numbers, dtype=np.int64), pa.int64(), mask=null)
    digits = pc.utf8_lpad(pc.cast(values, pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def strings(values: Sequence[str], codes: npt.NDArray[np.integer[Any]]) -> Any:
    """Return ``values[codes]`` as a plain Arrow string array."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def texts(values: Sequence[str]) -> Any:
    """Return Python strings as an Arrow string array."""
    return pa.array(list(values), pa.string())


def labels(
    values: Sequence[str], codes: npt.NDArray[np.integer[Any]], null: BoolArray | None = None
) -> Any:
    """Return ``values[codes]`` dictionary-encoded; rows where ``null`` is true are null."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), pa.int32(), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(values), pa.string()))


def money(cents: IntArray, null: BoolArray | None = None) -> Any:
    """Return amounts in cents as currency units (float64, exact to the cent after the cast)."""
    return pa.array(np.asarray(cents, dtype=np.int64) / 100.0, pa.float64(), mask=null)


def instants(seconds: IntArray, null: BoolArray | None = None) -> Any:
    """Return epoch seconds as a UTC timestamp array (microseconds)."""
    micros = np.asarray(seconds, dtype=np.int64) * 1_000_000
    return pa.array(micros, pa.timestamp("us", tz="UTC"), mask=null)


def numbers(values: npt.NDArray[Any], null: BoolArray | None = None) -> Any:
    """Return a numeric numpy array as an Arrow array."""
    return pa.array(values, mask=null)


def flags(values: BoolArray, null: BoolArray | None = None) -> Any:
    """Return a boolean numpy array as an Arrow array."""
    return pa.array(np.asarray(values, dtype=np.bool_), pa.bool_(), mask=null)


def frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """Return Arrow columns as a pandas frame backed by those Arrow arrays (no copy)."""
    table = pa.table(dict(columns))
    result: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return result
