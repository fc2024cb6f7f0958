"""Laying the book out in pieces: cutting it up, the worker processes and their protocol, the
piece cache, page starts.
"""
