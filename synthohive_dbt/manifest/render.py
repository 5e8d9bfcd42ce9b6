"""Human-readable rendering of a ManifestReadResult for `synthohive inspect` (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synthohive_dbt.config import Constraint
from synthohive_dbt.manifest.result import ManifestReadResult


def _bound(value: float | None, expr: str | None) -> str | None:
    if value is not None:
        return f"{value:g}"
    return f"({expr})" if expr else None


def describe_constraint(c: Constraint) -> str:
    """One line per constraint, e.g. `not null, unique, 0 <= x < 10, in [a, b], varchar`."""
    parts: list[str] = []
    if c.not_null:
        parts.append("not null")
    if c.unique:
        parts.append("unique")
    low, high = _bound(c.min, c.min_expr), _bound(c.max, c.max_expr)
    if low is not None or high is not None:
        left = f"{low} {'<=' if c.min_inclusive else '<'} " if low is not None else ""
        right = f" {'<=' if c.max_inclusive else '<'} {high}" if high is not None else ""
        parts.append(f"{left}x{right}")
    if c.accepted_values is not None:
        shown = ", ".join(map(str, c.accepted_values[:8])) + (", ..." if len(c.accepted_values) > 8 else "")
        parts.append(f"in [{shown}]")
    if c.regex:
        parts.append(f"matches /{c.regex}/")
    if c.data_type:
        parts.append(c.data_type)
    for cast in c.castable_to:
        excepted = f" except {', '.join(map(str, cast.except_values))}" if cast.except_values else ""
        parts.append(f"{'castable' if cast.strict else 'try_cast'} to {cast.data_type}{excepted} "
                     f"({cast.model or 'a model'})")
    if c.where:
        parts.append(f"where {c.where}")
    if c.severity == "warn":
        parts.append("(warn only)")
    return ", ".join(parts)


def render_result(result: ManifestReadResult, console: Console) -> None:
    """Tables with their keys, foreign keys and PII; column constraints; tests not modelled; notes."""
    # every name, value and reason comes from the user's project: escape it, or rich reads `[a, b]` as markup
    console.print(f"[bold]{escape(str(result.manifest_path))}[/bold]  manifest v{result.schema_version}, "
                  f"dbt {result.dbt_version or 'unknown'}: {len(result.tables)} tables, "
                  f"{len(result.not_modelled)} tests not modelled")
    tables = Table(title="Tables", show_lines=False)
    for col in ("table", "type", "primary key", "foreign keys", "PII columns"):
        tables.add_column(col, overflow="fold")
    for name, info in result.tables.items():
        cfg = result.metadata.tables[name]
        pk = (escape(", ".join(cfg.pk)) + f"  [dim]({escape(info.key_reason)})[/dim]" if cfg.pk
              else "[dim]none[/dim]")
        fks = "\n".join(fk.label + (f" where {fk.where}" if fk.where else "")
                        + (f" except {', '.join(map(str, fk.except_values))}" if fk.except_values else "")
                        for fk in cfg.fk)
        tables.add_row(escape(name), info.resource_type, pk, escape(fks), escape(", ".join(cfg.pii_columns)))
    console.print(tables)

    columns = Table(title="Column constraints")
    for col in ("table", "column", "constraint"):
        columns.add_column(col, overflow="fold")
    for name, cfg in result.metadata.tables.items():
        for col, constraint in cfg.constraints.items():
            text = describe_constraint(constraint)
            if text:
                columns.add_row(escape(name), escape(col), escape(text))
        for cc in cfg.conditional_constraints:
            columns.add_row(escape(name), escape(cc.column), escape(describe_constraint(cc.constraint)))
    if columns.row_count:
        console.print(columns)

    rules = Table(title="Rules across columns and rows (kept in every generated row)")
    for col in ("table", "rule", "from", "on"):
        rules.add_column(col, overflow="fold")
    for name, cfg in result.metadata.tables.items():
        for r in cfg.row_rules:
            rules.add_row(escape(name), escape(r.expression), escape(r.source or r.origin), "yes" if r.enabled else "off")
        for g in cfg.group_rules:
            rules.add_row(escape(name), escape(g.label), escape(g.source or g.origin), "yes" if g.enabled else "off")
    if rules.row_count:
        console.print(rules)

    if result.not_modelled:
        skipped = Table(title="Tests not modelled (check them with dbt on the generated data)")
        skipped.add_column("test", overflow="fold")
        skipped.add_column("reason", overflow="fold")
        for item in result.not_modelled:
            skipped.add_row(escape(item.test), escape(item.reason))
        console.print(skipped)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
