"""The printed book: laid out piece by piece (layout/), joined into one PDF (join/), finished
for a printer (print_finish) and preflighted.
"""
