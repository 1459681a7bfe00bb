"""reports/: reading run files, the HTML, JUnit and Markdown renderers, the comparison of two
runs, and the ``dualpath report`` command. Every test reads hand-made run files from
tests/data/runs (clean, one unexpected divergence, failures/errors/stale)."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from reports import compare as compare_mod
from reports.gate import Policy, evaluate, evaluate_runs
from reports.html import render_html
from reports.junit import render_junit
from reports.markdown import MAX_ITEMS, render_gate_markdown, render_markdown
from reports.runfile import RunFileError, load_run, validate_run

RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
CHANGED_PATH = "$.steps[1].resources.C.physical_id"


def run_data(name: str) -> dict[str, Any]:
    return load_run(RUNS / f"{name}.json")


def write(tmp_path: Path, data: Any, name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def scenario(run: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(i for i in run["scenarios"] if i["id"] == sid)


# --- the run file -----------------------------------------------------------------------

ONE_RUN = Policy(required_evidence=())  # the rules about a run's content only


@pytest.mark.parametrize("name", ["clean", "one_unexpected", "troubled", "server",
                                  "fuzz_clean", "fuzz_findings"])
def test_the_test_runs_are_valid(name):
    assert run_data(name)["schema_version"] == 2


@pytest.mark.parametrize("version", [1, 3])
def test_wrong_schema_version_is_refused_naming_file_and_versions(tmp_path, version):
    data = run_data("clean")
    data["schema_version"] = version
    path = write(tmp_path, data)
    with pytest.raises(RunFileError) as info:
        load_run(path)
    assert info.value.file == str(path)
    assert f"schema_version {version} is not supported" in info.value.reason
    assert "reads version 2" in info.value.reason
    assert str(info.value).startswith(str(path))


def test_a_boolean_is_not_version_one():
    data = run_data("clean")
    data["schema_version"] = True
    with pytest.raises(RunFileError, match="not supported"):
        validate_run(data, "x.json")


def test_a_file_without_version_is_not_a_run_file():
    with pytest.raises(RunFileError, match="not a dualpath run file"):
        validate_run({"scenarios": []}, "x.json")


def test_malformed_json_is_refused_with_the_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": 1,', encoding="utf-8")
    with pytest.raises(RunFileError, match=r"broken\.json: not valid JSON: .* line 1"):
        load_run(path)


def test_schema_violation_names_the_json_path(tmp_path):
    data = run_data("clean")
    data["scenarios"][2]["verdict"] = "probably-fine"
    with pytest.raises(RunFileError) as info:
        load_run(write(tmp_path, data))
    assert info.value.reason.startswith("$.scenarios[2].verdict: 'probably-fine' is not one of")


def test_missing_key_and_missing_file_are_explained(tmp_path):
    data = run_data("clean")
    del data["summary"]
    with pytest.raises(RunFileError, match="'summary' is a required property"):
        load_run(write(tmp_path, data))
    with pytest.raises(RunFileError, match="nothing.json: no such file"):
        load_run(tmp_path / "nothing.json")


def test_consistency_duplicate_ids_and_unknown_stale_entry():
    data = run_data("clean")
    data["scenarios"].append(copy.deepcopy(data["scenarios"][0]))
    with pytest.raises(RunFileError, match="duplicate scenario id 'create/chain'"):
        validate_run(data)
    data = run_data("clean")
    data["registry"]["stale"] = [7]
    with pytest.raises(RunFileError, match=r"\$\.registry\.stale\[0\]: no registry entry"):
        validate_run(data)


# --- HTML -------------------------------------------------------------------------------

class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of the page, for assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if (tag is None or t == tag)
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def parse_html(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def test_html_has_every_scenario_in_matrix_and_details():
    run = run_data("one_unexpected")
    page = parse_html(render_html(run))
    ids = [i["id"] for i in run["scenarios"]]
    rows = [a for a in page.find("tr") if "matrix-row" in a.get("class", "")]
    assert [r["data-scenario"] for r in rows] == ids
    assert [d["data-scenario"] for d in page.find("details")] == ids
    verdicts = {r["data-scenario"]: r["data-verdict"] for r in rows}
    assert verdicts["update/replace"] == "unexpected-divergence"
    assert verdicts["overlap/update_during_create_legacy"] == "path-specific"


def test_html_marks_the_differing_snapshot_rows():
    page = parse_html(render_html(run_data("one_unexpected")))
    marked = [a for a in page.find("tr", data_path=CHANGED_PATH) if "snap-row" in a["class"]]
    assert marked and all(a["data-mark"] == "unexpected" for a in marked)
    assert "hl-unexpected" in marked[0]["class"]
    # the same leaf one step earlier did not differ
    earlier = page.find("tr", data_path=CHANGED_PATH.replace("[1]", "[0]"))
    assert earlier and "hl" not in earlier[0]["class"].split()
    # an expected divergence and noise are marked as such
    assert page.find("tr", data_path="$.steps[1].result.error", data_mark="expected")
    assert page.find("tr", data_path="$.steps[0].resources.R.attributes.output",
                     data_mark="noise")


def test_html_shows_reasons_failures_errors_stale_and_timings():
    html = render_html(run_data("troubled"))
    page = parse_html(html)
    text = " ".join(page.text)
    assert "stack status CREATE_COMPLETE, expected CREATE_FAILED" in text
    assert "WaitTimeout: timed out after 60.0s" in text
    assert page.find("li", data_entry="1")  # the stale entry, listed
    assert "Event order once differed between the paths." in text
    assert {a["data-engine"] for a in page.find("tr") if "data-engine" in a} >= \
        {"legacy", "convergence"}
    assert page.find("b", id="migrations", data_verified="false")
    reason = "Legacy holds a stack lock; convergence supersedes."
    assert reason in " ".join(parse_html(render_html(run_data("clean"))).text)


def test_html_is_self_contained_and_escaped():
    run = run_data("clean")
    run["scenarios"][0]["description"] = "<script>alert('x')</script> & more"
    html = render_html(run)
    page = parse_html(html)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html
    assert not page.find("link") and not page.find("img")
    assert all("src" not in attrs for _, attrs in page.tags)
    assert all(not a.get("href", "#").startswith(("http", "//")) for _, a in page.tags)
    assert len(page.find("script")) == 1 and len(page.find("style")) == 1


def test_html_filters_exist_for_every_verdict_and_group():
    page = parse_html(render_html(run_data("clean")))
    boxes = [a["value"] for a in page.find("input") if "verdict-filter" in a.get("class", "")]
    assert set(boxes) == {"parity", "expected-divergence", "unexpected-divergence", "flaky",
                          "failed", "error", "path-specific"}
    options = [a["value"] for a in page.find("option")]
    assert options == ["", "bad_input", "create", "delete", "failures", "hooks", "nested",
                       "noise", "overlap", "rollback", "update"]


# --- JUnit ------------------------------------------------------------------------------

def suites(xml: str) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.fromstring(xml)
    return root, {s.get("name"): s for s in root.findall("testsuite")}


def test_junit_counts_and_path_specific_cases():
    root, by_name = suites(render_junit(run_data("troubled")))
    assert root.tag == "testsuites"
    legacy, convergence = by_name["dualpath.legacy"], by_name["dualpath.convergence"]
    assert (legacy.get("tests"), legacy.get("failures"), legacy.get("errors")) == ("3", "0", "0")
    assert (convergence.get("tests"), convergence.get("failures"),
            convergence.get("errors"), convergence.get("skipped")) == ("4", "2", "1", "0")
    assert root.get("tests") == "7" and root.get("failures") == "2" and root.get("errors") == "1"
    flaky = convergence.find("testcase[@name='hooks/pre_create_convergence [convergence]']"
                             "/failure")
    assert flaky.get("type") == "flaky"
    assert '$.steps[1].resources.A.status: "CREATE_COMPLETE" in one repeat, ' \
        '"CREATE_IN_PROGRESS" in another' in flaky.text
    names = [c.get("name") for c in legacy.iter("testcase")]
    assert "hooks/pre_create_convergence [legacy]" not in names
    case = convergence.find("testcase[@name='update/replace [convergence]']")
    assert case.get("classname") == "update"
    assert "WaitTimeout" in case.find("error").get("message")
    failed = convergence.find("testcase[@name='failures/create_fault [convergence]']/failure")
    assert "expected CREATE_FAILED" in failed.get("message")
    assert float(convergence.get("time")) == pytest.approx(0.25 + 0.9 + 2.0 + 0.3)


def test_junit_failure_message_holds_the_diff():
    _, by_name = suites(render_junit(run_data("one_unexpected")))
    convergence = by_name["dualpath.convergence"]
    failure = convergence.find("testcase[@name='update/replace [convergence]']/failure")
    assert failure.get("type") == "unexpected-divergence"
    for text in (failure.get("message"), failure.text):
        assert CHANGED_PATH in text and '"C#2"' in text and '"C#1"' in text
    assert convergence.get("failures") == "1"
    legacy = by_name["dualpath.legacy"]
    assert legacy.get("failures") == "0"
    assert legacy.find("testcase[@name='overlap/update_during_create_legacy [legacy]']") \
        is not None
    assert convergence.find(
        "testcase[@name='overlap/update_during_create_legacy [convergence]']") is None
    # expected divergences are kept as output, with their reason
    out = convergence.find("testcase[@name='overlap/update_during_create [convergence]']"
                           "/system-out")
    assert "Legacy holds a stack lock" in out.text


def test_junit_marks_a_declared_path_that_did_not_run_as_skipped():
    run = run_data("clean")
    del scenario(run, "create/chain")["engines"]["convergence"]
    _, by_name = suites(render_junit(run))
    convergence = by_name["dualpath.convergence"]
    assert convergence.get("skipped") == "1"
    case = convergence.find("testcase[@name='create/chain [convergence]']")
    assert case.find("skipped") is not None


def test_junit_survives_control_characters_in_tracebacks():
    run = run_data("troubled")
    scenario(run, "update/replace")["engines"]["convergence"]["error"] = "Boom\x00\x1b[31m"
    ET.fromstring(render_junit(run))


# --- Markdown ---------------------------------------------------------------------------

def test_markdown_summary_with_gate_verdict_and_divergences():
    run = run_data("one_unexpected")
    text = render_markdown(run, evaluate(run, ONE_RUN))
    assert "**Gate: don't flip**" in text
    assert "| unexpected-divergence | 1 |" in text and "| parity | 8 |" in text
    assert f"| `update/replace` | `{CHANGED_PATH}` | \"C#2\" | \"C#1\" |" in text
    clean = run_data("clean")
    assert "**Gate: flip**" in render_markdown(clean, evaluate(clean, ONE_RUN))
    # alone, a corpus run is not all the evidence the default policy asks for
    alone = render_markdown(clean, evaluate(clean))
    assert "**Gate: don't flip**" in alone and "- missing evidence: a fuzz run" in alone
    assert "Gate" not in render_markdown(clean)


def test_markdown_lists_failures_errors_and_stale_entries():
    text = render_markdown(run_data("troubled"))
    assert "`failures/create_fault` [convergence] step 1 stack: stack status" in text
    assert "`update/replace` [convergence] error: engines.core.errors.WaitTimeout" in text
    assert "### Stale registry entries" in text and "#1 `create/*`" in text


def test_markdown_is_capped_and_escapes_table_cells():
    run = run_data("one_unexpected")
    item = scenario(run, "update/replace")
    item["differences"] = [{"path": f"$.steps[0].outputs.o{n}", "legacy": "a|b",
                            "convergence": n, "class": "unexpected", "reason": None,
                            "entry": None} for n in range(MAX_ITEMS + 5)]
    text = render_markdown(run)
    assert "… and 5 more divergences" in text
    assert '"a\\|b"' in text and '"a|b"' not in text


# --- compare ----------------------------------------------------------------------------

def test_compare_lists_new_and_fixed_divergences():
    clean, one = run_data("clean"), run_data("one_unexpected")
    worse = compare_mod.compare(clean, one)
    assert [(d.scenario, d.path, d.kind) for d in worse.new] == \
        [("update/replace", CHANGED_PATH, "unexpected")]
    assert worse.fixed == []
    assert [(v.scenario, v.old, v.new) for v in worse.verdicts] == \
        [("update/replace", "parity", "unexpected-divergence")]
    assert worse.regressions() == [f"new unexpected divergence: update/replace {CHANGED_PATH}",
                                   "verdict update/replace: parity -> unexpected-divergence"]
    better = compare_mod.compare(one, clean)
    assert [(d.scenario, d.path) for d in better.fixed] == [("update/replace", CHANGED_PATH)]
    assert better.new == [] and better.regressions() == []


def test_compare_time_ratios_and_reclassification():
    old, new = run_data("clean"), run_data("clean")
    chain = scenario(new, "create/chain")["engines"]["convergence"]
    chain["duration_s"] = 0.75  # was 0.25
    entry = scenario(new, "overlap/update_during_create")["differences"][0]
    entry.update({"class": "unexpected", "reason": None, "entry": None})
    result = compare_mod.compare(old, new)
    slowest = result.times[0]
    assert (slowest.scenario, slowest.engine) == ("create/chain", "convergence")
    assert slowest.ratio == pytest.approx(3.0)
    assert [(b.kind, a.kind) for b, a in result.reclassified] == [("expected", "unexpected")]
    assert "now unexpected: overlap/update_during_create $.steps[1].result.error" in \
        result.regressions()
    text = compare_mod.render_compare_markdown(result)
    assert "| `create/chain` | convergence | 0.250 | 0.750 | 3.00x |" in text


def test_compare_notices_added_and_removed_scenarios():
    old, new = run_data("clean"), run_data("clean")
    new["scenarios"] = [i for i in new["scenarios"] if i["id"] != "delete/plain"]
    changes = compare_mod.compare(old, new).verdicts
    assert [(v.scenario, v.old, v.new) for v in changes] == [("delete/plain", "parity", None)]


def test_a_scenario_not_compared_in_new_has_not_fixed_its_divergence():
    old = run_data("one_unexpected")
    filtered = run_data("one_unexpected")
    filtered["scenarios"] = [i for i in filtered["scenarios"] if i["id"] != "update/replace"]
    assert compare_mod.compare(old, filtered).fixed == []
    crashed = run_data("one_unexpected")
    item = scenario(crashed, "update/replace")
    item.update(verdict="error", differences=[])
    item["engines"]["convergence"].update(status="error", error="RuntimeError: boom")
    result = compare_mod.compare(old, crashed)
    assert result.fixed == []
    assert result.regressions() == []  # bad before, bad now: the gate judges the new run


# --- the report command -----------------------------------------------------------------

def test_report_without_output_prints_markdown(capsys):
    assert main(["report", str(RUNS / "one_unexpected.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## dualpath parity run: 11 scenarios")
    assert CHANGED_PATH in out


def test_report_markdown_carries_the_gate_verdict(tmp_path, capsys):
    assert main(["report", str(RUNS / "one_unexpected.json")]) == 0
    out = capsys.readouterr().out
    assert "**Gate: don't flip**" in out
    assert f"- unexpected divergence in update/replace at {CHANGED_PATH}" in out
    md = tmp_path / "s.md"
    policy = tmp_path / "gate.yaml"
    policy.write_text("required_evidence: []\n")
    assert main(["report", str(RUNS / "clean.json"), "--markdown", str(md),
                 "--policy", str(policy)]) == 0
    assert "**Gate: flip**" in md.read_text(encoding="utf-8")
    # the team's own policy decides, as it does for ``dualpath gate``
    policy.write_text("max_unexpected: 1\nrequired_evidence: []\n")
    assert main(["report", str(RUNS / "one_unexpected.json"), "--policy", str(policy)]) == 0
    assert "**Gate: flip**" in capsys.readouterr().out
    policy.write_text("max_unexpected: lots\n")
    assert main(["report", str(RUNS / "clean.json"), "--policy", str(policy)]) == 2


def test_report_writes_each_requested_file(tmp_path):
    html, junit, md = tmp_path / "r.html", tmp_path / "sub" / "j.xml", tmp_path / "s.md"
    assert main(["report", str(RUNS / "troubled.json"), "--html", str(html), "--junit",
                 str(junit), "--markdown", str(md)]) == 0
    assert 'data-scenario="update/replace"' in html.read_text(encoding="utf-8")
    ET.parse(junit)
    assert "### Failures and errors" in md.read_text(encoding="utf-8")


def test_report_bad_input_exits_2(tmp_path, capsys):
    data = run_data("clean")
    data["schema_version"] = 9
    assert main(["report", str(write(tmp_path, data))]) == 2
    assert "schema_version 9 is not supported" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "absent.json")]) == 2
    assert main(["report"]) == 2
    assert main(["report", str(RUNS / "clean.json"), "--compare", str(RUNS / "clean.json"),
                 str(RUNS / "clean.json")]) == 2


def test_report_compare_prints_tables_and_writes_markdown(tmp_path, capsys):
    md = tmp_path / "cmp.md"
    code = main(["report", "--compare", str(RUNS / "clean.json"),
                 str(RUNS / "one_unexpected.json"), "--markdown", str(md)])
    assert code == 1  # a new unexpected divergence is a regression
    out = capsys.readouterr().out
    assert "update/replace" in out and "regression: new unexpected divergence" in out
    assert "**2 regression(s)**" in md.read_text(encoding="utf-8")
    assert main(["report", "--compare", str(RUNS / "one_unexpected.json"),
                 str(RUNS / "clean.json")]) == 0
    assert "fixed" in capsys.readouterr().out


def test_write_reports_validates_and_writes(tmp_path):
    from reports.cli import write_reports

    run = run_data("clean")
    write_reports(run, html=str(tmp_path / "a.html"), junit=None,
                  markdown=str(tmp_path / "a.md"))
    assert (tmp_path / "a.html").exists() and (tmp_path / "a.md").exists()
    assert not (tmp_path / "a.xml").exists()
    run["scenarios"][0]["engines"]["legacy"]["status"] = "fine"
    with pytest.raises(RunFileError, match="<dualpath run>"):
        write_reports(run, html=str(tmp_path / "b.html"), junit=None, markdown=None)


# --- flakiness, the registry's counts, provenance, fuzz runs ---------------------------

FLAKY_PATH = "$.steps[1].resources.A.status"


def test_html_shows_flaky_values_and_marks_their_rows():
    page = parse_html(render_html(run_data("troubled")))
    rows = page.find("tr", data_path=FLAKY_PATH)
    assert any(r.get("data-mark") == "flaky" and "hl-flaky" in r["class"] for r in rows)
    flaky = [r for r in rows if "flaky-row" in r.get("class", "")]
    assert flaky and flaky[0]["data-engine"] == "convergence"
    assert page.find("span", **{"class": "badge v-flaky"})
    text = "".join(page.text)
    assert "Flaky: the path disagrees with itself" in text and '"CREATE_IN_PROGRESS"' in text


def test_reports_say_how_many_differences_each_entry_explained():
    run = run_data("clean")
    page = parse_html(render_html(run))
    cells = page.find("td", **{"class": "explained"})
    assert [c["data-matched"] for c in cells] == ["1"]
    assert "overlap/update_during_create: 1" in "".join(page.text)
    text = render_markdown(run)
    assert "### Divergence registry: differences explained per entry" in text
    assert "| #0 | `overlap/update_during_create` | `$.steps[*].result.error` | 1 |" in text


def test_html_and_markdown_name_the_commit_and_configuration():
    run = run_data("server")
    page = parse_html(render_html(run))
    assert page.find("p", id="provenance")[0]["data-commit"] == run["run"]["commit"]["id"]
    text = "".join(page.text)
    assert "postgresql+psycopg2://root:***@localhost/test" in text and "rabbit" in text
    md = render_gate_markdown([("server.json", run)], evaluate_runs([("server.json", run)]))
    assert "Commit `0123456789ab`, dualpath 0.1.0; postgresql, rabbit, 2 worker process(es)" in md


def test_markdown_lists_flaky_values():
    text = render_markdown(run_data("troubled"))
    assert "### Flaky: a path that disagrees with itself" in text
    assert (f"| `hooks/pre_create_convergence` | convergence | `{FLAKY_PATH}` | "
            '"CREATE_COMPLETE" | "CREATE_IN_PROGRESS" |') in text
    assert "| flaky | 1 |" in text


def test_fuzz_run_reports_show_cases_findings_and_their_scenario_files():
    run = run_data("fuzz_findings")
    text = render_markdown(run)
    assert text.startswith("## dualpath fuzz run: 41 cases, 2 finding(s)")
    assert "Seed 1, budget 600s: 41 cases, 2.10s per case, 2 finding(s)." in text
    assert ("| flaky | convergence | `out/findings/found/flaky_1f00d2e1.yaml` | "
            "convergence: flaky: $.steps[2].resources.A.status |") in text
    page = parse_html(render_html(run))
    summary = page.find("p", id="fuzz-summary")[0]
    assert (summary["data-cases"], summary["data-findings"]) == ("41", "2")
    assert [f["data-verdict"] for f in page.find("tr", **{"class": "finding"})] == [
        "unexpected-divergence", "flaky"]
    assert "out/findings/found/unexpected_84c670c9.yaml" in "".join(page.text)
    root, by_name = suites(render_junit(run))
    fuzz = by_name["dualpath.fuzz"]
    assert (fuzz.get("tests"), fuzz.get("failures")) == ("2", "2")
    assert root.get("failures") == "2"
    clean = parse_html(render_html(run_data("fuzz_clean")))
    assert "No finding." in "".join(clean.text)
    assert "612 cases" in render_markdown(run_data("fuzz_clean"))


def test_a_fuzz_run_file_needs_its_fuzz_section_and_a_corpus_run_its_scenarios():
    fuzz = run_data("fuzz_clean")
    del fuzz["fuzz"]
    with pytest.raises(RunFileError, match="'fuzz' is a required property"):
        validate_run(fuzz)
    corpus = run_data("clean")
    del corpus["scenarios"]
    with pytest.raises(RunFileError, match="'scenarios' is a required property"):
        validate_run(corpus)
    finding = run_data("fuzz_findings")
    finding["fuzz"]["findings"][0]["path"] = "sideways"
    with pytest.raises(RunFileError, match=r"\$\.fuzz\.findings\[0\]\.path"):
        validate_run(finding)


def test_report_and_gate_markdown_over_several_runs(tmp_path, capsys):
    md = tmp_path / "gate.md"
    runs = [str(RUNS / f"{n}.json") for n in ("clean", "server", "fuzz_findings")]
    assert main(["gate", *runs, "--markdown", str(md)]) == 1
    text = md.read_text(encoding="utf-8")
    assert text.startswith("## dualpath flip gate\n\n**Gate: don't flip**")
    assert "| evidence: corpus-server | ok |" in text
    assert "| evidence: fuzz | **FAIL** | missing evidence: a fuzz run of at least 500" in text
    for name in runs:
        assert f"### `{name}`" in text
    assert main(["gate", runs[0], runs[0]]) == 2
    assert "named twice" in capsys.readouterr().err
