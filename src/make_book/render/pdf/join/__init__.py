"""Joining laid-out pieces into one PDF that reads as if laid out whole."""
