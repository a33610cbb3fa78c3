"""Persistence ports (ports.py) and their AWS adapters: S3 (blobs.py) and DynamoDB (metadata.py)."""
