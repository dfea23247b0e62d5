"""Community voice: survey ingestion, redaction, geocoding, theme coding, summaries, reach."""
