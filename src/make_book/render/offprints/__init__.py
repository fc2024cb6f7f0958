"""Offprints: each essay's pages of the print edition, as printed, after a first page
naming the book it is taken from and where."""
