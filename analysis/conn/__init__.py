"""Stage 4, connections: Zeek's conn_state and history per connection, and the capture's gaps."""
