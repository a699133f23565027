"""Prompt templates for the dialogue (files beside this module)."""
