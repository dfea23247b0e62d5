"""Locality profiles domain library."""
