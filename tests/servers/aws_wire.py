"""AWS wire formats for the local test servers, driven by botocore's own service models.

``ec2_response`` writes an EC2 Query XML response from a dict shaped like boto3's result (the
reverse of what botocore parses); ``ec2_parse`` reads one (to re-page what moto answered).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from functools import cache
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"


@cache
def service_model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def operation(service: str, name: str):
    return service_model(service).operation_model(name)


def _scalar(shape, value: Any) -> str:
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "timestamp":
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return str(value)
    return str(value)


def _write_value(parent: Element, tag: str, shape, value: Any) -> None:
    element = SubElement(parent, tag)
    if shape.type_name == "structure":
        _write_members(element, shape, value)
    elif shape.type_name == "list":
        item_tag = shape.member.serialization.get("name", "item")
        for item in value:
            _write_value(element, item_tag, shape.member, item)
    else:
        element.text = _scalar(shape, value)


def _write_members(element: Element, shape, value: dict) -> None:
    for name, member in shape.members.items():
        if name in value and value[name] is not None:
            _write_value(element, member.serialization.get("name", name), member, value[name])


def ec2_response(action: str, result: dict) -> bytes:
    model = operation("ec2", action)
    root = Element(f"{action}Response", xmlns=EC2_NAMESPACE)
    SubElement(root, "requestId").text = str(uuid.uuid4())
    if model.output_shape is not None:
        _write_members(root, model.output_shape, result)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root)


def ec2_error(code: str, message: str) -> bytes:
    root = Element("Response")
    error = SubElement(SubElement(root, "Errors"), "Error")
    SubElement(error, "Code").text = code
    SubElement(error, "Message").text = message
    SubElement(root, "RequestID").text = str(uuid.uuid4())
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root)


def query_error(code: str, message: str) -> bytes:
    """The error body of the other Query-protocol services (STS, IAM)."""
    root = Element("ErrorResponse")
    error = SubElement(root, "Error")
    SubElement(error, "Type").text = "Sender"
    SubElement(error, "Code").text = code
    SubElement(error, "Message").text = message
    SubElement(root, "RequestId").text = str(uuid.uuid4())
    return tostring(root)


def ec2_parse(action: str, body: bytes, status: int = 200) -> dict:
    from botocore.parsers import create_parser

    model = operation("ec2", action)
    parsed = create_parser("ec2").parse(
        {"body": body, "headers": {}, "status_code": status}, model.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed
