"""``python -m app.cli``: the ``customers`` command."""

from app.cli import cli

cli()
