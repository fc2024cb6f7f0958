"""Running a build: the driver that schedules the renderers, the up-to-date check, the JSON
report, interrupts, and checking finished outputs.
"""
