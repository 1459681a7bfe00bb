"""Shared core of both engine paths: templates, plugins, reality, models, events, hooks."""
