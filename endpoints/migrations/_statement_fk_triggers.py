"""The statement-level foreign-key triggers of migration 0012, frozen here for migrations 0012 and
0013 (0013 drops them for real FOREIGN KEY constraints; migrating back to 0012 recreates them).

0012 checked these eight keys once per statement and distinct parent with PL/pgSQL triggers instead
of PostgreSQL's row checks. Not loaded as a migration (the leading underscore).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class ForeignKeyTriggers:
    """One statement-checked foreign key: `name` on `child(columns)` -> `parent(parent_columns)`."""

    name: str
    child: str
    columns: Sequence[str]
    parent: str
    parent_columns: Sequence[str]
    quote: Callable[[str], str]

    def _fn(self, role: str) -> str:
        return self.quote(f"{self.name}_{role}")

    def _cols(self, prefix: str, columns: Sequence[str]) -> str:
        return ", ".join(f"{prefix}{self.quote(c)}" for c in columns)

    def _pairs(self, *, parent: str, child: str) -> str:
        """The key's columns equal, parent's in `parent` (a row alias or record), child's in `child`."""
        pairs = zip(self.columns, self.parent_columns, strict=True)
        return " AND ".join(f"{parent}.{self.quote(pc)} = {child}.{self.quote(c)}" for c, pc in pairs)

    def _values(self, record: str, columns: Sequence[str]) -> str:
        return f"concat_ws(', ', {self._cols(record + '.', columns)})"

    def _not_null(self, record: str, columns: Sequence[str]) -> str:
        return " AND ".join(f"{record}.{self.quote(c)} IS NOT NULL" for c in columns)

    def _missing(self, record: str) -> str:
        """RAISE: the key in `record` (child columns) has no parent row."""
        message = f'insert or update on table "{self.child}" violates foreign key constraint "{self.name}"'
        key = "Key (" + ", ".join(self.columns) + ")=("
        absent = ') is not present in table "' + self.parent + '".'
        return (
            f"RAISE foreign_key_violation USING MESSAGE = {_literal(message)}, "
            f"DETAIL = {_literal(key)} || {self._values(record, self.columns)} || {_literal(absent)}, "
            f"CONSTRAINT = {_literal(self.name)}, TABLE = {_literal(self.child)};"
        )

    def _require_parent(self, record: str) -> str:
        """Lock the parent row of the key in `record` FOR KEY SHARE (as PostgreSQL's own check does);
        RAISE when there is none."""
        match = self._pairs(parent="p", child=record)
        return (
            f"PERFORM 1 FROM {self.quote(self.parent)} p WHERE {match} FOR KEY SHARE OF p; "
            f"IF NOT FOUND THEN {self._missing(record)} END IF;"
        )

    def _changed(self, columns: Sequence[str]) -> str:
        return f"ROW({self._cols('OLD.', columns)}) IS DISTINCT FROM ROW({self._cols('NEW.', columns)})"

    def create_sql(self) -> str:
        q = self.quote
        child, parent = q(self.child), q(self.parent)
        referenced = (
            f'update or delete on table "{self.parent}" violates foreign key constraint "{self.name}" '
            f'on table "{self.child}"'
        )
        still = "Key (" + ", ".join(self.parent_columns) + ")=("
        referencing = ') is still referenced from table "' + self.child + '".'
        child_match = self._pairs(parent="OLD", child="c")
        # Identifiers are quoted model metadata; the statements carry no value.
        return f"""
CREATE FUNCTION {self._fn("insert")}() RETURNS trigger LANGUAGE plpgsql AS $fk$
DECLARE k record;
BEGIN
    FOR k IN SELECT DISTINCT {self._cols("n.", self.columns)} FROM new_rows n
             WHERE {self._not_null("n", self.columns)} LOOP
        {self._require_parent("k")}
    END LOOP;
    RETURN NULL;
END $fk$;
CREATE TRIGGER {self._fn("insert")} AFTER INSERT ON {child} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {self._fn("insert")}();
CREATE FUNCTION {self._fn("update")}() RETURNS trigger LANGUAGE plpgsql AS $fk$
BEGIN
    IF {self._not_null("NEW", self.columns)} THEN
        {self._require_parent("NEW")}
    END IF;
    RETURN NULL;
END $fk$;
CREATE TRIGGER {self._fn("update")} AFTER UPDATE OF {self._cols("", self.columns)} ON {child}
    FOR EACH ROW WHEN ({self._changed(self.columns)}) EXECUTE FUNCTION {self._fn("update")}();
CREATE FUNCTION {self._fn("parent")}() RETURNS trigger LANGUAGE plpgsql AS $fk$
BEGIN
    PERFORM 1 FROM {child} c WHERE {child_match} LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = {_literal(referenced)},
            DETAIL = {_literal(still)} || {self._values("OLD", self.parent_columns)} || {_literal(referencing)},
            CONSTRAINT = {_literal(self.name)}, TABLE = {_literal(self.child)};
    END IF;
    RETURN NULL;
END $fk$;
CREATE TRIGGER {self._fn("delete")} AFTER DELETE ON {parent}
    FOR EACH ROW EXECUTE FUNCTION {self._fn("parent")}();
CREATE TRIGGER {self._fn("rekey")} AFTER UPDATE OF {self._cols("", self.parent_columns)} ON {parent}
    FOR EACH ROW WHEN ({self._changed(self.parent_columns)}) EXECUTE FUNCTION {self._fn("parent")}();
"""  # noqa: S608

    def remove_sql(self) -> str:
        child, parent = self.quote(self.child), self.quote(self.parent)
        return "\n".join(
            [
                f"DROP TRIGGER IF EXISTS {self._fn('insert')} ON {child};",
                f"DROP TRIGGER IF EXISTS {self._fn('update')} ON {child};",
                f"DROP TRIGGER IF EXISTS {self._fn('delete')} ON {parent};",
                f"DROP TRIGGER IF EXISTS {self._fn('rekey')} ON {parent};",
                *(f"DROP FUNCTION IF EXISTS {self._fn(role)}();" for role in ("insert", "update", "parent")),
            ]
        )


