"""Request handlers, one module per resource; each reads its route match from the request."""
