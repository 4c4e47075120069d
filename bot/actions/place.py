"""The position a resident's device gave, read against the district's gazetteer."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import places


def position_slots(
    latitude: Any, longitude: Any, dispatcher: CollectingDispatcher, tracker: Tracker
) -> Dict[Text, Any]:
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return {"latitude": None, "longitude": None}
    if not places.valid_position(lat, lon):
        return {"latitude": None, "longitude": None}
    place = places.load().nearest(lat, lon)
    if place is None:
        dispatcher.utter_message(response="utter_position_unknown")
        return {"latitude": lat, "longitude": lon, "location_hint": None}
    dispatcher.utter_message(response="utter_position_found", place=place.name)
    slots: Dict[Text, Any] = {"latitude": lat, "longitude": lon, "location_hint": place.name}
    if tracker.get_slot("requested_slot") != "location" and tracker.get_slot("location"):
        slots["location"] = None  # a report further on: where in that place is asked again
    return slots
