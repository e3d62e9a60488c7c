"""`python -m privguard` runs the CLI."""

from privguard.cli import main

main()
