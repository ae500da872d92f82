"""The ``creditbrain`` command line, run as users run it."""
