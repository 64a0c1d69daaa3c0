"""HubSpot's error type and its body (SPEC §7).

Every failure a caller can cause is raised as :class:`HubSpotError` and rendered by the app into
HubSpot's standard body. Messages are written for the caller and never carry a property value of
a sensitive property: build them from names, ids and types only.
"""

from __future__ import annotations

from typing import Any

SCOPES_DOC = "https://developers.hubspot.com/scopes"
AUTH_DOC = "https://developers.hubspot.com/docs/methods/auth/oauth-overview"


class HubSpotError(Exception):
    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, list[str]] | None = None,
        sub_category: str | None = None,
        links: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        validation_results: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = errors
        self.context = context
        self.sub_category = sub_category
        self.links = links
        self.headers = headers or {}
        # The per-property problems of a values check, for the legacy ``validationResults`` body.
        self.validation_results = validation_results

    def body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.errors:
            body["errors"] = self.errors
        if self.context:
            body["context"] = self.context
        if self.links:
            body["links"] = self.links
        return body

    def as_batch_error(self) -> dict[str, Any]:
        """The ``StandardError`` shape used inside 207 multi-status bodies."""
        item: dict[str, Any] = {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context or {},
            "errors": self.errors or [],
            "links": self.links or {},
        }
        if self.sub_category:
            item["subCategory"] = self.sub_category
        return item


class UniqueValueTaken(HubSpotError):
    """400: another record already holds the value, and the property holds unique values. A
    type of its own so that an endpoint with its own error body (forms) can answer it without
    reading the message, which may name the holder."""

    def __init__(self, message: str, property_name: str) -> None:
        super().__init__(
            400, "VALIDATION_ERROR", message, context={"propertyName": [property_name]}
        )
        self.property_name = property_name


def validation_error(message: str, **kwargs: Any) -> HubSpotError:
    return HubSpotError(400, "VALIDATION_ERROR", message, **kwargs)


def not_found(message: str = "resource not found", **kwargs: Any) -> HubSpotError:
    return HubSpotError(404, "OBJECT_NOT_FOUND", message, **kwargs)


def not_implemented(method: str, path: str) -> HubSpotError:
    """A call HubSpot serves that LocalSpot does not, yet (DESIGN: nothing is done silently)."""
    return not_found(f"LocalSpot does not implement {method} {path} yet.")


def conflict(message: str, category: str = "CONFLICT", **kwargs: Any) -> HubSpotError:
    return HubSpotError(409, category, message, **kwargs)


def forbidden(message: str, **kwargs: Any) -> HubSpotError:
    return HubSpotError(403, "FORBIDDEN", message, **kwargs)


def missing_scopes(required: list[str]) -> HubSpotError:
    """403 whose ``requiredGranularScopes`` lists scopes any one of which would suffice."""
    return HubSpotError(
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. "
        f"Read more about required scopes here: {SCOPES_DOC}.",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": sorted(required)},
            }
        ],
        links={"scopes": SCOPES_DOC},
    )


def unreadable_sealed_value(
    object_singular: str, record_id: int, property_name: str
) -> HubSpotError:
    """500 for a sealed value that fails authentication: altered in the store, copied from
    another record or property, or sealed under a key the keyring no longer holds. Not the
    caller's fault, and a retry cannot help; only names and ids, never a value."""
    return HubSpotError(
        500,
        "INTERNAL_ERROR",
        "A stored sensitive value failed its integrity check and cannot be served: "
        f"property {property_name} of {object_singular} {record_id}. It was altered outside "
        "LocalSpot or sealed under a key the keyring no longer holds; an administrator must "
        "restore it.",
        context={"objectId": [str(record_id)], "propertyName": [property_name]},
    )


def invalid_authentication() -> HubSpotError:
    return HubSpotError(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        f"you can find more details at {AUTH_DOC}",
        headers={"x-hubspot-auth-failure": "401 Unauthorized"},
    )


def expired_authentication(seconds_ago: int, expired_at_iso: str) -> HubSpotError:
    return HubSpotError(
        401,
        "EXPIRED_AUTHENTICATION",
        f"The OAuth token used to make this call expired {seconds_ago} second(s) ago.",
        context={"expire time": [expired_at_iso]},
        headers={"x-hubspot-auth-failure": "401 Unauthorized"},
    )
