"""The ``customers`` command: thin shells that parse arguments and call the bootstrap.

- ``serve`` (:mod:`app.cli.serve`): the API under waitress, with its indexer;
- ``api-key`` and ``token`` (:mod:`app.cli.keys`): credentials;
- ``index`` with ``status`` / ``verify`` (:mod:`app.cli.index`) and ``reindex``
  (:mod:`app.cli.reindex`): the search index;
- ``export`` (:mod:`app.cli.export`): customers as a file;
- ``import`` (:mod:`app.cli.imports`): customers from a file;
- ``duplicates scan`` (:mod:`app.cli.duplicates`): likely duplicate customers;
- ``erase`` and ``purge`` (:mod:`app.cli.privacy`): erasure and retention.
"""

from __future__ import annotations

from typing import Any

import click

from app.cli.duplicates import duplicates
from app.cli.export import export
from app.cli.imports import import_command
from app.cli.index import index
from app.cli.keys import api_key, token
from app.cli.privacy import erase, purge
from app.cli.reindex import reindex
from app.cli.serve import serve
from app.config import ConfigError

__all__ = ["cli"]


class _Commands(click.Group):
    """The ``customers`` group: a configuration error ends any command with one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands)
def cli() -> None:
    """Customer Module service."""


_COMMANDS = (serve, api_key, token, index, reindex)
_DATA_COMMANDS = (export, import_command, duplicates, erase, purge)
for _command in (*_COMMANDS, *_DATA_COMMANDS):
    cli.add_command(_command)
