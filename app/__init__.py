"""The application shell: settings, campaign files, wiring adapters, the CLI and the servers."""
