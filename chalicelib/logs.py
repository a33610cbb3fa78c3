"""Structured JSON logs through powertools Logger, with the request's correlation id on
every line (API Gateway's request id; locally the gateway's). Our modules log through
the standard `logging` module; `configure` gives their loggers the same JSON output.

Nothing here logs request headers, bodies or URLs with query strings: tokens, passwords
and pre-signed URLs never reach a log line."""
from __future__ import annotations

import functools
import logging


@functools.lru_cache(maxsize=1)
def logger():
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    found = Logger(service="moorage")  # POWERTOOLS_SERVICE_NAME and _LOG_LEVEL apply
    for parent in ("chalicelib", "moorage"):  # modules imported later log through these parents
        logging.getLogger(parent)
    copy_config_to_registered_loggers(source_logger=found, include={"chalicelib", "moorage"})
    return found


def correlate(request_id: str) -> None:
    logger().set_correlation_id(request_id or None)
