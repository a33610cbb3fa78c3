"""Usage metering: counting what registries do (usage.py, the meter consumer) and reading
it back as hourly or daily figures (report.py)."""
