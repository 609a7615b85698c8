"""`python -m dispatch …`: the same command line as the installed `dispatch` script."""

from dispatch.entrypoints.cli import main

main()
