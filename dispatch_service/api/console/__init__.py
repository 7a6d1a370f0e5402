"""The operator console's API: sign-in, each mall's board and its live changes (Server-Sent
Events), the offer log of a route, the audit log, and the operators' actions.

Internal (operators only, never customers): it names stores, drivers and malls. Every
`/v1/console/` endpoint answers 401 without an operator token, sent as a bearer token or in
the cookie the sign-in sets for the page.
"""

from fastapi import APIRouter

from dispatch_service.api.console import actions, boards, session

# In this order: the OpenAPI document lists the operations as the console's page uses them.
ROUTERS: list[APIRouter] = [session.session_router, session.router, boards.router, actions.router]
