"""What every DynamoDB adapter of this package does the same way: read one item, recognise
a failed condition, stamp a deleter, delete only what exists."""
from __future__ import annotations

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError

TRANSACT_MAX = 100   # items in one TransactWriteItems
BATCH_GET_MAX = 100  # keys in one BatchGetItem


def condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def cancelled_by_condition(error: TransactWriteError) -> bool:
    # Which item's condition failed is not used: moto reports the reason at the wrong index,
    # so callers that need to know read the items again.
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons or [])


def get_item(model, pk: str, sk: str, consistent: bool = False, attributes: list[str] | None = None):
    try:
        return model.get(pk, sk, consistent_read=consistent, attributes_to_get=attributes)
    except model.DoesNotExist:
        return None


def stamp_deleter(item, actor: str, now) -> bool:
    """Write who is deleting into the item first: a stream REMOVE record carries only the old
    image, and this way its updated_by names the deleter (consumers skip the stamp itself)."""
    model = type(item)
    try:
        model(item.pk, item.sk).update(actions=[model.updated_by.set(actor), model.updated_at.set(now)],
                                       condition=model.pk.exists())
        return True
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise


def delete_if_exists(item, actor: str | None = None, now=None, condition=None) -> bool:
    if actor is not None and not stamp_deleter(item, actor, now):
        return False
    model = type(item)
    try:
        item.delete(condition=model.pk.exists() if condition is None else model.pk.exists() & condition)
        return True
    except DeleteError as error:
        if condition_failed(error):
            return False
        raise
