"""``mp`` read-only commands: ``inspect`` (discovery) and ``query`` (live queries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from mixhouse.cli.mp_common import JSON, Format, _Busy, _result, _ws, handled
from mixhouse.cli.mp_output import emit

# ------------------------------------------------------------------------------------------------------ inspect
inspect_app = typer.Typer(help="Discover events, properties, funnels, cohorts and reports.", no_args_is_help=True)


@inspect_app.command("events")
@handled
def inspect_events(ctx: typer.Context, fmt: Format = JSON) -> None:
    """Event names."""
    with _ws(ctx) as ws:
        emit(ws.events(), fmt)


@inspect_app.command("properties")
@handled
def inspect_properties(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                       fmt: Format = JSON) -> None:
    """Property names of an event."""
    with _ws(ctx) as ws:
        emit(ws.properties(event), fmt)


@inspect_app.command("values")
@handled
def inspect_values(ctx: typer.Context, property_name: Annotated[str, typer.Option("--property", "-p")],
                   event: Annotated[str | None, typer.Option("--event", "-e")] = None,
                   limit: Annotated[int, typer.Option("--limit", "-l")] = 100, fmt: Format = JSON) -> None:
    """Values of a property."""
    with _ws(ctx) as ws:
        emit(ws.property_values(property_name, event=event, limit=limit), fmt)


@inspect_app.command("funnels")
@handled
def inspect_funnels(ctx: typer.Context, fmt: Format = JSON) -> None:
    """Saved funnels."""
    with _ws(ctx) as ws:
        emit(ws.funnels(), fmt)


@inspect_app.command("cohorts")
@handled
def inspect_cohorts(ctx: typer.Context, fmt: Format = JSON) -> None:
    """Saved cohorts."""
    with _ws(ctx) as ws:
        emit(ws.cohorts(), fmt)


@inspect_app.command("top-events")
@handled
def inspect_top_events(ctx: typer.Context, type_: Annotated[str, typer.Option("--type", "-t")] = "general",
                       limit: Annotated[int | None, typer.Option("--limit", "-l")] = None,
                       fmt: Format = JSON) -> None:
    """Today's top events."""
    with _ws(ctx) as ws:
        emit(ws.top_events(type=type_, limit=limit), fmt)


@inspect_app.command("bookmarks")
@handled
def inspect_bookmarks(ctx: typer.Context, type_: Annotated[str | None, typer.Option("--type", "-t")] = None,
                      fmt: Format = JSON) -> None:
    """Saved reports."""
    with _ws(ctx) as ws:
        emit(ws.list_bookmarks(type_), fmt)


@inspect_app.command("subproperties")
@handled
def inspect_subproperties(ctx: typer.Context, property_name: Annotated[str, typer.Option("--property", "-p")],
                          event: Annotated[str | None, typer.Option("--event", "-e")] = None,
                          sample_size: Annotated[int, typer.Option("--sample-size", "-s")] = 50,
                          fmt: Format = JSON) -> None:
    """Keys of an object-valued property."""
    with _ws(ctx) as ws:
        emit(ws.subproperties(property_name, event=event, sample_size=sample_size), fmt)


# -------------------------------------------------------------------------------------------------------- query
query_app = typer.Typer(help="Live queries (segmentation, funnels, retention ...).", no_args_is_help=True)

FromDate = Annotated[str, typer.Option("--from", help="Start date YYYY-MM-DD.")]
ToDate = Annotated[str, typer.Option("--to", help="End date YYYY-MM-DD.")]


@query_app.command("segmentation")
@handled
def query_segmentation(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                       from_date: FromDate, to_date: ToDate,
                       on: Annotated[str | None, typer.Option("--on", "-o")] = None,
                       unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                       where: Annotated[str | None, typer.Option("--where", "-w")] = None,
                       fmt: Format = JSON) -> None:
    """Event counts over time, optionally segmented by a property."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.segmentation(event, from_date=from_date, to_date=to_date, on=_on(on), unit=unit, where=where),
                fmt)


def _on(on: str | None) -> str | None:
    """``--on country`` means the event property ``country`` (an expression is kept as it is)."""
    if on is None or any(ch in on for ch in '["( '):
        return on
    return f'properties["{on}"]'


@query_app.command("funnel")
@handled
def query_funnel(ctx: typer.Context, funnel_id: Annotated[int, typer.Argument()], from_date: FromDate,
                 to_date: ToDate, unit: Annotated[str | None, typer.Option("--unit", "-u")] = None,
                 on: Annotated[str | None, typer.Option("--on", "-o")] = None, fmt: Format = JSON) -> None:
    """A saved funnel's steps."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.funnel(funnel_id, from_date=from_date, to_date=to_date, unit=unit, on=_on(on)), fmt)


