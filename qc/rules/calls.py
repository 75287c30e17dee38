"""Call-metadata rules: calling hours in the callee's local time, and frequency across the account's calls.

Local time: `Call.callee_timezone` (an IANA zone, DST-correct) when the metadata has one, otherwise the UTC
offset recorded in `Call.started_at`. Day windows are calendar days in that local time, so "3 answered calls a
day" and "7 calls in 7 consecutive days" do not drift over a DST change or a midnight boundary.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qc.domain import Call, CallAttempt, Finding
from qc.pii import mask_field  # the account / phone key is shown to users: all but its last 4 hidden
from qc.rules.matching import CallContext
from qc.rules.registry import Rule, RuleConfig, rule_type


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (use an IANA name such as Asia/Shanghai)") from None
    return name


def callee_zone(call: Call, default_timezone: str) -> tzinfo:
    """The zone the callee's local time is computed in."""
    if call.callee_timezone:
        try:
            return ZoneInfo(call.callee_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"call {call.call_id}: field 'callee_timezone': unknown timezone {call.callee_timezone!r}") from None
    return call.started_at.tzinfo or ZoneInfo(default_timezone)


def to_local(moment: datetime, zone: tzinfo) -> datetime:
    if moment.tzinfo is None:  # naive history rows are taken to be in the callee's zone already
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


class ClockRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, int):  # YAML reads 22:00 unquoted as the sexagesimal integer 1320
            return time(value // 60 % 24, value % 60) if value < 24 * 60 else value
        return value

    def contains(self, moment: time, *, include_end: bool) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end or (include_end and moment == self.end)
        return moment >= self.start or moment < self.end or (include_end and moment == self.end)


class _LocalTimeConfig(RuleConfig):
    default_timezone: str = "UTC"  # only for calls whose started_at has no offset and no callee_timezone

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return _check_zone(name)


class TimeWindowConfig(_LocalTimeConfig):
    type: Literal["time_window"]
    scope: Literal["any"] = "any"
    allowed: ClockRange | None = None  # calls must fall inside (ends inclusive): US 08:00–21:00
    forbidden: list[ClockRange] = []  # calls must not fall inside (start inclusive): CN 22:00–08:00
    check: Literal["start", "start_or_end"] = "start"

    @model_validator(mode="after")
    def _one_window(self) -> "TimeWindowConfig":
        if (self.allowed is None) == (not self.forbidden):
            raise ValueError("give either allowed or forbidden (not both, not neither)")
        return self


@rule_type
class TimeWindowRule(Rule):
    """Calling hours in the callee's local time."""

    type_name = "time_window"
    config_model = TimeWindowConfig
    config: TimeWindowConfig

    def violates(self, local: datetime) -> bool:
        clock = local.timetz().replace(tzinfo=None)
        if self.config.allowed is not None:
            return not self.config.allowed.contains(clock, include_end=True)
        return any(window.contains(clock, include_end=False) for window in self.config.forbidden)

    def evaluate(self, context: CallContext) -> list[Finding]:
        call = context.call
        zone = callee_zone(call, self.config.default_timezone)
        started = to_local(call.started_at, zone)
        moments = [("started", started)]
        if self.config.check == "start_or_end":
            duration = call.duration_s if call.duration_s is not None else context.transcript.duration
            moments.append(("ended", started + timedelta(seconds=duration or 0.0)))
        for label, moment in moments:
            if self.violates(moment):
                return [self.finding(
                    context,
                    text=f"call {label} {moment:%Y-%m-%d %H:%M} callee local time (UTC{moment:%z})",
                    description=self.config.description or "call outside the permitted calling hours",
                )]
        return []


# ---------------------------------------------------------------------------------------------------------
Per = Literal["account", "number", "debt"]


def _key(per: Per, account_id: str, callee_number: str, debt_id: str | None) -> str:
    if per == "account":
        return account_id
    if per == "number":
        return callee_number
    return debt_id or account_id  # no debt id: one debt per account


def _attempts(context: CallContext) -> tuple[CallAttempt, list[CallAttempt]]:
    """The call itself as an attempt, and the other attempts of the history (the call itself removed)."""
    call = context.call
    current = CallAttempt(
        call_id=call.call_id, account_id=call.account_id, started_at=call.started_at,
        callee_number=call.callee_number, debt_id=call.debt_id, answered=call.answered,
        conversation=call.answered and call.callee_relation in ("debtor", "guarantor"),
    )
    others = [a for a in context.history if a.call_id != call.call_id]
    return current, others


class FrequencyConfig(_LocalTimeConfig):
    type: Literal["frequency"]
    scope: Literal["any"] = "any"
    per: Per = "account"
    count: Literal["attempts", "answered", "unanswered", "conversations"] = "attempts"
    max: int = Field(ge=0)
    window_days: int | None = Field(None, ge=1)  # calendar days (callee local) ending on the call's day
    window_hours: float | None = Field(None, gt=0)  # sliding window ending at the call

    @model_validator(mode="after")
    def _one_window(self) -> "FrequencyConfig":
        if (self.window_days is None) == (self.window_hours is None):
            raise ValueError("give exactly one of window_days or window_hours")
        return self


@rule_type
class FrequencyRule(Rule):
    """More than `max` calls of a kind within the window, counting this call and the earlier ones."""

    type_name = "frequency"
    config_model = FrequencyConfig
    config: FrequencyConfig

    def _counts(self, attempt: CallAttempt) -> bool:
        kind = self.config.count
        if kind == "answered":
            return attempt.answered
        if kind == "unanswered":
            return not attempt.answered
        if kind == "conversations":
            return attempt.answered and attempt.conversation
        return True

    def evaluate(self, context: CallContext) -> list[Finding]:
        config = self.config
        current, others = _attempts(context)
        key = _key(config.per, current.account_id, current.callee_number, current.debt_id)
        if not key or len(others) < config.max:
            return []  # even with this call counted there cannot be more than max
        zone = callee_zone(context.call, config.default_timezone)
        now = to_local(current.started_at, zone)
        if config.window_days is not None:
            first_day: date = now.date() - timedelta(days=config.window_days - 1)
            in_window = lambda moment: first_day <= moment.date() and moment <= now  # noqa: E731
            window_text = f"{config.window_days} day(s) {first_day:%Y-%m-%d}…{now:%Y-%m-%d}"
        else:
            since = now - timedelta(hours=config.window_hours or 0)
            in_window = lambda moment: since < moment <= now  # noqa: E731
            window_text = f"{config.window_hours:g} h before {now:%Y-%m-%d %H:%M}"
        counted = [
            attempt for attempt in [current, *others]
            if _key(config.per, attempt.account_id, attempt.callee_number, attempt.debt_id) == key
            and self._counts(attempt)
            and in_window(to_local(attempt.started_at, zone))
        ]
        if len(counted) <= config.max:
            return []
        return [self.finding(
            context,
            text=f"{len(counted)} {config.count} for {config.per} {mask_field(key)} in {window_text} "
                 f"(max {config.max})",
            description=config.description or "too many calls within the window",
        )]


class AfterConversationConfig(_LocalTimeConfig):
    type: Literal["after_conversation"]
    scope: Literal["any"] = "any"
    per: Per = "debt"
    days: int = Field(ge=1)  # the conversation's day is day 1 (Reg F 1006.14(b)(2)(i)(B))


@rule_type
class AfterConversationRule(Rule):
    """A call within N consecutive days after a telephone conversation about the same debt."""

    type_name = "after_conversation"
    config_model = AfterConversationConfig
    config: AfterConversationConfig

    def evaluate(self, context: CallContext) -> list[Finding]:
        config = self.config
        current, others = _attempts(context)
        if not others:
            return []
        key = _key(config.per, current.account_id, current.callee_number, current.debt_id)
        zone = callee_zone(context.call, config.default_timezone)
        now = to_local(current.started_at, zone)
        first_day = now.date() - timedelta(days=config.days - 1)
        earlier = sorted(
            local for attempt in others
            if attempt.answered and attempt.conversation
            and _key(config.per, attempt.account_id, attempt.callee_number, attempt.debt_id) == key
            for local in [to_local(attempt.started_at, zone)]
            if first_day <= local.date() and local < now
        )
        if not earlier:
            return []
        return [self.finding(
            context,
            text=f"call {now:%Y-%m-%d %H:%M} within {config.days} days after a conversation on "
                 f"{earlier[-1]:%Y-%m-%d %H:%M} about {config.per} {mask_field(key)}",
            description=config.description or "call too soon after a conversation",
        )]
