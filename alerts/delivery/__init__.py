"""The delivery engine: the outbox filled at publication, the dispatcher that drains it
over every channel's API, and the single worker process that runs the dispatcher."""
