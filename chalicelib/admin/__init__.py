"""The management API under /api/v1 (JSON, `{"error": {"code", "message"}}` on failure)."""
