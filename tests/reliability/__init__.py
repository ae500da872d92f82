"""Reliability and security: bad input, personal data, hostile strings on the way to SQL."""
