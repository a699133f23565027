"""Phone calls: Twilio webhooks, Media Streams and the voice pipeline."""
