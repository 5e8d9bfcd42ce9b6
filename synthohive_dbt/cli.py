"""The `synthohive` command: thin. Arguments go to one entry point per subcommand; every SynthohiveError
becomes a clear message on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import sys
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


def main() -> None:
    cli()
