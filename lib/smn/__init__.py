"""The SMN API (Simple Message Notification): publishing messages to topics."""
