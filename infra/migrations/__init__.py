"""The store's schema migrations: ``NNNN_name.sql`` files, read by :mod:`creditbrain.infra.migrate`.

A package of its own only so that the SQL files are package data setuptools knows
where to put; it holds no Python.
"""
