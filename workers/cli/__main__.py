"""``python -m workers.cli``: the same command line as ``newsflow``."""

from workers.cli import main

main()