@query_app.command("retention")
@handled
def query_retention(ctx: typer.Context, born: Annotated[str, typer.Option("--born", "-b")],
                    return_event: Annotated[str, typer.Option("--return", "-r")], from_date: FromDate,
                    to_date: ToDate, born_where: Annotated[str | None, typer.Option("--born-where")] = None,
                    return_where: Annotated[str | None, typer.Option("--return-where")] = None,
                    interval: Annotated[int, typer.Option("--interval", "-i")] = 1,
                    intervals: Annotated[int, typer.Option("--intervals", "-n")] = 10,
                    unit: Annotated[str, typer.Option("--unit", "-u")] = "day", fmt: Format = JSON) -> None:
    """Birth retention cohorts."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.retention(born_event=born, return_event=return_event, from_date=from_date, to_date=to_date,
                             born_where=born_where, return_where=return_where, interval=interval,
                             interval_count=intervals, unit=unit), fmt)


@query_app.command("event-counts")
@handled
def query_event_counts(ctx: typer.Context, events: Annotated[str, typer.Option("--events", "-e",
                                                                               help="Comma-separated names.")],
                       from_date: FromDate, to_date: ToDate,
                       type_: Annotated[str, typer.Option("--type", "-t")] = "general",
                       unit: Annotated[str, typer.Option("--unit", "-u")] = "day", fmt: Format = JSON) -> None:
    """Counts of several events over time."""
    names = [e.strip() for e in events.split(",") if e.strip()]
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.event_counts(names, from_date=from_date, to_date=to_date, type=type_, unit=unit), fmt)


@query_app.command("property-counts")
@handled
def query_property_counts(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                          property_name: Annotated[str, typer.Option("--property", "-p")], from_date: FromDate,
                          to_date: ToDate, type_: Annotated[str, typer.Option("--type", "-t")] = "general",
                          unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                          limit: Annotated[int | None, typer.Option("--limit", "-l")] = None,
                          fmt: Format = JSON) -> None:
    """Counts of an event per value of a property."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.property_counts(event, property_name, from_date=from_date, to_date=to_date, type=type_,
                                   unit=unit, limit=limit), fmt)


@query_app.command("frequency")
@handled
def query_frequency(ctx: typer.Context, from_date: FromDate, to_date: ToDate,
                    event: Annotated[str | None, typer.Option("--event", "-e")] = None,
                    unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                    addiction_unit: Annotated[str, typer.Option("--addiction-unit")] = "hour",
                    where: Annotated[str | None, typer.Option("--where", "-w")] = None,
                    fmt: Format = JSON) -> None:
    """How often users do an event."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.frequency(from_date=from_date, to_date=to_date, unit=unit, addiction_unit=addiction_unit,
                             event=event, where=where), fmt)


def _numeric(kind: str) -> Callable[..., None]:
    def command(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                on: Annotated[str, typer.Option("--on", "-o")], from_date: FromDate, to_date: ToDate,
                unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                where: Annotated[str | None, typer.Option("--where", "-w")] = None, fmt: Format = JSON) -> None:
        with _ws(ctx) as ws, _Busy("Querying..."):
            method = getattr(ws, f"segmentation_{kind}")
            _result(method(event, from_date=from_date, to_date=to_date, on=_on(on), unit=unit, where=where), fmt)

    command.__doc__ = {"numeric": "Events in ranges of a numeric property.", "sum": "Sum of a numeric property.",
                       "average": "Average of a numeric property."}[kind]
    return handled(command)


query_app.command("segmentation-numeric")(_numeric("numeric"))
query_app.command("segmentation-sum")(_numeric("sum"))
query_app.command("segmentation-average")(_numeric("average"))


@query_app.command("saved-report")
@handled
def query_saved_report(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()],
                       type_: Annotated[str, typer.Option("--type", "-t")] = "insights",
                       fmt: Format = JSON) -> None:
    """Run a saved report."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.query_saved_report(bookmark_id, bookmark_type=type_), fmt)


@query_app.command("flows")
@handled
def query_flows(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Run a saved flows report."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.query_saved_flows(bookmark_id), fmt)


@query_app.command("activity-feed")
@handled
def query_activity_feed(ctx: typer.Context, users: Annotated[str, typer.Option("--users",
                                                                               help="Comma-separated ids.")],
                        from_date: Annotated[str | None, typer.Option("--from")] = None,
                        to_date: Annotated[str | None, typer.Option("--to")] = None,
                        limit: Annotated[int | None, typer.Option("--limit")] = None,
                        fmt: Format = JSON) -> None:
    """Events of some users, newest first."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.activity_feed([u.strip() for u in users.split(",") if u.strip()], from_date=from_date,
                                 to_date=to_date, limit=limit), fmt)