def _quote(name: str) -> str:
    return f'"{name}"'


_ENVIRONMENT = ("endpoints_runtimeenvironment", ["id"])
KEYS = [
    ForeignKeyTriggers(
        "eventdispatcher_environment_fk", "endpoints_eventdispatcher", ["environment_id"], *_ENVIRONMENT, _quote
    ),
    ForeignKeyTriggers(
        "job_project_fk",
        "endpoints_job",
        ["project_id", "organization_id"],
        "endpoints_project",
        ["id", "organization_id"],
        _quote,
    ),
    ForeignKeyTriggers("jobalias_environment_fk", "endpoints_jobalias", ["environment_id"], *_ENVIRONMENT, _quote),
    ForeignKeyTriggers(
        "jobintegration_integration_fk",
        "endpoints_jobintegration",
        ["integration_id"],
        "endpoints_integration",
        ["id"],
        _quote,
    ),
    ForeignKeyTriggers(
        "jobversion_endpoint_fk",
        "endpoints_jobversion",
        ["endpoint_id", "environment_id", "organization_id", "project_id"],
        "endpoints_endpoint",
        ["id", "environment_id", "organization_id", "project_id"],
        _quote,
    ),
    ForeignKeyTriggers(
        "registryevent_environment_fk", "endpoints_registryevent", ["environment_id"], *_ENVIRONMENT, _quote
    ),
    ForeignKeyTriggers(
        "schedulesource_environment_fk", "endpoints_schedulesource", ["environment_id"], *_ENVIRONMENT, _quote
    ),
    ForeignKeyTriggers(
        "schedulesource_endpoint_fk", "endpoints_schedulesource", ["endpoint_id"], "endpoints_endpoint", ["id"], _quote
    ),
]
CREATE_SQL = "".join(key.create_sql() for key in KEYS)
DROP_SQL = "\n".join(key.remove_sql() for key in KEYS)
