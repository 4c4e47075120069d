"""The OpenAPI 3 description of the JSON API, served at /api/v1/openapi.json."""
from bot.staff.workflow import ACTION_NAMES
from bot.store.states import LABELS

_TICKET = {
    "type": "object",
    "properties": {
        "number": {"type": "string", "example": "MS-20261125-0007"},
        "status": {"type": "string", "enum": list(LABELS)},
        "category": {"type": "string"},
        "urgency": {"type": "string", "enum": ["emergency", "hazard", "normal"]},
        "lead_department": {"type": "string"},
        "flagged": {"type": "boolean", "description": "for the supervisor: an emergency, or reopened by a dissatisfied resident"},
        "assisting_departments": {"type": "array", "items": {"type": "string"}},
        "deadline": {"type": "string", "format": "date"},
        "created_at": {"type": "string", "format": "date-time"},
        "description": {"type": "string"},
        "location": {"type": "string", "nullable": True},
    },
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}
_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
    for name, kind, text in [
        ("status", "string", "ticket state"), ("category", "string", "category id"),
        ("department", "string", "lead department id"), ("urgency", "string", "emergency | hazard | normal"),
        ("overdue", "string", "1: only open tickets past their deadline"),
        ("flagged", "string", "1: only tickets flagged for the supervisor (emergencies, reopened by the resident)"),
        ("q", "string", "number, words or place"),
        ("from", "string", "created on or after (YYYY-MM-DD)"), ("to", "string", "created on or before (YYYY-MM-DD)"),
        ("sort", "string", "newest | oldest | deadline"), ("page", "integer", "1-based page of 50"),
    ]
]

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Minsheng staff API", "version": "1",
             "description": "Tickets as the staff console sees them. Every call acts as the token's user, with that "
                            "user's role and department; other departments' tickets answer 404."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Ticket": _TICKET, "Error": _ERROR},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/tickets": {"post": {
            "summary": "File a report on a resident's behalf (classified by the chat's model unless a category is given)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object",
                "required": ["description", "channel"], "properties": {
                    "description": {"type": "string", "description": "the resident's words"},
                    "location": {"type": "string"}, "phone": {"type": "string"},
                    "channel": {"type": "string", "enum": ["face_to_face", "phone", "wechat_group", "open_meeting", "visit"]},
                    "category": {"type": "string", "description": "category id; classified when left out"}}}}}},
            "responses": {"201": {"description": "the new ticket", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
                          "403": {"description": "the role may not file"},
                          "422": {"description": "what is missing or wrong, in Chinese"}},
        }, "get": {
            "summary": "The filtered queue", "parameters": _FILTERS,
            "responses": {"200": {"description": "a page of tickets", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"total": {"type": "integer"}, "page": {"type": "integer"},
                                                 "pages": {"type": "integer"},
                                                 "tickets": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}}}}}}},
                          "401": {"description": "no or bad token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        }},
        "/api/v1/tickets/{number}": {"get": {
            "summary": "One ticket with its history",
            "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the ticket", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ticket"}}}},
                          "404": {"description": "no such ticket, or not visible to this user"}},
        }},
        "/api/v1/tickets/{number}/{action}": {"post": {
            "summary": "Work a ticket, following the state table",
            "parameters": [
                {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": list(ACTION_NAMES)}},
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {
                "lead": {"type": "string", "description": "dispatch: lead department id"},
                "assisting": {"type": "array", "items": {"type": "string"}, "description": "dispatch: assisting departments"},
                "note": {"type": "string", "description": "reason or result; required for return, resolve, reject; the resident's comment for follow_up"},
                "into": {"type": "string", "description": "merge: number of the original ticket"},
                "category": {"type": "string", "description": "recategorize: the right category id"},
                "rating": {"type": "string", "enum": ["1", "2", "3", "4", "5"],
                           "description": "follow_up (电话回访): 5 非常满意 … 1 非常不满意; 1 and 2 reopen the ticket"}}}}}},
            "responses": {"200": {"description": "the ticket after the action"},
                          "400": {"description": "body is not a JSON object"},
                          "403": {"description": "the role or department may not do this"},
                          "404": {"description": "no such ticket or action"},
                          "409": {"description": "not allowed in the ticket's state, or a reason is missing"}},
        }},
    },
}
