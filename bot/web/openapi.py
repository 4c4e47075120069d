"""The OpenAPI 3 description of the JSON API, served at /api/v1/openapi.json — generated from the
same definitions the API answers with: the ticket's models (bot/staff/serializers.py), the queue's
filters (bot/staff/queue.py), the action table (bot/staff/workflow.py) and the error hierarchy
(bot/errors.py)."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Type

from pydantic import BaseModel
from pydantic.schema import schema as pydantic_schema

from bot import errors
from bot.staff import serializers, workflow
from bot.staff.knowledge import PARAMETERS as KNOWLEDGE_PARAMETERS
from bot.staff.queue import PARAMETERS
from bot.store.states import LABELS

REF = "#/components/schemas/"


def _ref(model) -> Dict[str, str]:
    return {"$ref": REF + model.__name__}


def _json(model, description: str) -> Dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _error(error: Type[errors.MinshengError], description: str) -> Dict[str, Any]:
    return {str(error.status): _json(serializers.Error, description)}


def _action_body() -> Dict[str, Any]:
    properties: Dict[str, Any] = {}
    for field in workflow.all_fields():
        users = [a.name for a in workflow.ACTIONS.values() if any(f.name == field.name for f in a.fields)]
        kind = {"type": "array", "items": {"type": "string"}} if field.multiple else {"type": "string"}
        properties[field.name] = {**kind, "description": f"{field.label} ({', '.join(users)})"}
    return {"type": "object", "properties": properties}


def _nullable(schemas: Dict[str, Any], models: Sequence[Type[BaseModel]]) -> None:
    """Optional fields may be null (OpenAPI 3.1 / JSON Schema: a type list with "null")."""
    for model in models:
        properties = schemas[model.__name__]["properties"]
        for field in model.__fields__.values():
            prop = properties[field.alias]
            if not field.allow_none:
                continue
            if "type" in prop:
                prop["type"] = [prop["type"], "null"]
            else:
                properties[field.alias] = {"anyOf": [prop, {"type": "null"}]}


def document() -> Dict[str, Any]:
    models: List[Type[BaseModel]] = [
        serializers.TicketSummary,
        serializers.TicketDetail,
        serializers.TicketPage,
        serializers.FilingBody,
        serializers.Error,
        serializers.HistoryLine,
        serializers.DuplicateCandidate,
        serializers.DuplicateList,
        serializers.KnowledgeBody,
        serializers.KnowledgeSummary,
        serializers.KnowledgeRevisionLine,
        serializers.KnowledgeDetail,
        serializers.KnowledgePage,
        serializers.QuestionGroupLine,
        serializers.QuestionGroupList,
    ]
    schemas = pydantic_schema(models, ref_prefix=REF)["definitions"]
    _nullable(schemas, models)
    schemas["TicketSummary"]["properties"]["status"]["enum"] = list(LABELS)
    filters: List[Dict[str, Any]] = [
        {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
        for name, kind, text in PARAMETERS
    ]
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
    actions = {name: f"{action.label}" for name, action in workflow.ACTIONS.items()}
    unauthorized = _error(errors.Unauthorized, "no or bad token")
    entry_id = {"name": "entry_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    knowledge_filters: List[Dict[str, Any]] = [
        {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
        for name, kind, text in KNOWLEDGE_PARAMETERS
    ]
    entry_body = {"required": True, "content": {"application/json": {"schema": _ref(serializers.KnowledgeBody)}}}
    no_entry = _error(errors.NotFound, "no such entry")
    may_not_edit = _error(
        errors.NotPermitted, "supervisors read only; department staff change only their department's entries"
    )

    def publishing(summary: str) -> Dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "parameters": [entry_id],
                "responses": {
                    "200": _json(serializers.KnowledgeDetail, "the entry (unchanged if it already was so)"),
                    **unauthorized,
                    **may_not_edit,
                    **no_entry,
                },
            }
        }

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Minsheng staff API",
            "version": "1",
            "description": "Tickets and the knowledge base as the staff console sees them. Every call acts as the "
            "token's user, with that user's role and department; other departments' tickets answer 404. Errors are "
            '{"error": "…"} in Chinese.',
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/tickets": {
                "post": {
                    "summary": "File a report on a resident's behalf (classified by the chat's model unless a "
                    "category is given)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref(serializers.FilingBody)}},
                    },
                    "responses": {
                        "201": _json(serializers.TicketDetail, "the new ticket"),
                        **unauthorized,
                        **_error(errors.NotPermitted, "the role may not file"),
                        **_error(errors.InvalidInput, "what is missing or wrong"),
                    },
                },
                "get": {
                    "summary": "The filtered queue",
                    "parameters": filters,
                    "responses": {"200": _json(serializers.TicketPage, "a page of tickets"), **unauthorized},
                },
            },
            "/api/v1/tickets/{number}": {
                "get": {
                    "summary": "One ticket with its history",
                    "parameters": [number],
                    "responses": {
                        "200": _json(serializers.TicketDetail, "the ticket"),
                        **unauthorized,
                        **_error(errors.NotFound, "no such ticket, or not visible to this user"),
                    },
                }
            },
            "/api/v1/tickets/{number}/duplicates": {
                "get": {
                    "summary": "Tickets that may report the same problem at the same place, best first, with their "
                    'scores (merge one with POST /api/v1/tickets/{number}/merge {"into": …})',
                    "parameters": [number],
                    "responses": {
                        "200": _json(serializers.DuplicateList, "the candidates"),
                        **unauthorized,
                        **_error(errors.NotFound, "no such ticket, or not visible to this user"),
                    },
                }
            },
            "/api/v1/knowledge": {
                "get": {
                    "summary": "Knowledge-base entries (知识库), newest change first; every role reads every entry",
                    "parameters": knowledge_filters,
                    "responses": {"200": _json(serializers.KnowledgePage, "a page of entries"), **unauthorized},
                },
                "post": {
                    "summary": "Create an entry (question and answer required; a draft unless published is true)",
                    "requestBody": entry_body,
                    "responses": {
                        "201": _json(serializers.KnowledgeDetail, "the new entry"),
                        **unauthorized,
                        "400": _json(serializers.Error, "body is not a JSON object"),
                        **may_not_edit,
                        **_error(errors.InvalidInput, "what is missing or wrong"),
                    },
                },
            },
            "/api/v1/knowledge/questions": {
                "get": {
                    "summary": "Residents' questions to improve the base with (居民问题待完善): those no entry "
                    "answered or that got a 没帮助, grouped by similarity, largest group first; same permission as "
                    "the list of entries",
                    "responses": {
                        "200": _json(serializers.QuestionGroupList, "the groups still waiting for an entry"),
                        **unauthorized,
                    },
                }
            },
            "/api/v1/knowledge/{entry_id}": {
                "get": {
                    "summary": "One entry with its revisions (who, when, what changed), newest first",
                    "parameters": [entry_id],
                    "responses": {"200": _json(serializers.KnowledgeDetail, "the entry"), **unauthorized, **no_entry},
                },
                "patch": {
                    "summary": "Change an entry: the fields given, the others kept; a new revision when anything "
                    "changed",
                    "parameters": [entry_id],
                    "requestBody": entry_body,
                    "responses": {
                        "200": _json(serializers.KnowledgeDetail, "the entry after the change"),
                        **unauthorized,
                        "400": _json(serializers.Error, "body is not a JSON object"),
                        **may_not_edit,
                        **no_entry,
                        **_error(errors.InvalidInput, "a value that cannot be taken"),
                    },
                },
            },
            "/api/v1/knowledge/{entry_id}/publish": publishing("Publish an entry: it answers residents from now on"),
            "/api/v1/knowledge/{entry_id}/unpublish": publishing("Withdraw an entry: it no longer answers residents"),
            "/api/v1/tickets/{number}/{action}": {
                "post": {
                    "summary": "Work a ticket, following the state table: "
                    + "; ".join(f"{name} ({label})" for name, label in actions.items()),
                    "parameters": [
                        number,
                        {
                            "name": "action",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": list(actions)},
                        },
                    ],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _action_body()}}},
                    "responses": {
                        "200": _json(serializers.TicketDetail, "the ticket after the action"),
                        **unauthorized,
                        "400": _json(serializers.Error, "body is not a JSON object"),
                        **_error(errors.NotPermitted, "the role or department may not do this"),
                        **_error(errors.NotFound, "no such ticket or action"),
                        **_error(errors.Conflict, "not allowed in the ticket's state, or a reason is missing"),
                        **_error(errors.InvalidInput, "a value that cannot be taken"),
                    },
                }
            },
        },
    }


DOCUMENT = document()
