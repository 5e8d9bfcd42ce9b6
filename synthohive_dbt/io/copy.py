"""Bulk-load a frame into an existing table, the fast way each warehouse offers (`Warehouse.load`).

PostgreSQL: `COPY ... FROM STDIN (FORMAT csv)` fed by pyarrow's CSV writer in chunks (strings are always
quoted and NULL is an unquoted empty field, so COPY tells '' from NULL). DuckDB: the frame is registered as
an Arrow view and inserted with a CAST to each real column type. MySQL/MariaDB: multi-row INSERTs through
pymysql's executemany. Anything else: SQLAlchemy executemany.
`to_arrow` is the one frame-to-Arrow conversion they share.
`DataFrame.to_sql` is avoided: ~10x slower on PostgreSQL and ~200x on DuckDB here.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection

from synthohive_dbt.io.relation import Column


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow table of the frame; nanosecond timestamps cut to microseconds (what warehouses store)."""
    tbl = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for f in tbl.schema:
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns":
            f = f.with_type(pa.timestamp("us", tz=f.type.tz))
        fields.append(f)
    return tbl.cast(pa.schema(fields), safe=False)


def copy_frame(conn: Connection, target_sql: str, frame: pd.DataFrame, columns: Sequence[Column], *,
               schema: str | None = None, table_name: str | None = None) -> int:
    """Append `frame` (holding exactly `columns`) to the table `target_sql` (already quoted); rows loaded.

    Each warehouse loads its own fastest way (`Warehouse.load`); `schema`/`table_name` are needed only by
    the generic path, which builds its INSERT with SQLAlchemy.
    """
    from synthohive_dbt.io.warehouses import warehouse_for

    return warehouse_for(conn).load(conn, target_sql, frame, columns, schema=schema, table=table_name)
