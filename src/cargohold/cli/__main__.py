"""``python -m cargohold.cli``: the ``cargohold`` command."""

from cargohold.cli.main import main

main()
