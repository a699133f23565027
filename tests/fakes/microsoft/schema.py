"""The shape of the event bodies Graph accepts, for refusing what real Graph would refuse.

Property names follow the v1.0 CSDL (``EntityType event`` and the complex types it uses);
enum members follow its ``EnumType`` declarations. Enum values compare case-insensitively,
as Graph does. Violations are reported the way Graph's OData reader reports them
(``RequestBodyRead``), so an adapter drifting from the real API fails here first.
"""

from __future__ import annotations

from typing import Any

EVENT_TYPE = "Microsoft.OutlookServices.Event"

ENUMS: dict[str, frozenset[str]] = {
    "bodyType": frozenset({"text", "html"}),
    "attendeeType": frozenset({"required", "optional", "resource"}),
    "freeBusyStatus": frozenset(
        {"unknown", "free", "tentative", "busy", "oof", "workingElsewhere"}
    ),
    "importance": frozenset({"low", "normal", "high"}),
    "sensitivity": frozenset({"normal", "personal", "private", "confidential"}),
    "onlineMeetingProviderType": frozenset(
        {"unknown", "skypeForBusiness", "skypeForConsumer", "teamsForBusiness"}
    ),
    "eventType": frozenset({"singleInstance", "occurrence", "exception", "seriesMaster"}),
    "locationType": frozenset(
        {
            "default", "conferenceRoom", "homeAddress", "businessAddress", "geoCoordinates",
            "streetAddress", "hotel", "restaurant", "localBusiness", "postalAddress",
        }
    ),
    "locationUniqueIdType": frozenset({"unknown", "locationStore", "directory", "private", "bing"}),
    "responseType": frozenset(
        {"none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"}
    ),
}

# type name -> {property: type}; a type is "String", "Boolean", "Int32", "Collection(x)",
# an enum name, a complex type name, or "Any" for structures this emulator does not check.
TYPES: dict[str, dict[str, str]] = {
    "event": {
        "allowNewTimeProposals": "Boolean",
        "attendees": "Collection(attendee)",
        "body": "itemBody",
        "bodyPreview": "String",
        "categories": "Collection(String)",
        "changeKey": "String",
        "createdDateTime": "String",
        "end": "dateTimeTimeZone",
        "hasAttachments": "Boolean",
        "hideAttendees": "Boolean",
        "iCalUId": "String",
        "id": "String",
        "importance": "importance",
        "isAllDay": "Boolean",
        "isCancelled": "Boolean",
        "isDraft": "Boolean",
        "isOnlineMeeting": "Boolean",
        "isOrganizer": "Boolean",
        "isReminderOn": "Boolean",
        "lastModifiedDateTime": "String",
        "location": "location",
        "locations": "Collection(location)",
        "onlineMeeting": "Any",
        "onlineMeetingProvider": "onlineMeetingProviderType",
        "onlineMeetingUrl": "String",
        "organizer": "recipient",
        "originalEndTimeZone": "String",
        "originalStart": "String",
        "originalStartTimeZone": "String",
        "recurrence": "Any",
        "reminderMinutesBeforeStart": "Int32",
        "responseRequested": "Boolean",
        "responseStatus": "responseStatus",
        "sensitivity": "sensitivity",
        "seriesMasterId": "String",
        "showAs": "freeBusyStatus",
        "start": "dateTimeTimeZone",
        "subject": "String",
        "transactionId": "String",
        "type": "eventType",
        "webLink": "String",
        "attachments": "Any",
        "calendar": "Any",
        "extensions": "Any",
        "instances": "Any",
        "multiValueExtendedProperties": "Any",
        "singleValueExtendedProperties": "Any",
    },
    "dateTimeTimeZone": {"dateTime": "String", "timeZone": "String"},
    "itemBody": {"contentType": "bodyType", "content": "String"},
    "emailAddress": {"address": "String", "name": "String"},
    "recipient": {"emailAddress": "emailAddress"},
    "attendee": {
        "emailAddress": "emailAddress",
        "type": "attendeeType",
        "status": "responseStatus",
        "proposedNewTime": "Any",
    },
    "responseStatus": {"response": "responseType", "time": "String"},
    "location": {
        "displayName": "String",
        "locationEmailAddress": "String",
        "address": "Any",
        "coordinates": "Any",
        "locationUri": "String",
        "locationType": "locationType",
        "uniqueId": "String",
        "uniqueIdType": "locationUniqueIdType",
    },
}

_OUTLOOK_NAMES = {
    "event": "Event",
    "dateTimeTimeZone": "DateTimeTimeZone",
    "itemBody": "ItemBody",
    "emailAddress": "EmailAddress",
    "recipient": "Recipient",
    "attendee": "Attendee",
    "responseStatus": "ResponseStatus",
    "location": "Location",
}


class BodyInvalid(ValueError):
    """A request body Graph's reader would refuse; ``str()`` is Graph's message."""


def validate(value: Any, type_name: str = "event") -> None:
    """Raise :class:`BodyInvalid` unless ``value`` is a valid instance of ``type_name``."""
    _check(value, type_name, type_name)


def _check(value: Any, type_name: str, where: str) -> None:
    if value is None or type_name == "Any":
        return
    if type_name.startswith("Collection("):
        if not isinstance(value, list):
            raise BodyInvalid(f"A node of type 'StartObject' was read where 'StartArray' "
                              f"was expected for property '{where}'.")
        inner = type_name[len("Collection("):-1]
        for item in value:
            _check(item, inner, where)
        return
    if type_name == "String":
        if not isinstance(value, str):
            raise BodyInvalid(f"Cannot convert a primitive value to the expected type "
                              f"'Edm.String'. See the inner exception for more details. ({where})")
        return
    if type_name == "Boolean":
        if not isinstance(value, bool):
            raise BodyInvalid(f"Cannot convert the literal '{value}' to the expected type "
                              f"'Edm.Boolean'. ({where})")
        return
    if type_name == "Int32":
        if isinstance(value, bool) or not isinstance(value, int):
            raise BodyInvalid(f"Cannot convert the literal '{value}' to the expected type "
                              f"'Edm.Int32'. ({where})")
        return
    if type_name in ENUMS:
        members = {m.lower() for m in ENUMS[type_name]}
        if not isinstance(value, str) or value.lower() not in members:
            raise BodyInvalid(f"Cannot convert the literal '{value}' to the expected type "
                              f"'microsoft.graph.{type_name}'.")
        return
    properties = TYPES[type_name]
    if not isinstance(value, dict):
        raise BodyInvalid(f"A node of type 'PrimitiveValue' was read where 'StartObject' "
                          f"was expected ({where}).")
    outlook = _OUTLOOK_NAMES.get(type_name, type_name)
    for key, item in value.items():
        if key.startswith("@odata."):
            continue
        if key not in properties:
            raise BodyInvalid(
                f"The property '{key}' does not exist on type 'Microsoft.OutlookServices."
                f"{outlook}'. Make sure to only use property names that are defined by the "
                "type or mark the type as open type."
            )
        _check(item, properties[key], key)
