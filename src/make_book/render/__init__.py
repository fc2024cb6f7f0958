"""The renderers: one package per output format, over the shared contract in base.py."""
