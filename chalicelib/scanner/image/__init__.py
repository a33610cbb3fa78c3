"""Reading image layers as streams: digest check, decompression with bomb limits, tar
entries with safe names, and the overlay bookkeeping that tells which files survive."""
