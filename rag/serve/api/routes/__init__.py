"""The API's routes, one module per resource; each ``router(rag, gate)`` gives its
routes over ``rag``'s collections, answers computed inside ``gate``."""
