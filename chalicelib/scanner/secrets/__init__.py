"""Secrets in image files: rules written for moorage from the public token formats,
a path filter, and redaction (a finding never carries the whole secret)."""
