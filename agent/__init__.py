"""The call-side of booking-agent: settings, dialogue, caller language and the CLI."""
