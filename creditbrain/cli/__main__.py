"""``python -m creditbrain.cli``: the same command as the ``creditbrain`` script."""

from creditbrain.cli import main

main()
