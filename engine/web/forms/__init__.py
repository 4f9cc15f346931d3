"""Task forms from JSON Schema + UI schema, server-side.

`build_fields` turns a schema, the values to show and the validation problems into a tree of
`Field`s that one Jinja macro renders; `coerce` reads a submitted HTML form back into data of the
schema's types. Field names are dotted paths ("candidates.0.name"), the same paths the service
layer's validation problems name, so every error lands next to its field.

Widgets: text, textarea (ui:widget textarea), integer/number, date (format date), datetime,
select / radio (enum or oneOf const/title), checkboxes (array of enum), yes/no (boolean),
lines (array of plain strings), repeating groups (array of objects), nested groups (object),
file (object with attachment_id + sha256, or ui:widget file), files (a list of those), hidden.
A field with `x-choices` is picked from a list resolved for the task (matters, mediators, …).
"""
from .errors import errors_by_field, unplaced_errors
from .parse import ABSENT, StoreFile, add_row_request, coerce
from .render import ROW_PLACEHOLDER, SEARCH_OVER, Field, build_fields
from .schema import FILE_KEYS, choice_source, is_file_schema

__all__ = ["ABSENT", "FILE_KEYS", "ROW_PLACEHOLDER", "SEARCH_OVER", "Field", "StoreFile", "add_row_request",
           "build_fields", "choice_source", "coerce", "errors_by_field", "is_file_schema", "unplaced_errors"]
