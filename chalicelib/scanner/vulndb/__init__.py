"""The vulnerability database: OSV records imported into one SQLite file, indexed by
(ecosystem, package name), published to object storage under a version, and opened
read-only where the scans run."""
