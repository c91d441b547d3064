"""The web app: server-rendered pages whose small scripts call ``/v1`` like any client."""
