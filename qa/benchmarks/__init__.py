"""`qa bench` measurements, one module per figure; each figure comes with its floor.

Nothing here runs at import time: every module imports the heavy libraries it needs inside
its functions, so `qa --help` stays instant.
"""
