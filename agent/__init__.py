"""The call's dialogue: the call session, function tools, the guided policy, the pipeline."""
