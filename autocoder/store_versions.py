"""Read side of report versions: which fragment continues which (``fragment_links``), the
codings a reopened fragment had before, and the directory each model was registered from.

Part of the store (SQL). ``store_read.StoreReader`` inherits these reads.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from autocoder.store_schema import guarded

CODED_STATUSES = ("confirmed", "corrected", "rejected")  # a person's decision (not undone)
IN_CURRENT = "f.report_id IN (SELECT id FROM current_reports)"

# Per current report: fragments whose text changed in this version and was coded before
# (``earlier_codings``), which nobody has decided since.
REOPENED = f"""
SELECT f.report_id, count(DISTINCT f.id) FROM fragments f
JOIN fragment_links k ON k.new_id = f.id AND k.kind = 'changed'
WHERE {IN_CURRENT}
AND EXISTS (SELECT 1 FROM current_decisions d WHERE d.fragment_id = k.old_id
            AND d.status IN {CODED_STATUSES!r})
AND NOT EXISTS (SELECT 1 FROM current_decisions d WHERE d.fragment_id = f.id
                AND d.status IN {CODED_STATUSES!r})
GROUP BY 1
"""


@guarded
class VersionReader:
    conn: sqlite3.Connection

    def earlier_codings(self, fragment_id: str) -> list[dict[str, Any]]:
        """For a fragment reopened by a new version of its report (its text changed): the
        current human decisions on the fragment it continues, nearest earlier version first
        (following changed fragments that were not coded back). Empty for other fragments."""
        rows = self.conn.execute(
            "WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION "
            "SELECT k.old_id, up.depth + 1 FROM fragment_links k JOIN up ON k.new_id = up.id "
            "WHERE up.depth < 50) "
            "SELECT up.depth, d.fragment_id, d.coder, d.factor, d.presence, d.priority, "
            "d.status, d.timestamp, d.note FROM up "
            "JOIN current_decisions d ON d.fragment_id = up.id "
            f"WHERE up.depth > 0 AND d.status IN {CODED_STATUSES!r} ORDER BY up.depth, d.seq",
            (fragment_id,),
        ).fetchall()
        if not rows or self._decided(fragment_id):
            return []
        nearest = rows[0][0]
        keys = ("fragment_id", "coder", "factor", "presence", "priority", "status")
        keys += ("timestamp", "note")
        return [dict(zip(keys, row[1:9], strict=True)) for row in rows if row[0] == nearest]

    def _decided(self, fragment_id: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM current_decisions WHERE fragment_id = ? "
            f"AND status IN {CODED_STATUSES!r}",
            (fragment_id,),
        ).fetchone()
        return row is not None

    def model_dir(self, model_id: str) -> str | None:
        """The directory ``model_id`` was last registered from (None: not recorded)."""
        row = self.conn.execute(
            "SELECT path FROM model_dirs WHERE model_id = ? ORDER BY seq DESC LIMIT 1",
            (model_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    def reopened_per_report(self) -> dict[str, int]:
        """Per current report: fragments reopened by its newest version (see REOPENED)."""
        return {str(rid): int(n) for rid, n in self.conn.execute(REOPENED)}
