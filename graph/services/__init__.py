"""Processes the embedded default runs on this machine: today the Redis 8 server
(``embedded_redis``), started when no ``ASSISTANT_REDIS_URL`` is set. They manage operating-system
processes, not the graph."""
