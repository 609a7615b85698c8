"""Every rule the system enforces, as a named error carrying what the API needs to answer clearly.

`code` is machine-readable, `message` names the thing and the rule, `field` points at the offending
input. They know nothing of HTTP or of processes: the API maps each to a status and a Problem Details answer in
one place (dispatch/entrypoints/api/problems.py), and the committer process says how they cross to the API
(dispatch/app/commit_process.py).
"""

from __future__ import annotations

from typing import ClassVar


class DispatchError(Exception):
    code: ClassVar[str] = "dispatch_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DispatchError):
    code = "not_found"


class IncidentNotFound(NotFound):
    code = "incident_not_found"


class ResourceNotFound(NotFound):
    code = "resource_not_found"


class FacilityNotFound(DispatchError):
    code = "facility_not_found"


class RuleViolation(DispatchError):
    """A command that is well-formed but not allowed in the current state."""


class IncidentAlreadyExists(RuleViolation):
    code = "incident_already_exists"


class IncidentAlreadyClosed(RuleViolation):
    code = "incident_closed"


class ResourceAlreadyExists(RuleViolation):
    code = "resource_already_exists"


class ResourceUnavailable(RuleViolation):
    code = "resource_unavailable"


class ResourceAlreadyOnIncident(ResourceUnavailable):
    code = "resource_already_on_incident"


class ResourceNotAssigned(RuleViolation):
    code = "resource_not_assigned"


class ResourceCarriesReferral(RuleViolation):
    """The unit is the named carrier of the incident's open referral: name another carrier before releasing it, so
    the patient is never left without transport by a click."""

    code = "resource_carries_referral"


class ResponseCompleted(RuleViolation):
    """The unit has delivered its patient: its response ends with its own milestones (back in service), not with
    a stand-down or a reassignment, which would record it as cancelled."""

    code = "response_completed"


class InvalidStatusChange(RuleViolation):
    code = "invalid_status_change"


class MilestoneOutOfOrder(RuleViolation):
    code = "milestone_out_of_order"


class MilestoneAlreadyRecorded(RuleViolation):
    code = "milestone_already_recorded"


class InvalidTime(RuleViolation):
    """A stated time is in the future or before something it must follow."""

    code = "invalid_time"


class ReferralNeedsDestination(RuleViolation):
    code = "referral_needs_destination"


class ReferralAlreadyOpen(RuleViolation):
    code = "referral_already_open"


class NoOpenReferral(RuleViolation):
    code = "no_open_referral"


class InvalidInput(DispatchError):
    code = "invalid_input"


class ResourceNotOnIncident(InvalidInput):
    """The unit a correction names was never sent to this incident (or is not registered): the input is wrong, not
    the moment."""

    code = "resource_not_on_incident"


class ReferralUnchanged(InvalidInput):
    """A change of carrier or destination that names the one the referral already has."""

    code = "referral_unchanged"


class InvalidText(InvalidInput):
    """A text breaks the clean-text rule (dispatch/domain/text.py) or is longer than where it is kept."""

    code = "invalid_text"


class ValueNotStored(InvalidInput):
    """The database refused a value of this command (too long for its column, out of range): the command is
    refused alone, and its retry would be refused too."""

    code = "value_not_stored"


class NotPermitted(DispatchError):
    code = "not_permitted"


class NotOnIncident(NotPermitted):
    """A lifeguard acting on an incident they neither reported nor have a unit on (or one that does not exist:
    the answer is the same, so it never confirms that someone else's case exists)."""

    code = "not_on_incident"


class NotCrewOfResource(NotPermitted):
    """A lifeguard recording for a unit they do not crew: only its crew speaks for a boat or team."""

    code = "not_crew_of_resource"


class ConcurrencyConflict(DispatchError):
    """Someone appended to the stream since it was read; carries the version the stream is at now."""

    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected_version: int, current_version: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {current_version}, not {expected_version}; read it again",
            field="expected_version",
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.current_version = current_version


class IdempotencyKeyReused(DispatchError):
    """The same command id was sent again with a different request: a client bug, never a retry."""

    code = "idempotency_key_reused"


class CommitterUnavailable(DispatchError):
    """The process that commits commands is not there (starting, restarting or stopping): retry shortly."""

    code = "committer_unavailable"


class DatabaseUnavailable(DispatchError):
    """The database could not be reached or used (refused, gone, locked): retry shortly, with the same key."""

    code = "database_unavailable"


class NotABeaconIncident(RuleViolation):
    """Confirming or dismissing a beacon needs an incident a beacon opened."""

    code = "not_a_beacon_incident"


class MmsiAlreadyClaimed(RuleViolation):
    """One transponder belongs to one resource: two would move as one on the map."""

    code = "mmsi_already_claimed"
