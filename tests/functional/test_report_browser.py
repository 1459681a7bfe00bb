"""The HTML report in a real browser (headless Chromium through Selenium): the matrix shows
every scenario, a click opens a scenario on its marked difference, the verdict and group
filters hide rows, and the page runs without a script error. Uses the system's chromium and
chromedriver only; never downloads a browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.html import render_html, slug
from reports.runfile import load_run

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
RUN = Path(__file__).resolve().parents[1] / "data" / "runs" / "one_unexpected.json"
CHANGED_PATH = "$.steps[1].resources.C.physical_id"
TIMEOUT = 10

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install selenium)")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def _missing_browser() -> str | None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return (f"{' and '.join(missing)} not found; install them with "
                "`apt-get install -y chromium chromium-driver`")
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    reason = _missing_browser()
    if reason:
        pytest.skip(reason)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def _visible_rows(driver: webdriver.Chrome) -> dict[str, bool]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#matrix tr.matrix-row")
    return {r.get_attribute("data-scenario"): r.is_displayed() for r in rows}


def test_report_in_a_browser(browser: webdriver.Chrome, tmp_path: Path) -> None:
    run = load_run(RUN)
    page = tmp_path / "report.html"
    page.write_text(render_html(run), encoding="utf-8")
    browser.get(page.as_uri())
    wait = WebDriverWait(browser, TIMEOUT)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#matrix tr.matrix-row"))

    ids = [item["id"] for item in run["scenarios"]]
    assert _visible_rows(browser) == dict.fromkeys(ids, True)

    # the differing row is hidden in the closed section; a click in the matrix opens it
    target = "update/replace"
    marked = browser.find_element(
        By.CSS_SELECTOR,
        f'details[data-scenario="{target}"] tr.hl-unexpected[data-path="{CHANGED_PATH}"]')
    assert not marked.is_displayed()
    browser.find_element(By.CSS_SELECTOR,
                         f'a.open-scenario[data-target="{slug(target)}"]').click()
    wait.until(lambda d: marked.is_displayed())
    section = browser.find_element(By.ID, slug(target))
    assert section.get_attribute("open") is not None
    cells = [c.text for c in marked.find_elements(By.CSS_SELECTOR, "td")]
    assert cells == [CHANGED_PATH, '"C#2"', '"C#1"']
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", marked)
    browser.save_screenshot(str(tmp_path / "report-expanded.png"))

    # verdict filter: unticking parity hides the parity rows and only those
    browser.execute_script("window.scrollTo(0, 0);")
    browser.find_element(By.ID, "filter-verdict-parity").click()
    parity = {i["id"] for i in run["scenarios"] if i["verdict"] == "parity"}
    wait.until(lambda d: all(shown != (sid in parity)
                             for sid, shown in _visible_rows(d).items()))
    shown = browser.find_element(By.ID, "shown-count").text
    assert shown == str(len(ids) - len(parity))
    assert not section.is_displayed() or target not in parity

    # group filter on top of it: only the non-parity overlap scenarios remain
    Select(browser.find_element(By.ID, "filter-group")).select_by_value("overlap")
    overlap = {i["id"] for i in run["scenarios"]
               if i["group"] == "overlap" and i["verdict"] != "parity"}
    wait.until(lambda d: {sid for sid, on in _visible_rows(d).items() if on} == overlap)
    browser.save_screenshot(str(tmp_path / "report-filtered.png"))

    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    for name in ("report-expanded.png", "report-filtered.png"):
        assert (tmp_path / name).stat().st_size > 10_000
