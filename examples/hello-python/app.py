"""Hello-world function for the python3.11 / python3.12 runtimes (handler: app.handler)."""

import logging

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    logger.info("greeting %s (request %s)", name, context.request_id)
    return {
        "message": f"Hello, {name}!",
        "event": event,
        "request_id": context.request_id,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_time_ms": context.get_remaining_time_in_millis(),
    }
