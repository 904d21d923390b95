"""The junit adapter: any runner that writes JUnit XML to a path the config names.

The command runs unchanged; `parse` reads `job.junit_path` (relative to the
job's directory) with the hardened reader of `_xml`. A case is named
`classname.name` (the name alone without a classname), the form Jenkins and
GitLab show. Surefire's `flakyFailure` (passed on a rerun) is a pass,
`rerunFailure` a failure. JUnit does not say how to run one test, so there is
no targeted rerun: the suite runs again.
"""

from __future__ import annotations

from pathlib import Path

from replay._adapters._base import Report
from replay._adapters._lines import ResultBook
from replay._adapters._xml import JUnitCase, read_junit
from replay._adapters.generic import GenericAdapter
from replay._model.models import Job, TestResult, TestStatus


def case_name(case: JUnitCase) -> str:
    """`classname.name`, or the name alone when the case has no classname."""
    return f"{case.classname}.{case.name}" if case.classname else case.name


def junit_results(cases: tuple[JUnitCase, ...]) -> tuple[TestResult, ...]:
    """One result per case name; a name reported twice keeps its worse outcome."""
    book = ResultBook()
    for case in cases:
        failed = case.status is TestStatus.FAILED
        book.add(
            TestResult(
                name=case_name(case),
                status=case.status,
                duration=case.time,
                message=case.message if failed else None,
                file=case.file if failed else None,
                line=case.line if failed else None,
            )
        )
    return book.results()


class JUnitAdapter(GenericAdapter):
    """A runner that writes JUnit XML to `junit_path`; no targeted reruns.

    The generic adapter's in all but the results: the command runs unchanged
    (the runner writes its XML where the config says), and JUnit XML does not
    say how to run one test.
    """

    name = "junit"

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> Report:
        """Results from the XML at `job.junit_path`; none when it is unset, missing or refused."""
        if not job.junit_path:
            return Report()
        return Report(junit_results(read_junit(Path(job.cwd or ".") / job.junit_path).cases))
