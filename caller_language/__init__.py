"""Caller language: what a caller says, read into addresses, zones, times and intents.

Pure: standard library and phonenumbers only (no I/O, no pipecat, no database).
"""
