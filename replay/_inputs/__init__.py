"""Reading what others wrote, with clear errors.

Configs, summaries, classification files, run directories (`verify`) and the
JSON schemas of the documents replay reads and writes.
"""
