"""Request-body fields that take only the JSON type the contract gives them.

DRF's fields coerce: a CharField turns `12345` into "12345", a BooleanField takes "true" and 1,
an IntegerField "12", a UUIDField an integer. A body is the client's JSON, and its types are part
of the contract, so each field here refuses any other JSON type before DRF's own validation
(400 VALIDATION_ERROR naming the field). ChoiceField also lists the valid values when it refuses
one. Every request serializer declares its fields from this module; query-string serializers keep
DRF's fields (a query string has only strings).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

__all__ = [
    "BooleanField",
    "CharField",
    "ChoiceField",
    "DateTimeField",
    "EmailField",
    "IPAddressField",
    "IntegerField",
    "RegexField",
    "UUIDField",
    "json_type_name",
]


def json_type_name(value: Any) -> str:
    """The JSON type of a parsed JSON value, as a client would name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _JSONTyped(serializers.Field):
    """Refuses a value whose JSON type is not `json_type` (null is left to the field's allow_null)."""

    json_type: ClassVar[str]
    default_error_messages = {"wrong_type": "Must be a JSON {expected}, not {received}."}

    def _accepts(self, data: Any) -> bool:
        return json_type_name(data) == self.json_type

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data is not serializers.empty and data is not None and not self._accepts(data):
            self.fail("wrong_type", expected=self.json_type, received=json_type_name(data))
        return super().run_validation(data)


class CharField(_JSONTyped, serializers.CharField):
    json_type = "string"


class EmailField(_JSONTyped, serializers.EmailField):
    json_type = "string"


class RegexField(_JSONTyped, serializers.RegexField):
    json_type = "string"


class UUIDField(_JSONTyped, serializers.UUIDField):
    json_type = "string"


class IPAddressField(_JSONTyped, serializers.IPAddressField):
    json_type = "string"


class DateTimeField(_JSONTyped, serializers.DateTimeField):
    json_type = "string"


class BooleanField(_JSONTyped, serializers.BooleanField):
    json_type = "boolean"


class IntegerField(_JSONTyped, serializers.IntegerField):
    """A JSON integer: a string, a boolean or a fractional number is refused."""

    json_type = "integer"

    def _accepts(self, data: Any) -> bool:
        return json_type_name(data) == "number" and (isinstance(data, int) or float(data).is_integer())


class ChoiceField(serializers.ChoiceField):
    """An enum: a value of the wrong JSON type or outside the choices is refused, naming the valid values.

    It takes the values' own JSON type (strings for the TextChoices the models use), so it also
    serves query strings, whose every value is a string.
    """

    default_error_messages = {
        "invalid_choice": '"{input}" is not a valid choice; valid: {valid}.',
    }

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        values = list(self.choice_strings_to_values.values())
        if all(isinstance(value, str) for value in values) and not isinstance(data, str):
            self.fail("invalid_choice", input=data, valid=self.valid_values())
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            self.fail("invalid_choice", input=data, valid=self.valid_values())

    def valid_values(self) -> str:
        return ", ".join(self.choice_strings_to_values)
