"""Readers (strict validation) and exporters. Each returns events of :data:`companion.events.EVENT_DTYPE`."""
