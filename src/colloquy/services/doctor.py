"""``colloquy doctor``: find units stored before the input bounds, and quarantine them.

A unit that an earlier version stored unchecked (extensions nested 300 deep, NaN, NUL, a
domain over its limit once lower-cased) breaks every page that renders it, export included.
The check reads the units a page at a time; ``fix`` quarantines each unit found (see
``Store.quarantine_unit``), so an upgraded server heals.
"""

from collections.abc import Callable
from dataclasses import dataclass

from colloquy.clock import now
from colloquy.store.protocol import Store, UnitFinding

ACTOR = "colloquy doctor"
# Units read per page: earlier versions let one unit hold up to a 1 MiB body.
PAGE = 100


@dataclass
class DoctorReport:
    checked: int = 0
    found: int = 0
    quarantined: int = 0

    def line(self, fix: bool) -> str:
        if not self.found:
            return f"checked {self.checked} units: every one is within the bounds"
        if fix:
            return (
                f"checked {self.checked} units: {self.found} broke a bound, "
                f"{self.quarantined} quarantined (rejected, reason in the review note)"
            )
        return (
            f"checked {self.checked} units: {self.found} break a bound; "
            "run `colloquy doctor --fix` to quarantine them"
        )


async def doctor(
    store: Store,
    fix: bool,
    on_finding: Callable[[UnitFinding], None],
    on_page: Callable[[int], None],
) -> DoctorReport:
    """Check every unit, by id, a page at a time; with ``fix``, quarantine what is found."""
    report = DoctorReport()
    after: str | None = None
    while True:
        page = await store.check_units(after, PAGE)
        report.checked += page.checked
        for finding in page.findings:
            report.found += 1
            on_finding(finding)
            if fix and await store.quarantine_unit(finding.unit_id, ACTOR, now()) is not None:
                report.quarantined += 1
        on_page(page.checked)
        if page.next_after is None:
            return report
        after = page.next_after
