"""The kinds of notice, each registered once with its title and text (English msgids with ``{param}`` fields).

A domain that sends a notice registers its kind at import time::

    register_notice_kind(NoticeKind("card_renewal", N_("Your health insurance card ends soon"),
                                    N_("Your card {card_number} is valid until {valid_to}."), ("card_number", "valid_to")))
"""

from __future__ import annotations

from dataclasses import dataclass

from ansinh.i18n import N_


@dataclass(frozen=True)
class NoticeKind:
    code: str
    title: str
    text: str
    #: The parameters the text needs (checked when a notice is sent).
    params: tuple[str, ...] = ()
    #: Parameters holding an English msgid (an outcome), translated when the notice is shown and filled with the
    #: other parameters (``N_("rejected: {reason}")``).
    translated: tuple[str, ...] = ()


NOTICE_KINDS: dict[str, NoticeKind] = {}


def register_notice_kind(kind: NoticeKind) -> NoticeKind:
    existing = NOTICE_KINDS.get(kind.code)
    if existing is not None and existing != kind:
        raise ValueError(f"notice kind {kind.code!r} registered twice, differently")
    NOTICE_KINDS[kind.code] = kind
    return kind


register_notice_kind(NoticeKind(
    "general", N_("A message from the social security office"), N_("{message}"), ("message",)))
register_notice_kind(NoticeKind(
    "card_renewal", N_("Your health insurance card ends soon"),
    N_("Your health insurance card {card_number} is valid until {valid_to}. Renew it to stay covered."),
    ("card_number", "valid_to")))
register_notice_kind(NoticeKind(
    "voluntary_renewal", N_("Your voluntary social insurance period ends soon"),
    N_("Your voluntary social insurance is paid until {paid_until}. Pay the next period to keep contributing."),
    ("paid_until",)))
register_notice_kind(NoticeKind(
    "claim_decided", N_("A decision on your benefit claim"),
    N_("Claim {claim_id} has been decided: {outcome}."), ("claim_id", "outcome"), ("outcome",)))
register_notice_kind(NoticeKind(
    "correction_resolved", N_("Your correction request was answered"),
    N_("Request {request_id}: {outcome}."), ("request_id", "outcome"), ("outcome",)))
