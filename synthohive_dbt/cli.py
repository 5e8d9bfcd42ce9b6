"""The `synthohive` command: thin. Arguments go to one entry point per subcommand; every SynthohiveError
becomes a clear message on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from synthohive_dbt import __version__
from synthohive_dbt.errors import SynthohiveError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SynthohiveError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="synthohive")
def cli() -> None:
    """Synthetic data for dbt projects: read the project, learn the warehouse, seed a schema, test it."""


@cli.command()
@click.option("--manifest", "manifest_path", required=True, type=click.Path(path_type=Path),
              help="dbt's target/manifest.json (run `dbt parse` to write it).")
@click.option("--select", "select", multiple=True, metavar="NAME",
              help="Only these models/seeds/sources (repeat, or separate names by spaces or commas).")
@click.option("--json", "as_json", is_flag=True, help="Print the machine-readable JSON contract instead.")
@click.argument("more", nargs=-1, metavar="[NAME]...")
def inspect(manifest_path: Path, select: tuple[str, ...], as_json: bool, more: tuple[str, ...]) -> None:
    """Show what synthohive reads from a dbt manifest: tables, keys, foreign keys, constraints, and the
    tests it cannot model."""
    from rich.console import Console

    from synthohive_dbt.metadata import read_manifest
    from synthohive_dbt.metadata.render import render_result

    if more and not select:
        raise click.UsageError("table names go after --select (e.g. --select orders customers)")
    result = read_manifest(manifest_path, select=[*select, *more] or None)
    if as_json:
        click.echo(json.dumps(result.to_contract(), indent=2))
    else:
        render_result(result, Console(soft_wrap=False))


def main() -> None:
    cli()
